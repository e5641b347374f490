#include "tensor/linear_precision.h"

#include "tensor/linear_dnnl.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "tensor/kernel_stats.h"

namespace winnow {

namespace {

dnnl::cpu_isa effective_isa() noexcept {
    try {
        return dnnl::get_effective_cpu_isa();
    } catch (...) {
        return dnnl::cpu_isa::sse41;
    }
}

bool isa_at_least(dnnl::cpu_isa isa, dnnl::cpu_isa wanted) noexcept {
    // The ISA enum values are bit masks where each level contains the bits of the levels it extends.
    const auto have = static_cast<unsigned>(isa);
    const auto want = static_cast<unsigned>(wanted);
    return (have & want) == want;
}

}  // namespace

bool cpu_has_bf16() noexcept {
    return isa_at_least(effective_isa(), dnnl::cpu_isa::avx512_core_bf16);
}

bool cpu_has_vnni() noexcept {
    return isa_at_least(effective_isa(), dnnl::cpu_isa::avx512_core_vnni);
}

namespace {
std::atomic<std::uint64_t> g_primitives_created{0};
std::atomic<std::uint64_t> g_creation_nanoseconds{0};
}  // namespace

namespace {
std::atomic<bool> g_eager_warmup{false};
}  // namespace

void set_eager_kernel_warmup(bool on) noexcept { g_eager_warmup.store(on, std::memory_order_relaxed); }
bool eager_kernel_warmup() noexcept { return g_eager_warmup.load(std::memory_order_relaxed); }

KernelStats kernel_stats() noexcept {
    return {g_primitives_created.load(std::memory_order_relaxed),
            static_cast<double>(g_creation_nanoseconds.load(std::memory_order_relaxed)) * 1e-9};
}

void record_primitive_created(double seconds) noexcept {
    g_primitives_created.fetch_add(1, std::memory_order_relaxed);
    g_creation_nanoseconds.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

Precision resolve_precision(Precision requested) noexcept {
    if (requested != Precision::Auto) return requested;
    return cpu_has_bf16() ? Precision::Bf16 : Precision::Fp32;
}

}  // namespace winnow

namespace winnow::lowp {

dnnl::engine& engine() {
    static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
    return cpu;
}

void append_activation(dnnl::post_ops& ops, Activation activation) {
    switch (activation) {
    case Activation::Gelu:
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
        break;
    case Activation::GeluTanh:
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_tanh, 0.0f, 0.0f);
        break;
    case Activation::Relu:
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        break;
    case Activation::Silu:
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
        break;
    case Activation::Tanh:
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f);
        break;
    case Activation::None:
        break;
    }
}

dnnl::matmul cached_matmul(const MatmulKey& key, const std::function<dnnl::matmul::primitive_desc(long rows)>& make,
                           std::span<const long> family) {
    static std::mutex mutex;
    static std::map<MatmulKey, dnnl::matmul> cache;
    {
        std::lock_guard lock(mutex);
        auto it = cache.find(key);
        if (it != cache.end()) return it->second;
    }
    // Made outside the lock (making one takes ~1 ms); a racing thread may make the same one, the first kept.
    auto make_one = [&](long rows) {
        const auto start = std::chrono::steady_clock::now();
        dnnl::matmul primitive(make(rows));
        record_primitive_created(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        return primitive;
    };
    dnnl::matmul primitive = make_one(key.rows);
    std::vector<std::pair<MatmulKey, dnnl::matmul>> made{{key, primitive}};
    if (eager_kernel_warmup()) {
        for (const long rows : family) {
            MatmulKey other = key;
            other.rows = rows;
            if (rows == key.rows) continue;
            {
                std::lock_guard lock(mutex);
                if (cache.count(other) > 0) continue;
            }
            made.emplace_back(other, make_one(rows));
        }
    }
    std::lock_guard lock(mutex);
    if (cache.size() + made.size() > kMaxPrimitives) cache.clear();
    for (auto& [k, p] : made) cache.emplace(k, p);
    return cache.find(key)->second;
}

void execute_matmul(const dnnl::matmul& primitive, const dnnl::engine& engine,
                    std::unordered_map<int, dnnl::memory>& args) {
    const dnnl_memory_desc_t* md =
        dnnl_primitive_desc_query_md(primitive.get_primitive_desc(), dnnl_query_scratchpad_md, 0);
    thread_local std::vector<std::uint8_t> scratch;
    const dnnl::memory::desc desc = md != nullptr ? dnnl::memory::desc(*md) : dnnl::memory::desc();
    if (desc.get_size() > 0) {
        if (scratch.size() < desc.get_size()) scratch.resize(desc.get_size());
        args.insert_or_assign(DNNL_ARG_SCRATCHPAD, dnnl::memory(desc, engine, scratch.data()));
    } else {
        args.erase(DNNL_ARG_SCRATCHPAD);
    }
    dnnl::stream stream(engine);
    primitive.execute(stream, args);
    stream.wait();
}

TailBuffers& tail_buffers(std::size_t src_floats, std::size_t dst_floats) {
    thread_local TailBuffers buffers;
    if (buffers.src.size() < src_floats) buffers.src.resize(src_floats);
    if (buffers.dst.size() < dst_floats) buffers.dst.resize(dst_floats);
    return buffers;
}

}  // namespace winnow::lowp
