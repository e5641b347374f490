// Internal: oneDNN plumbing shared by the bf16 and int8 Linear kernels.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <tuple>

#include "tensor/kernels.h"

namespace winnow::lowp {

dnnl::engine& engine();

// Appends the eltwise post-op for `activation` (nothing for None).
void append_activation(dnnl::post_ops& ops, Activation activation);

// Matmul primitives keyed by shape and epilogue, shared by all layers of a kernel kind; bounded.
struct MatmulKey {
    int kind;  // which kernel built it (bf16, int8)
    long rows, in, out;
    bool bias;
    Activation activation;
    auto tie() const { return std::tie(kind, rows, in, out, bias, activation); }
    bool operator<(const MatmulKey& other) const { return tie() < other.tie(); }
};

dnnl::matmul cached_matmul(const MatmulKey& key, const std::function<dnnl::matmul::primitive_desc()>& make);

// Rows the weight layout is chosen for (the blocked layout does not depend on it).
constexpr long kLayoutRows = 256;

}  // namespace winnow::lowp
