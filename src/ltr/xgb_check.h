// Error handling for XGBoost's C API: every call returns 0 or -1 with XGBGetLastError().
#pragma once

#include <xgboost/c_api.h>

#include "winnow/error.h"

#define WINNOW_XGB(call)                                                                              \
    do {                                                                                              \
        if ((call) != 0) WINNOW_THROW(::winnow::Errc::Internal, "xgboost: {}: {}", #call, XGBGetLastError()); \
    } while (0)

namespace winnow::ltr {

// Owns a DMatrixHandle / BoosterHandle.
struct DMatrix {
    DMatrixHandle handle = nullptr;
    DMatrix() = default;
    DMatrix(const DMatrix&) = delete;
    DMatrix& operator=(const DMatrix&) = delete;
    ~DMatrix() {
        if (handle) XGDMatrixFree(handle);
    }
};
struct Booster {
    BoosterHandle handle = nullptr;
    Booster() = default;
    Booster(const Booster&) = delete;
    Booster& operator=(const Booster&) = delete;
    ~Booster() {
        if (handle) XGBoosterFree(handle);
    }
};

}  // namespace winnow::ltr
