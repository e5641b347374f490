#include "tensor/kernels.h"
#include "tensor/avx512.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace winnow {

namespace {
constexpr float kSqrtHalf = 0.70710678118654752440f;
constexpr float kSqrt2OverPi = 0.79788456080286535588f;
// Below this many values a kernel runs on one thread (thread start-up costs more than it saves).
constexpr std::size_t kParallelMin = 1 << 14;
}  // namespace

float activate(Activation activation, float x) noexcept {
    switch (activation) {
        case Activation::None:
            return x;
        case Activation::Gelu:
            return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf));
        case Activation::GeluTanh:
            return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
        case Activation::Relu:
            return x > 0.0f ? x : 0.0f;
        case Activation::Silu:
            return x / (1.0f + std::exp(-x));
        case Activation::Tanh:
            return std::tanh(x);
    }
    return x;
}

void bias_activation(float* x, std::size_t rows, std::size_t cols, const float* bias, Activation activation) noexcept {
    if (bias == nullptr && activation == Activation::None) return;
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
    for (std::size_t r = 0; r < rows; ++r) {
        float* row = x + r * cols;
        if (bias != nullptr) {
            for (std::size_t c = 0; c < cols; ++c) row[c] += bias[c];
        }
        if (activation != Activation::None) {
            for (std::size_t c = 0; c < cols; ++c) row[c] = activate(activation, row[c]);
        }
    }
}

namespace {
inline void layer_norm_row(const float* x, float* y, std::size_t cols, const float* gamma, const float* beta,
                           float eps) noexcept {
    // Two passes with a shifted mean, like PyTorch's reduction (mean, then the variance of the
    // centred values), to keep the 1e-5 parity on long rows. The sums run in 16 f32 lanes
    // (pairwise-like, at least as accurate as one running sum) and are reduced at the end.
    std::size_t c = 0;
    float sum = 0.0f;
#if defined(__AVX512F__)
    __m512 vsum = _mm512_setzero_ps();
    for (; c + 16 <= cols; c += 16) vsum = _mm512_add_ps(vsum, _mm512_loadu_ps(x + c));
    sum = _mm512_reduce_add_ps(vsum);
#endif
    for (; c < cols; ++c) sum += x[c];
    const float mean = sum / static_cast<float>(cols);
    float sq = 0.0f;
    c = 0;
#if defined(__AVX512F__)
    const __m512 vmean = _mm512_set1_ps(mean);
    __m512 vsq = _mm512_setzero_ps();
    for (; c + 16 <= cols; c += 16) {
        const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + c), vmean);
        vsq = _mm512_fmadd_ps(d, d, vsq);
    }
    sq = _mm512_reduce_add_ps(vsq);
#endif
    for (; c < cols; ++c) {
        const float d = x[c] - mean;
        sq += d * d;
    }
    const float inv = 1.0f / std::sqrt(sq / static_cast<float>(cols) + eps);
    c = 0;
#if defined(__AVX512F__)
    const __m512 vinv = _mm512_set1_ps(inv);
    for (; c + 16 <= cols; c += 16) {
        const __m512 n = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + c), vmean), vinv);
        const __m512 b = beta != nullptr ? _mm512_loadu_ps(beta + c) : _mm512_setzero_ps();
        _mm512_storeu_ps(y + c, _mm512_fmadd_ps(n, _mm512_loadu_ps(gamma + c), b));
    }
#endif
    for (; c < cols; ++c) y[c] = (x[c] - mean) * inv * gamma[c] + (beta != nullptr ? beta[c] : 0.0f);
}
}  // namespace

void layer_norm(const float* x, float* y, std::size_t rows, std::size_t cols, const float* gamma, const float* beta,
                float eps) noexcept {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
    for (std::size_t r = 0; r < rows; ++r) layer_norm_row(x + r * cols, y + r * cols, cols, gamma, beta, eps);
}

void add_layer_norm(float* x, const float* residual, std::size_t rows, std::size_t cols, const float* gamma,
                    const float* beta, float eps) noexcept {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
    for (std::size_t r = 0; r < rows; ++r) {
        float* row = x + r * cols;
        const float* res = residual + r * cols;
        for (std::size_t c = 0; c < cols; ++c) row[c] += res[c];
        layer_norm_row(row, row, cols, gamma, beta, eps);
    }
}

void rms_norm(const float* x, float* y, std::size_t rows, std::size_t cols, const float* gamma, float eps) noexcept {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
    for (std::size_t r = 0; r < rows; ++r) {
        const float* in = x + r * cols;
        float* out = y + r * cols;
        float sq = 0.0f;
        for (std::size_t c = 0; c < cols; ++c) sq += in[c] * in[c];
        const float inv = 1.0f / std::sqrt(sq / static_cast<float>(cols) + eps);
        for (std::size_t c = 0; c < cols; ++c) out[c] = in[c] * inv * gamma[c];
    }
}

void add_inplace(float* x, const float* y, std::size_t n) noexcept {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (std::size_t i = 0; i < n; ++i) x[i] += y[i];
}

#if defined(__AVX512F__)
namespace {
inline __mmask16 tail_mask(std::size_t remaining) noexcept {
    return remaining >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << remaining) - 1u);
}
}  // namespace

void softmax_inplace(float* x, std::size_t n) noexcept {
    if (n == 0) return;
    const __m512 lowest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    __m512 vmax = lowest;
    for (std::size_t i = 0; i < n; i += 16) {
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(lowest, tail_mask(n - i), x + i));
    }
    const __m512 max_value = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (std::size_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), max_value));
        _mm512_mask_storeu_ps(x + i, m, e);
        vsum = _mm512_add_ps(vsum, _mm512_maskz_mov_ps(m, e));
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (std::size_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
    }
}
#else
void softmax_inplace(float* x, std::size_t n) noexcept {
    if (n == 0) return;
    float max_value = x[0];
    for (std::size_t i = 1; i < n; ++i) max_value = std::max(max_value, x[i]);
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = fast_exp(x[i] - max_value);
        sum += x[i];
    }
    const float inv = 1.0f / sum;
    for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}
#endif

void gated_activation(const float* x, float* out, std::size_t rows, std::size_t cols, Activation activation) noexcept {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
    for (std::size_t r = 0; r < rows; ++r) {
        const float* input = x + r * 2 * cols;
        const float* gate = input + cols;
        float* o = out + r * cols;
        for (std::size_t c = 0; c < cols; ++c) o[c] = activate(activation, input[c]) * gate[c];
    }
}

}  // namespace winnow
