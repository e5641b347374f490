// Fused element-wise and normalisation kernels over [rows x cols] f32 activations.
// Threads: OpenMP, as many as omp_get_max_threads() of the calling thread (set per forward pass
// with ScopedThreads, tensor/threads.h). No checks here: callers validate shapes once at load.
#pragma once

#include <algorithm>
#include <cstddef>

#include "tensor/threads.h"  // ScopedThreads

namespace winnow {

enum class Activation { None, Gelu, GeluTanh, Relu, Silu, Tanh };

// Kernels that write an output of at least this many bytes (more than the caches keep until its reader runs) use
// non-temporal stores, which skip reading each line from memory before overwriting it (int8 Linear, attention).
constexpr std::size_t kNonTemporalBytes = std::size_t{16} << 20;

float activate(Activation activation, float x) noexcept;

// e^x in f32 for x <= 88.7, within 2 ulp of std::exp, written so loops over it vectorize
// (softmax). Range reduction x = n ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r
// (the Cephes expf coefficients); inputs below -87.3 give ~1e-38 instead of 0.
inline float fast_exp(float x) noexcept {
    x = std::min(std::max(x, -87.3f), 88.7f);
    const float t = x * 1.44269504088896341f + 0.5f;
    int n = static_cast<int>(t);
    n -= static_cast<float>(n) > t ? 1 : 0;  // floor, branch-free so the loops vectorize
    const float nf = static_cast<float>(n);
    const float r = x - nf * 0.693359375f + nf * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const auto bits = static_cast<unsigned>(n + 127) << 23;
    return p * __builtin_bit_cast(float, bits);
}

// x[r, :] = act(x[r, :] + bias) for every row; bias may be null.
void bias_activation(float* x, std::size_t rows, std::size_t cols, const float* bias, Activation activation) noexcept;

// y = LayerNorm(x) over each row with gamma and (optional) beta, in place allowed (y == x).
void layer_norm(const float* x, float* y, std::size_t rows, std::size_t cols, const float* gamma, const float* beta,
                float eps) noexcept;

// x = LayerNorm(x + residual), the post-norm residual step of BERT.
void add_layer_norm(float* x, const float* residual, std::size_t rows, std::size_t cols, const float* gamma,
                    const float* beta, float eps) noexcept;

// y = RMSNorm(x) * gamma (in place allowed).
void rms_norm(const float* x, float* y, std::size_t rows, std::size_t cols, const float* gamma, float eps) noexcept;

// x += y, element-wise over n values.
void add_inplace(float* x, const float* y, std::size_t n) noexcept;

// Numerically stable softmax of n values, in place.
void softmax_inplace(float* x, std::size_t n) noexcept;

// out[r, i] = act(x[r, i]) * x[r, cols + i]: gated units (GeGLU, SwiGLU) where each input row holds
// [input | gate] of 2*cols values.
void gated_activation(const float* x, float* out, std::size_t rows, std::size_t cols, Activation activation) noexcept;

}  // namespace winnow
