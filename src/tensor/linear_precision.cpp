#include "tensor/linear_precision.h"

#include <cstdint>
#include <vector>

#include "tensor/linear_dnnl.h"

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

dnnl::matmul cached_matmul(const MatmulKey& key, const std::function<dnnl::matmul::primitive_desc()>& make) {
    static std::mutex mutex;
    static std::map<MatmulKey, dnnl::matmul> cache;
    constexpr std::size_t kCapacity = 256;
    {
        std::lock_guard lock(mutex);
        auto it = cache.find(key);
        if (it != cache.end()) return it->second;
    }
    dnnl::matmul primitive(make());
    std::lock_guard lock(mutex);
    if (cache.size() >= kCapacity) cache.clear();
    cache.emplace(key, primitive);
    return primitive;
}

void execute_matmul(const dnnl::matmul& primitive, const dnnl::engine& engine,
                    std::unordered_map<int, dnnl::memory>& args) {
    const dnnl_memory_desc_t* md =
        dnnl_primitive_desc_query_md(primitive.get_primitive_desc(), dnnl_query_scratchpad_md, 0);
    thread_local std::vector<std::uint8_t> scratch;
    if (md != nullptr) {
        const dnnl::memory::desc desc(*md);
        if (desc.get_size() > 0) {
            if (scratch.size() < desc.get_size()) scratch.resize(desc.get_size());
            args.insert_or_assign(DNNL_ARG_SCRATCHPAD, dnnl::memory(desc, engine, scratch.data()));
        }
    }
    dnnl::stream stream(engine);
    primitive.execute(stream, args);
    stream.wait();
}

}  // namespace winnow::lowp
