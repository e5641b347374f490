// Internal: oneDNN plumbing shared by the bf16 and int8 Linear kernels.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

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

// Runs a matmul made with dnnl::scratchpad_mode::user on `engine`, handing it this thread's scratchpad, and
// waits. Primitives are cached and shared by threads; with the library's own scratchpad a primitive keeps one
// buffer (Debian's oneDNN is built without DNNL_ENABLE_CONCURRENT_EXEC), so two threads running the same
// primitive at once wrote over each other's intermediate results.
void execute_matmul(const dnnl::matmul& primitive, const dnnl::engine& engine,
                    std::unordered_map<int, dnnl::memory>& args);

// Rows the weight layout is chosen for (the blocked layout does not depend on it).
constexpr long kLayoutRows = 256;

}  // namespace winnow::lowp
