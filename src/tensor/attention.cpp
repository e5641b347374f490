#include "tensor/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/kernels.h"

namespace winnow {

void attention_varlen(HeadsView q, HeadsView k, HeadsView v, std::span<const std::uint32_t> cu_seqlens, float* out,
                      std::size_t out_stride, const AttentionShape& shape) {
    if (cu_seqlens.size() < 2) return;
    const std::size_t n_seqs = cu_seqlens.size() - 1;
    const std::size_t d = shape.head_dim;
    const std::size_t group = shape.n_heads / shape.n_kv_heads;
    const std::size_t n_tasks = n_seqs * shape.n_heads;
    std::size_t max_len = 0;
    for (std::size_t s = 0; s < n_seqs; ++s) max_len = std::max<std::size_t>(max_len, cu_seqlens[s + 1] - cu_seqlens[s]);

#pragma omp parallel
    {
        // Per thread: K transposed [d x L] for contiguous score rows, and one score row.
        std::vector<float> keys_t(d * max_len);
        std::vector<float> scores(max_len);
#pragma omp for schedule(dynamic, 1)
        for (std::size_t task = 0; task < n_tasks; ++task) {
            const std::size_t s = task / shape.n_heads;
            const std::size_t h = task % shape.n_heads;
            const std::size_t kv_h = h / group;
            const std::size_t begin = cu_seqlens[s];
            const std::size_t len = cu_seqlens[s + 1] - begin;
            for (std::size_t j = 0; j < len; ++j) {
                const float* key = k.data + (begin + j) * k.stride + kv_h * d;
                for (std::size_t c = 0; c < d; ++c) keys_t[c * len + j] = key[c];
            }
            for (std::size_t i = 0; i < len; ++i) {
                std::size_t lo = 0;
                std::size_t hi = len;
                if (shape.window > 0) {
                    lo = i > shape.window ? i - shape.window : 0;
                    hi = std::min(len, i + shape.window + 1);
                }
                if (shape.causal) hi = std::min(hi, i + 1);
                const std::size_t n = hi - lo;
                float* score = scores.data();
                std::fill(score, score + n, 0.0f);
                const float* query = q.data + (begin + i) * q.stride + h * d;
                for (std::size_t c = 0; c < d; ++c) {
                    const float qc = query[c] * shape.scale;
                    const float* kt = keys_t.data() + c * len + lo;
#pragma omp simd
                    for (std::size_t j = 0; j < n; ++j) score[j] += qc * kt[j];
                }
                softmax_inplace(score, n);
                float* o = out + (begin + i) * out_stride + h * d;
                std::fill(o, o + d, 0.0f);
                for (std::size_t j = 0; j < n; ++j) {
                    const float p = score[j];
                    const float* value = v.data + (begin + lo + j) * v.stride + kv_h * d;
#pragma omp simd
                    for (std::size_t c = 0; c < d; ++c) o[c] += p * value[c];
                }
            }
        }
    }
}

RopeTable::RopeTable(std::size_t head_dim, std::size_t max_positions, double theta)
    : head_dim_(head_dim), max_positions_(max_positions) {
    const std::size_t half = head_dim / 2;
    cos_.resize(max_positions * half);
    sin_.resize(max_positions * half);
    for (std::size_t c = 0; c < half; ++c) {
        // Same rounding as the reference: the inverse frequency is an f32, the angle an f32 product.
        const float inv_freq =
            static_cast<float>(1.0 / std::pow(theta, static_cast<double>(2 * c) / static_cast<double>(head_dim)));
        for (std::size_t p = 0; p < max_positions; ++p) {
            const float angle = static_cast<float>(p) * inv_freq;
            cos_[p * half + c] = std::cos(angle);
            sin_[p * half + c] = std::sin(angle);
        }
    }
}

void RopeTable::apply(float* x, std::size_t stride, std::size_t n_heads,
                      std::span<const std::uint32_t> cu_seqlens) const {
    if (cu_seqlens.size() < 2) return;
    const std::size_t half = head_dim_ / 2;
    const std::size_t n_seqs = cu_seqlens.size() - 1;
#pragma omp parallel for schedule(dynamic, 1)
    for (std::size_t s = 0; s < n_seqs; ++s) {
        for (std::size_t t = cu_seqlens[s]; t < cu_seqlens[s + 1]; ++t) {
            const std::size_t pos = t - cu_seqlens[s];
            const float* cs = cos_.data() + pos * half;
            const float* sn = sin_.data() + pos * half;
            for (std::size_t h = 0; h < n_heads; ++h) {
                float* head = x + t * stride + h * head_dim_;
                for (std::size_t c = 0; c < half; ++c) {
                    const float a = head[c];
                    const float b = head[c + half];
                    head[c] = a * cs[c] - b * sn[c];
                    head[c + half] = b * cs[c] + a * sn[c];
                }
            }
        }
    }
}

}  // namespace winnow
