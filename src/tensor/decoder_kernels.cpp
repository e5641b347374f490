#include "tensor/decoder_kernels.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "tensor/kernels.h"

namespace winnow {

namespace {
float dot(const float* a, const float* b, std::size_t n) noexcept {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (std::size_t i = 0; i < n; ++i) sum += a[i] * b[i];
    return sum;
}
}  // namespace

RotaryAngles::RotaryAngles(std::size_t head_dim, double theta, std::span<const std::uint32_t> positions)
    : head_dim_(head_dim), rows_(positions.size()) {
    const std::size_t half = head_dim / 2;
    std::vector<float> inv_freq(half);
    for (std::size_t c = 0; c < half; ++c) {
        // As the reference: an f32 inverse frequency and an f32 angle.
        inv_freq[c] =
            static_cast<float>(1.0 / std::pow(theta, static_cast<double>(2 * c) / static_cast<double>(head_dim)));
    }
    cos_.resize(rows_ * half);
    sin_.resize(rows_ * half);
    for (std::size_t r = 0; r < rows_; ++r) {
        const auto p = static_cast<float>(positions[r]);
        for (std::size_t c = 0; c < half; ++c) {
            const float angle = p * inv_freq[c];
            cos_[r * half + c] = std::cos(angle);
            sin_[r * half + c] = std::sin(angle);
        }
    }
}

void RotaryAngles::apply(float* x, std::size_t stride, std::size_t n_heads) const {
    const std::size_t half = head_dim_ / 2;
#pragma omp parallel for schedule(static) if (rows_ * n_heads * head_dim_ >= 16384)
    for (std::size_t r = 0; r < rows_; ++r) {
        const float* cs = cos_.data() + r * half;
        const float* sn = sin_.data() + r * half;
        for (std::size_t h = 0; h < n_heads; ++h) {
            float* head = x + r * stride + h * head_dim_;
#pragma omp simd
            for (std::size_t c = 0; c < half; ++c) {
                const float a = head[c];
                const float b = head[c + half];
                head[c] = a * cs[c] - b * sn[c];
                head[c + half] = b * cs[c] + a * sn[c];
            }
        }
    }
}

void decoder_attention(HeadsView q, HeadsView k, HeadsView v, std::span<const std::uint32_t> cu_seqlens,
                       const PrefixKv& prefix, float* out, std::size_t out_stride, const AttentionShape& shape) {
    if (cu_seqlens.size() < 2) return;
    const std::size_t n_seqs = cu_seqlens.size() - 1;
    const std::size_t d = shape.head_dim;
    const std::size_t group = shape.n_heads / shape.n_kv_heads;
    const std::size_t p_len = prefix.length;
    // One task per (sequence, kv head): the query heads of a group share the transposed keys.
    const std::size_t n_tasks = n_seqs * shape.n_kv_heads;
    std::size_t max_len = 0;
    for (std::size_t s = 0; s < n_seqs; ++s)
        max_len = std::max<std::size_t>(max_len, cu_seqlens[s + 1] - cu_seqlens[s]);
    const std::size_t max_keys = p_len + max_len;

#pragma omp parallel
    {
        std::vector<float> keys_t(d * max_keys);  // [d x keys]: contiguous score rows
        std::vector<float> scores(max_keys);
#pragma omp for schedule(dynamic, 1)
        for (std::size_t task = 0; task < n_tasks; ++task) {
            const std::size_t s = task / shape.n_kv_heads;
            const std::size_t kv_h = task % shape.n_kv_heads;
            const std::size_t begin = cu_seqlens[s];
            const std::size_t len = cu_seqlens[s + 1] - begin;
            const std::size_t n_keys = p_len + len;
            for (std::size_t j = 0; j < p_len; ++j) {
                const float* key = prefix.keys + j * prefix.stride + kv_h * d;
                for (std::size_t c = 0; c < d; ++c) keys_t[c * n_keys + j] = key[c];
            }
            for (std::size_t j = 0; j < len; ++j) {
                const float* key = k.data + (begin + j) * k.stride + kv_h * d;
                for (std::size_t c = 0; c < d; ++c) keys_t[c * n_keys + p_len + j] = key[c];
            }
            for (std::size_t h = kv_h * group; h < (kv_h + 1) * group; ++h) {
                for (std::size_t i = 0; i < len; ++i) {
                    const std::size_t n = p_len + i + 1;
                    float* score = scores.data();
                    std::fill(score, score + n, 0.0f);
                    const float* query = q.data + (begin + i) * q.stride + h * d;
                    for (std::size_t c = 0; c < d; ++c) {
                        const float qc = query[c] * shape.scale;
                        const float* kt = keys_t.data() + c * n_keys;
#pragma omp simd
                        for (std::size_t j = 0; j < n; ++j) score[j] += qc * kt[j];
                    }
                    softmax_inplace(score, n);
                    float* o = out + (begin + i) * out_stride + h * d;
                    std::fill(o, o + d, 0.0f);
                    for (std::size_t j = 0; j < n; ++j) {
                        const float pj = score[j];
                        const float* value = j < p_len ? prefix.values + j * prefix.stride + kv_h * d
                                                       : v.data + (begin + j - p_len) * v.stride + kv_h * d;
#pragma omp simd
                        for (std::size_t c = 0; c < d; ++c) o[c] += pj * value[c];
                    }
                }
            }
        }
    }
}

void rms_norm_heads(float* x, std::size_t rows, std::size_t stride, std::size_t n_heads, std::size_t head_dim,
                    const float* gamma, float eps) noexcept {
#pragma omp parallel for schedule(static) if (rows * n_heads * head_dim >= 16384)
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t h = 0; h < n_heads; ++h) {
            float* v = x + r * stride + h * head_dim;
            const float inv = 1.0f / std::sqrt(dot(v, v, head_dim) / static_cast<float>(head_dim) + eps);
            for (std::size_t c = 0; c < head_dim; ++c) v[c] = v[c] * inv * gamma[c];
        }
    }
}

void lm_head_row(const float* hidden, const Tensor& table, float* out) noexcept {
    const std::size_t vocab = table.rows();
    const std::size_t dim = table.cols();
#pragma omp parallel for schedule(static) if (vocab * dim >= 65536)
    for (std::size_t t = 0; t < vocab; ++t) out[t] = dot(hidden, table.row(t), dim);
}

float lm_head_logit(const float* hidden, const Tensor& table, std::int32_t token) noexcept {
    return dot(hidden, table.row(static_cast<std::size_t>(token)), table.cols());
}

}  // namespace winnow
