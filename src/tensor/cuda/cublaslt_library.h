// cuBLASLt, opened with dlopen on the first GEMM on a GPU instead of linked: the library is large
// and its static initialisers cost every winnow process, CPU-only commands included, about half a
// second at start-up (`winnow --version` went from 0.78 s to a few milliseconds). The functions
// are the ones the backend calls, with cuBLASLt's own signatures (its header is still used).
#pragma once

#include <cublasLt.h>

namespace winnow::cuda {

#define WINNOW_CUBLASLT_FUNCTIONS(X)        \
    X(cublasLtCreate)                       \
    X(cublasLtDestroy)                      \
    X(cublasLtMatmul)                       \
    X(cublasLtMatmulAlgoGetHeuristic)       \
    X(cublasLtMatmulDescCreate)             \
    X(cublasLtMatmulDescDestroy)            \
    X(cublasLtMatmulDescSetAttribute)       \
    X(cublasLtMatmulPreferenceCreate)       \
    X(cublasLtMatmulPreferenceDestroy)      \
    X(cublasLtMatmulPreferenceSetAttribute) \
    X(cublasLtMatrixLayoutCreate)           \
    X(cublasLtMatrixLayoutDestroy)

struct CublasLtLibrary {
#define WINNOW_CUBLASLT_POINTER(name) decltype(&::name) name = nullptr;
    WINNOW_CUBLASLT_FUNCTIONS(WINNOW_CUBLASLT_POINTER)
#undef WINNOW_CUBLASLT_POINTER
};

// The library, opened once (thread-safe). Throws Error(NotFound) naming the library when it
// cannot be opened, or the function missing from it.
const CublasLtLibrary& cublaslt();

}  // namespace winnow::cuda
