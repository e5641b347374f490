// bf16 Linear: weights converted to bf16 once at load (in oneDNN's blocked layout for this CPU),
// activations rounded to bf16 per call, one bf16 x bf16 -> f32 matmul (AVX512-BF16) with the f32 bias
// and the activation fused.
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "tensor/linear_dnnl.h"
#include "tensor/linear_precision.h"
#include "tensor/row_blocks.h"
#include "winnow/error.h"

namespace winnow {

namespace {

using dnnl::memory;
using DataType = memory::data_type;
using FormatTag = memory::format_tag;

constexpr int kKind = 1;

dnnl::matmul::primitive_desc make_bf16_pd(long rows, long in, long out, bool bias, Activation activation,
                                          const memory::desc& weights) {
    const memory::desc src({rows, in}, DataType::bf16, FormatTag::ab);
    const memory::desc dst({rows, out}, DataType::f32, FormatTag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // lowp::execute_matmul passes a per-thread one
    dnnl::post_ops ops;
    lowp::append_activation(ops, activation);
    attr.set_post_ops(ops);
    if (bias) {
        const memory::desc bias_desc({1, out}, DataType::f32, FormatTag::ab);
        return {dnnl::matmul::desc(src, weights, bias_desc, dst), attr, lowp::engine()};
    }
    return {dnnl::matmul::desc(src, weights, dst), attr, lowp::engine()};
}

// Round-to-nearest-even f32 -> bf16 (NaN kept quiet); written so the loop vectorizes.
void to_bf16(const float* x, std::size_t n, std::uint16_t* out) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t bits;
        std::memcpy(&bits, &x[i], sizeof bits);
        const std::uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
        const bool nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
        out[i] = nan ? static_cast<std::uint16_t>((bits >> 16) | 0x40u) : static_cast<std::uint16_t>(rounded);
    }
}

class LinearBf16 final : public LinearKernel {
public:
    LinearBf16(const Tensor& weight, const Tensor& bias)
        : in_(static_cast<long>(weight.cols())), out_(static_cast<long>(weight.rows())), has_bias_(!bias.empty()) {
        auto& engine = lowp::engine();
        const memory::desc any_weights({in_, out_}, DataType::bf16, FormatTag::any);
        const auto pd = make_bf16_pd(lowp::kLayoutRows, in_, out_, has_bias_, Activation::None, any_weights);
        weights_desc_ = pd.weights_desc();
        // PyTorch's [out x in] row-major is the [in x out] matrix in "ba" order; the reorder converts to bf16.
        const memory::desc torch_layout({in_, out_}, DataType::f32, FormatTag::ba);
        memory source(torch_layout, engine, const_cast<float*>(weight.data()));
        weights_ = memory(weights_desc_, engine);
        dnnl::stream stream(engine);
        dnnl::reorder(source, weights_).execute(stream, source, weights_);
        stream.wait();
        if (has_bias_) {
            bias_ = memory({{1, out_}, DataType::f32, FormatTag::ab}, engine);
            std::memcpy(bias_.get_data_handle(), bias.data(), static_cast<std::size_t>(out_) * sizeof(float));
        }
    }

    void forward(const float* x, std::size_t rows, float* y, Activation activation) const override {
        if (rows == 0) return;
        const auto in = static_cast<std::size_t>(in_);
        const auto out = static_cast<std::size_t>(out_);
        // Rows rounded once for the whole call, with the tail's padding rows (row_blocks.h) zeroed.
        const std::size_t padded = rows + row_blocks::kTailRows;
        thread_local std::vector<std::uint16_t> src_bf16;
        if (src_bf16.size() < padded * in) src_bf16.resize(padded * in);
        to_bf16(x, rows * in, src_bf16.data());
        std::memset(src_bf16.data() + rows * in, 0, row_blocks::kTailRows * in * sizeof(std::uint16_t));
        auto& engine = lowp::engine();
        std::unordered_map<int, memory> args{{DNNL_ARG_WEIGHTS, weights_}};
        if (has_bias_) args.emplace(DNNL_ARG_BIAS, bias_);
        row_blocks::for_each(rows, [&](const row_blocks::Block& block) {
            const auto m = static_cast<long>(block.gemm_rows);
            auto primitive = lowp::cached_matmul(
                {kKind, m, in_, out_, has_bias_, activation},
                [&](long rows) { return make_bf16_pd(rows, in_, out_, has_bias_, activation, weights_desc_); },
                row_blocks::kGemmRowCounts);
            float* dst_rows = y + block.first * out;
            if (block.padded()) dst_rows = lowp::tail_buffers(0, block.gemm_rows * out).dst.data();
            args[DNNL_ARG_SRC] = memory({{m, in_}, DataType::bf16, FormatTag::ab}, engine, src_bf16.data() + block.first * in);
            args[DNNL_ARG_DST] = memory({{m, out_}, DataType::f32, FormatTag::ab}, engine, dst_rows);
            lowp::execute_matmul(primitive, engine, args);
            if (block.padded()) std::memcpy(y + block.first * out, dst_rows, block.rows * out * sizeof(float));
        });
    }

private:
    long in_, out_;
    bool has_bias_;
    memory::desc weights_desc_;
    memory weights_;
    memory bias_;
};

}  // namespace

std::unique_ptr<LinearKernel> make_linear_bf16(const Tensor& weight, const Tensor& bias) {
    WINNOW_CHECK(cpu_has_bf16(), Errc::Unsupported,
                 "linear layer: precision bf16 needs a CPU with AVX512-BF16 (avx512_core_bf16), which this one lacks");
    return std::make_unique<LinearBf16>(weight, bias);
}

}  // namespace winnow
