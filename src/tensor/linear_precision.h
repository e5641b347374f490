// Internal: the reduced-precision Linear kernels (bf16, int8) and the CPU checks they need.
// linear.cpp dispatches to them; each one owns its prepared weights and runs one oneDNN matmul per call.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "tensor/kernels.h"
#include "tensor/tensor.h"
#include "winnow/device.h"

namespace winnow {

class LinearKernel {
public:
    virtual ~LinearKernel() = default;
    // y[rows x out] = act(x[rows x in] W^T + b), x and y in f32.
    virtual void forward(const float* x, std::size_t rows, float* y, Activation activation) const = 0;
    // y = second(act(this(x))) in one pass when this kernel can hand its output to `second` without writing it out
    // in f32 (int8 to int8); false: not supported, nothing done (the caller runs the two layers).
    virtual bool forward_pair(const LinearKernel& /*second*/, const float* /*x*/, std::size_t /*rows*/, float* /*y*/,
                              Activation /*activation*/) const {
        return false;
    }
};

// weight: [out x in] (PyTorch layout); bias: [1 x out] or empty. Throw Error(Unsupported) naming the
// missing CPU feature when the CPU cannot run the precision.
std::unique_ptr<LinearKernel> make_linear_bf16(const Tensor& weight, const Tensor& bias);
std::unique_ptr<LinearKernel> make_linear_int8(const Tensor& weight, const Tensor& bias);

// CPU support as oneDNN sees it (its effective ISA, which also honours ONEDNN_MAX_CPU_ISA).
bool cpu_has_bf16() noexcept;  // AVX512-BF16 (avx512_core_bf16 or newer)
bool cpu_has_vnni() noexcept;  // AVX512-VNNI (avx512_core_vnni or newer)

// The precision Precision::Auto stands for on this CPU (every model resolves Auto here); any other precision is
// returned unchanged. Rule: the fastest precision whose accuracy holds: bf16 on a CPU with AVX512-BF16 (2x the
// fp32 GEMM rate; on the benchmark cross-encoder max |logit - fp32| 0.012, Spearman 0.988 per 32-pair group,
// within the 0.05 bound), fp32 otherwise. int8 stays opt-in: its error (max 0.05, Spearman ~0.85-0.89 against
// fp32) is that of ONNX Runtime's dynamic int8, not a default. Ask for fp32 to reproduce reference scores to 1e-4.
Precision resolve_precision(Precision requested) noexcept;

}  // namespace winnow
