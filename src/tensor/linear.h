// winnow::Linear: y = act(x W^T + b), the layer every transformer GEMM goes through.
// The compute precision is a property of the layer: the weights are prepared for it once at load
// (fp32: reordered into oneDNN's blocked layout for this CPU) and every forward call runs one GEMM
// over all rows of the (unpadded) batch, with the bias and activation fused into it.
#pragma once

#include <cstddef>
#include <memory>

#include "tensor/kernels.h"
#include "tensor/tensor.h"
#include "winnow/device.h"

namespace winnow {

class Linear {
public:
    Linear() = default;
    // weight: [out_features x in_features] (PyTorch layout); bias: [1 x out_features] or empty.
    // Throws Error(Unsupported) for a precision this build cannot run.
    Linear(const Tensor& weight, const Tensor& bias, Precision precision = Precision::Fp32);

    // y[rows x out] = act(x[rows x in] W^T + b). x and y must not overlap.
    void forward(const float* x, std::size_t rows, float* y, Activation activation = Activation::None) const;
    // Resizes y to [x.rows() x out_features].
    void forward(const Tensor& x, Tensor& y, Activation activation = Activation::None) const;

    std::size_t in_features() const noexcept { return in_features_; }
    std::size_t out_features() const noexcept { return out_features_; }
    bool has_bias() const noexcept { return has_bias_; }
    Precision precision() const noexcept { return precision_; }
    bool empty() const noexcept { return impl_ == nullptr; }

    struct Impl;
    const Impl* impl() const noexcept { return impl_.get(); }

private:
    std::shared_ptr<const Impl> impl_;
    std::size_t in_features_ = 0;
    std::size_t out_features_ = 0;
    bool has_bias_ = false;
    Precision precision_ = Precision::Fp32;
};

// y = second(act(first(x))), the two layers of a feed-forward block. int8 layers run it chunk by chunk with the
// intermediate kept in cache as u8 (returns true); other precisions run the two GEMMs through `hidden` (resized as
// needed; returns false).
bool feed_forward(const Linear& first, const Linear& second, const Tensor& x, Tensor& hidden, Tensor& y,
                  Activation activation);

// Reference y = act(x W^T + b) with plain loops (tests and fallbacks).
void linear_reference(const float* x, std::size_t rows, const Tensor& weight, const float* bias, float* y,
                      Activation activation);

}  // namespace winnow
