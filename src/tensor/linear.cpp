#include "tensor/linear.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <map>
#include <unordered_map>
#include <mutex>
#include <tuple>

#include "tensor/linear_dnnl.h"
#include "tensor/linear_precision.h"
#include "tensor/row_blocks.h"
#include "winnow/error.h"

namespace winnow {

namespace {

using dnnl::memory;
using DataType = memory::data_type;
using FormatTag = memory::format_tag;

dnnl::engine& cpu_engine() { return lowp::engine(); }

dnnl::algorithm eltwise_algorithm(Activation activation) {
    switch (activation) {
        case Activation::Gelu:
            return dnnl::algorithm::eltwise_gelu_erf;
        case Activation::GeluTanh:
            return dnnl::algorithm::eltwise_gelu_tanh;
        case Activation::Relu:
            return dnnl::algorithm::eltwise_relu;
        case Activation::Silu:
            return dnnl::algorithm::eltwise_swish;
        case Activation::Tanh:
            return dnnl::algorithm::eltwise_tanh;
        case Activation::None:
            break;
    }
    return dnnl::algorithm::undef;
}

dnnl::matmul::primitive_desc make_fp32_pd(memory::dim rows, memory::dim in, memory::dim out, bool bias,
                                          Activation activation, const memory::desc& weights_desc) {
    const memory::desc src({rows, in}, DataType::f32, FormatTag::ab);
    const memory::desc dst({rows, out}, DataType::f32, FormatTag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // lowp::execute_matmul passes a per-thread one
    if (activation != Activation::None) {
        dnnl::post_ops ops;
        ops.append_eltwise(1.0f, eltwise_algorithm(activation), activation == Activation::Silu ? 1.0f : 0.0f, 0.0f);
        attr.set_post_ops(ops);
    }
    if (bias) {
        const memory::desc bias_desc({1, out}, DataType::f32, FormatTag::ab);
        return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights_desc, bias_desc, dst), attr, cpu_engine());
    }
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights_desc, dst), attr, cpu_engine());
}

constexpr int kKindFp32 = 0;

}  // namespace

struct Linear::Impl {
    memory::desc weights_desc;
    memory weights;  // [in x out] in the layout oneDNN picked for this CPU
    memory bias;     // [1 x out] or empty
    std::unique_ptr<const LinearKernel> kernel;  // bf16 / int8 (linear_bf16.cpp, linear_int8.cpp); null for fp32
};

Linear::Linear(const Tensor& weight, const Tensor& bias, Precision precision)
    : in_features_(weight.cols()), out_features_(weight.rows()), has_bias_(!bias.empty()) {
    precision = resolve_precision(precision);
    precision_ = precision;
    WINNOW_ASSERT(in_features_ > 0 && out_features_ > 0);
    WINNOW_ASSERT(bias.empty() || bias.size() == out_features_);
    if (precision != Precision::Fp32) {
        auto impl = std::make_shared<Impl>();
        impl->kernel = precision == Precision::Bf16 ? make_linear_bf16(weight, bias) : make_linear_int8(weight, bias);
        impl_ = std::move(impl);
        return;
    }
    auto& engine = cpu_engine();
    const auto in = static_cast<memory::dim>(in_features_);
    const auto out = static_cast<memory::dim>(out_features_);

    auto impl = std::make_shared<Impl>();
    const memory::desc any_weights({in, out}, DataType::f32, FormatTag::any);
    const auto pd = make_fp32_pd(lowp::kLayoutRows, in, out, has_bias_, Activation::None, any_weights);
    impl->weights_desc = pd.weights_desc();
    // PyTorch's [out x in] row-major is the [in x out] matrix in "ba" order: reorder from there.
    const memory::desc torch_layout({in, out}, DataType::f32, FormatTag::ba);
    memory source(torch_layout, engine, const_cast<float*>(weight.data()));
    impl->weights = memory(impl->weights_desc, engine);
    dnnl::stream stream(engine);
    dnnl::reorder(source, impl->weights).execute(stream, source, impl->weights);
    if (has_bias_) {
        impl->bias = memory({{1, out}, DataType::f32, FormatTag::ab}, engine);
        std::memcpy(impl->bias.get_data_handle(), bias.data(), out_features_ * sizeof(float));
    }
    stream.wait();
    impl_ = std::move(impl);
}

void Linear::forward(const float* x, std::size_t rows, float* y, Activation activation) const {
    WINNOW_ASSERT(impl_ != nullptr);
    if (rows == 0) return;
    if (impl_->kernel) return impl_->kernel->forward(x, rows, y, activation);
    const auto in = static_cast<memory::dim>(in_features_);
    const auto out = static_cast<memory::dim>(out_features_);
    auto& engine = cpu_engine();
    std::unordered_map<int, memory> args{{DNNL_ARG_WEIGHTS, impl_->weights}};
    if (has_bias_) args.emplace(DNNL_ARG_BIAS, impl_->bias);
    // The rows run in blocks of a few fixed sizes (row_blocks.h), so the primitives are made once per shape.
    row_blocks::for_each(rows, [&](const row_blocks::Block& block) {
        const auto m = static_cast<memory::dim>(block.gemm_rows);
        auto primitive = lowp::cached_matmul(
            {kKindFp32, m, in, out, has_bias_, activation},
            [&](long rows) { return make_fp32_pd(rows, in, out, has_bias_, activation, impl_->weights_desc); },
            row_blocks::kGemmRowCounts);
        const float* src_rows = x + block.first * in_features_;
        float* dst_rows = y + block.first * out_features_;
        lowp::TailBuffers* tail = nullptr;
        if (block.padded()) {  // the tail, copied into zero-padded rows and its result copied back
            tail = &lowp::tail_buffers(block.gemm_rows * in_features_, block.gemm_rows * out_features_);
            std::memcpy(tail->src.data(), src_rows, block.rows * in_features_ * sizeof(float));
            std::memset(tail->src.data() + block.rows * in_features_, 0,
                        (block.gemm_rows - block.rows) * in_features_ * sizeof(float));
            src_rows = tail->src.data();
            dst_rows = tail->dst.data();
        }
        args[DNNL_ARG_SRC] = memory({{m, in}, DataType::f32, FormatTag::ab}, engine, const_cast<float*>(src_rows));
        args[DNNL_ARG_DST] = memory({{m, out}, DataType::f32, FormatTag::ab}, engine, dst_rows);
        lowp::execute_matmul(primitive, engine, args);
        if (tail != nullptr) {
            std::memcpy(y + block.first * out_features_, dst_rows, block.rows * out_features_ * sizeof(float));
        }
    });
}

void Linear::forward(const Tensor& x, Tensor& y, Activation activation) const {
    WINNOW_ASSERT(x.cols() == in_features_);
    y.resize(x.rows(), out_features_);
    forward(x.data(), x.rows(), y.data(), activation);
}

bool feed_forward(const Linear& first, const Linear& second, const Tensor& x, Tensor& hidden, Tensor& y,
                  Activation activation) {
    WINNOW_ASSERT(x.cols() == first.in_features() && first.out_features() == second.in_features());
    const Linear::Impl* a = first.impl();
    const Linear::Impl* b = second.impl();
    if (a != nullptr && b != nullptr && a->kernel && b->kernel) {
        y.resize(x.rows(), second.out_features());
        if (a->kernel->forward_pair(*b->kernel, x.data(), x.rows(), y.data(), activation)) return true;
    }
    first.forward(x, hidden, activation);
    second.forward(hidden, y);
    return false;
}

void linear_reference(const float* x, std::size_t rows, const Tensor& weight, const float* bias, float* y,
                      Activation activation) {
    const std::size_t in = weight.cols();
    const std::size_t out = weight.rows();
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t o = 0; o < out; ++o) {
            double sum = bias != nullptr ? bias[o] : 0.0;
            const float* w = weight.row(o);
            for (std::size_t i = 0; i < in; ++i) sum += static_cast<double>(x[r * in + i]) * w[i];
            y[r * out + o] = activate(activation, static_cast<float>(sum));
        }
    }
}

}  // namespace winnow
