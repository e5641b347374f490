// Internal: oneDNN plumbing shared by the bf16 and int8 Linear kernels.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "tensor/kernels.h"

namespace winnow::lowp {

dnnl::engine& engine();

// Appends the eltwise post-op for `activation` (nothing for None).
void append_activation(dnnl::post_ops& ops, Activation activation);

// Matmul primitives keyed by shape and epilogue, shared by all layers of a kernel kind. Row counts come
// from row_blocks.h's fixed set, so the cache holds at most 15 entries per layer shape and precision
// and never has to drop any (it is cleared only past kMaxPrimitives, a bound no set of models reaches).
struct MatmulKey {
    int kind;  // which kernel built it (fp32, bf16, int8)
    long rows, in, out;
    bool bias;
    Activation activation;
    auto tie() const { return std::tie(kind, rows, in, out, bias, activation); }
    bool operator<(const MatmulKey& other) const { return tie() < other.tie(); }
};

// The primitive for `key`, made with make(key.rows) on first use. `family` lists every row count this kernel
// may ask for with the same (kind, in, out, bias, activation); when eager warm-up is on
// (set_eager_kernel_warmup, the server turns it on) a miss makes the whole family at once, so a layer's
// first call is its last to make primitives, whatever row counts later traffic brings.
dnnl::matmul cached_matmul(const MatmulKey& key, const std::function<dnnl::matmul::primitive_desc(long rows)>& make,
                           std::span<const long> family);
inline constexpr std::size_t kMaxPrimitives = 4096;

// Runs a matmul made with dnnl::scratchpad_mode::user on `engine`, handing it this thread's scratchpad, and
// waits. Primitives are cached and shared by threads; with the library's own scratchpad a primitive keeps one
// buffer (Debian's oneDNN is built without DNNL_ENABLE_CONCURRENT_EXEC), so two threads running the same
// primitive at once would write over each other's intermediate results.
void execute_matmul(const dnnl::matmul& primitive, const dnnl::engine& engine,
                    std::unordered_map<int, dnnl::memory>& args);

// Per-thread f32 rows for a padded tail block (row_blocks.h): grown to at least these sizes, never
// larger than kMidRows rows of the widest layer.
struct TailBuffers {
    std::vector<float> src, dst;
};
TailBuffers& tail_buffers(std::size_t src_floats, std::size_t dst_floats);

// Rows the weight layout is chosen for (the blocked layout does not depend on it).
constexpr long kLayoutRows = 256;

}  // namespace winnow::lowp
