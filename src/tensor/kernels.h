// Fused element-wise and normalisation kernels over [rows x cols] f32 activations.
// Threads: OpenMP, as many as omp_get_max_threads() of the calling thread (set per forward pass
// with ScopedThreads). No checks here: callers validate shapes once at load.
#pragma once

#include <cstddef>

namespace winnow {

enum class Activation { None, Gelu, GeluTanh, Relu, Silu, Tanh };

// Sets the OpenMP thread count of the calling thread for a scope (0 = leave as is).
class ScopedThreads {
public:
    explicit ScopedThreads(std::size_t n_threads);
    ~ScopedThreads();
    ScopedThreads(const ScopedThreads&) = delete;
    ScopedThreads& operator=(const ScopedThreads&) = delete;

private:
    int previous_;
};

float activate(Activation activation, float x) noexcept;

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
