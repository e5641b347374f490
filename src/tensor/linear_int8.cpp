// int8 Linear: weights quantized at load, symmetric per output channel (s8, scale = max|w| / 127), in
// oneDNN's blocked layout for this CPU; activations quantized per call, asymmetric per tensor (u8 with a
// zero point, the dynamic quantization ONNX Runtime uses); one u8 x s8 -> s32 matmul (AVX512-VNNI) whose
// epilogue multiplies by the per-channel scales (x scale * w scale), then adds the f32 bias (which also
// carries the zero-point correction) and applies the activation in f32.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "tensor/linear_dnnl.h"
#include "tensor/linear_precision.h"
#include "winnow/error.h"

namespace winnow {

namespace {

using dnnl::memory;
using DataType = memory::data_type;
using FormatTag = memory::format_tag;

constexpr int kKind = 2;
constexpr float kQMax = 127.0f;

dnnl::matmul::primitive_desc make_int8_pd(long rows, long in, long out, bool bias, Activation activation,
                                          const memory::desc& weights) {
    const memory::desc src({rows, in}, DataType::u8, FormatTag::ab);
    const memory::desc dst({rows, out}, DataType::f32, FormatTag::ab);
    dnnl::primitive_attr attr;
    dnnl::post_ops ops;
    // Dequantization as a per-channel multiply by (x scale * w scale), given at run time; the bias is added
    // after it. (oneDNN 2.6 runs runtime output scales only in its slower gemm kernel, binary post-ops in brgemm.)
    const memory::desc per_channel({1, out}, DataType::f32, FormatTag::ab);
    ops.append_binary(dnnl::algorithm::binary_mul, per_channel);
    // Always a bias: it also carries the zero-point correction of the asymmetric u8 activations.
    (void)bias;
    ops.append_binary(dnnl::algorithm::binary_add, memory::desc({1, out}, DataType::f32, FormatTag::ab));
    lowp::append_activation(ops, activation);
    attr.set_post_ops(ops);
    return {dnnl::matmul::desc(src, weights, dst), attr, lowp::engine()};
}

float max_abs(const float* x, std::size_t n) {
    float result = 0.0f;
#pragma omp parallel for schedule(static) reduction(max : result) if (n > 65536)
    for (std::size_t i = 0; i < n; ++i) result = std::max(result, std::fabs(x[i]));
    return result;
}

void quantize(const float* x, std::size_t n, float inv_scale, std::int8_t* out) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::size_t i = 0; i < n; ++i) {
        const float q = std::clamp(std::nearbyint(x[i] * inv_scale), -kQMax, kQMax);
        out[i] = static_cast<std::int8_t>(q);
    }
}

class LinearInt8 final : public LinearKernel {
public:
    LinearInt8(const Tensor& weight, const Tensor& bias)
        : in_(static_cast<long>(weight.cols())), out_(static_cast<long>(weight.rows())), has_bias_(!bias.empty()) {
        auto& engine = lowp::engine();
        const auto in = static_cast<std::size_t>(in_);
        const auto out = static_cast<std::size_t>(out_);
        // Per output channel: row o of the [out x in] PyTorch matrix.
        weight_scales_.resize(out);
        std::vector<std::int8_t> quantized(out * in);
        for (std::size_t o = 0; o < out; ++o) {
            const float* row = weight.row(o);
            const float amax = max_abs(row, in);
            const float scale = amax > 0.0f ? amax / kQMax : 1.0f;
            weight_scales_[o] = scale;
            quantize(row, in, 1.0f / scale, quantized.data() + o * in);
            std::int32_t sum = 0;
            for (std::size_t i = 0; i < in; ++i) sum += quantized[o * in + i];
            weight_sums_.push_back(sum);
        }
        const memory::desc any_weights({in_, out_}, DataType::s8, FormatTag::any);
        const auto pd = make_int8_pd(lowp::kLayoutRows, in_, out_, has_bias_, Activation::None, any_weights);
        weights_desc_ = pd.weights_desc();
        const memory::desc torch_layout({in_, out_}, DataType::s8, FormatTag::ba);
        memory source(torch_layout, engine, quantized.data());
        weights_ = memory(weights_desc_, engine);
        dnnl::stream stream(engine);
        dnnl::reorder(source, weights_).execute(stream, source, weights_);
        stream.wait();
        bias_values_.assign(out, 0.0f);
        if (has_bias_) std::memcpy(bias_values_.data(), bias.data(), out * sizeof(float));
    }

    void forward(const float* x, std::size_t rows, float* y, Activation activation) const override {
        if (rows == 0) return;
        const auto m = static_cast<long>(rows);
        const std::size_t n = rows * static_cast<std::size_t>(in_);
        thread_local std::vector<std::uint8_t> src_u8;
        thread_local std::vector<float> scales;
        thread_local std::vector<float> bias;
        src_u8.resize(n);
        // Asymmetric u8: x ~ x_scale * (q - zero), q in [0, 255], the range [min(x, 0), max(x, 0)] mapped onto it.
        float lo = 0.0f, hi = 0.0f;
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi) if (n > 65536)
        for (std::size_t i = 0; i < n; ++i) {
            lo = std::min(lo, x[i]);
            hi = std::max(hi, x[i]);
        }
        const float range = hi - lo;
        const float x_scale = range > 0.0f && std::isfinite(range) ? range / 255.0f : 1.0f;
        const float zero = std::clamp(std::nearbyint(-lo / x_scale), 0.0f, 255.0f);
        const float inv = 1.0f / x_scale;
        std::uint8_t* q = src_u8.data();  // not the thread_local itself inside the parallel loop
#pragma omp parallel for schedule(static) if (n > 65536)
        for (std::size_t i = 0; i < n; ++i) {
            q[i] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(x[i] * inv) + zero, 0.0f, 255.0f));
        }
        // W.x = x_scale * w_scale * (acc - zero * sum(w_q)): the zero-point term folds into the bias.
        const std::size_t out = weight_scales_.size();
        scales.resize(out);
        bias.resize(out);
        for (std::size_t o = 0; o < out; ++o) {
            scales[o] = x_scale * weight_scales_[o];
            bias[o] = bias_values_[o] - scales[o] * zero * static_cast<float>(weight_sums_[o]);
        }

        auto primitive = lowp::cached_matmul({kKind, m, in_, out_, has_bias_, activation}, [&] {
            return make_int8_pd(m, in_, out_, has_bias_, activation, weights_desc_);
        });
        auto& engine = lowp::engine();
        memory src({{m, in_}, DataType::u8, FormatTag::ab}, engine, src_u8.data());
        memory dst({{m, out_}, DataType::f32, FormatTag::ab}, engine, y);
        memory scale_mem({{1, out_}, DataType::f32, FormatTag::ab}, engine, scales.data());
        memory bias_mem({{1, out_}, DataType::f32, FormatTag::ab}, engine, bias.data());
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                             {DNNL_ARG_WEIGHTS, weights_},
                                             {DNNL_ARG_DST, dst},
                                             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, scale_mem},
                                             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, bias_mem}};
        dnnl::stream stream(engine);
        primitive.execute(stream, args);
        stream.wait();
    }

private:
    long in_, out_;
    bool has_bias_;
    std::vector<float> weight_scales_;
    std::vector<std::int32_t> weight_sums_;  // sum of each output channel's s8 weights
    std::vector<float> bias_values_;         // f32 bias (zeros when the layer has none)
    memory::desc weights_desc_;
    memory weights_;
};

}  // namespace

std::unique_ptr<LinearKernel> make_linear_int8(const Tensor& weight, const Tensor& bias) {
    WINNOW_CHECK(cpu_has_vnni(), Errc::Unsupported,
                 "linear layer: precision int8 needs a CPU with AVX512-VNNI (avx512_core_vnni), which this one lacks");
    return std::make_unique<LinearInt8>(weight, bias);
}

}  // namespace winnow
