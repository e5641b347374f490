#include "tensor/attention.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/attention_fused.h"
#include "tensor/kernels.h"

namespace winnow {

namespace {

// Query rows per block: bounds the score buffer to kBlockRows x sequence length per thread.
constexpr std::size_t kBlockRows = 64;

// One (sequence, query head): for each block of query rows, S = scale * Q K^T over the keys the
// block can see, a masked row softmax, then O = S V. Both products are small row-major GEMMs on
// strided views of the packed projections (oneDNN's sgemm, single-threaded inside our parallel
// loop), so nothing is gathered or padded.
void attend_one(const float* q, std::size_t q_stride, const float* k, std::size_t k_stride, const float* v,
                std::size_t v_stride, std::size_t len, const AttentionShape& shape, float* scores, float* out,
                std::size_t out_stride) noexcept {
    const auto d = static_cast<dnnl_dim_t>(shape.head_dim);
    for (std::size_t i0 = 0; i0 < len; i0 += kBlockRows) {
        const std::size_t rows = std::min(kBlockRows, len - i0);
        std::size_t block_lo = len, block_hi = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            std::size_t lo, hi;
            visible_keys(shape, i0 + r, len, lo, hi);
            block_lo = std::min(block_lo, lo);
            block_hi = std::max(block_hi, hi);
        }
        const std::size_t n = block_hi - block_lo;
        const auto m = static_cast<dnnl_dim_t>(rows);
        const auto nn = static_cast<dnnl_dim_t>(n);
        dnnl_sgemm('N', 'T', m, nn, d, shape.scale, q + i0 * q_stride, static_cast<dnnl_dim_t>(q_stride),
                   k + block_lo * k_stride, static_cast<dnnl_dim_t>(k_stride), 0.0f, scores, nn);
        for (std::size_t r = 0; r < rows; ++r) {
            std::size_t lo, hi;
            visible_keys(shape, i0 + r, len, lo, hi);
            float* s = scores + r * n;
            softmax_inplace(s + (lo - block_lo), hi - lo);
            std::fill(s, s + (lo - block_lo), 0.0f);
            std::fill(s + (hi - block_lo), s + n, 0.0f);
        }
        dnnl_sgemm('N', 'N', m, d, nn, 1.0f, scores, nn, v + block_lo * v_stride, static_cast<dnnl_dim_t>(v_stride),
                   0.0f, out + i0 * out_stride, static_cast<dnnl_dim_t>(out_stride));
    }
}

// Task t of a (sequence, query head) loop: sequence s rows [begin, begin + len), head h reading key/value head kv_h.
struct HeadTask {
    std::size_t s, h, kv_h, begin, len;
};

inline HeadTask head_task(std::size_t task, const AttentionShape& shape, std::span<const std::uint32_t> cu_seqlens) {
    const std::size_t s = task / shape.n_heads;
    const std::size_t h = task % shape.n_heads;
    return {s, h, h / (shape.n_heads / shape.n_kv_heads), cu_seqlens[s], cu_seqlens[s + 1] - cu_seqlens[s]};
}

}  // namespace

void attention_varlen(HeadsView q, HeadsView k, HeadsView v, std::span<const std::uint32_t> cu_seqlens, float* out,
                      std::size_t out_stride, const AttentionShape& shape) {
    if (cu_seqlens.size() < 2) return;
    const std::size_t n_seqs = cu_seqlens.size() - 1;
    const std::size_t d = shape.head_dim;
    std::size_t max_len = 0;
    for (std::size_t s = 0; s < n_seqs; ++s) max_len = std::max<std::size_t>(max_len, cu_seqlens[s + 1] - cu_seqlens[s]);
    const std::size_t n_tasks = n_seqs * shape.n_heads;

    // bf16 models: both products in bf16. int8 models: P V only; their scores stay f32, since bf16 scores would
    // add ranking noise beyond ONNX Runtime's int8 (bench/README.md).
    AttentionProducts products = shape.precision == Precision::Bf16    ? AttentionProducts::Bf16
                                 : shape.precision == Precision::Int8 ? AttentionProducts::Bf16Values
                                                                       : AttentionProducts::F32;
    if (!fused_attention_supported(d, products)) products = AttentionProducts::F32;
    const bool fused = fused_attention_supported(d, products);
    // An output larger than the caches is written past them (see LinearInt8 for the same rule).
    const bool non_temporal = fused && cu_seqlens.back() * out_stride * sizeof(float) >= kNonTemporalBytes;
#pragma omp parallel if (n_tasks > 1)
    {
        thread_local FusedAttentionScratch fused_scratch;
        std::vector<float> scores(fused ? 0 : kBlockRows * max_len);
#pragma omp for schedule(dynamic, 1)
        for (std::size_t task = 0; task < n_tasks; ++task) {
            const auto [s, h, kv_h, begin, len] = head_task(task, shape, cu_seqlens);
            if (fused) {
                fused_attend(q.data + begin * q.stride + h * d, q.stride, k.data + begin * k.stride + kv_h * d, k.stride,
                             v.data + begin * v.stride + kv_h * d, v.stride, len, shape, products, fused_scratch,
                             out + begin * out_stride + h * d, out_stride, non_temporal);
                continue;
            }
            attend_one(q.data + begin * q.stride + h * d, q.stride, k.data + begin * k.stride + kv_h * d, k.stride,
                       v.data + begin * v.stride + kv_h * d, v.stride, len, shape, scores.data(),
                       out + begin * out_stride + h * d, out_stride);
        }
    }
}

void attention_first_tokens(HeadsView q, HeadsView k, HeadsView v, std::span<const std::uint32_t> cu_seqlens,
                            float* out, std::size_t out_stride, const AttentionShape& shape) {
    if (cu_seqlens.size() < 2) return;
    const std::size_t n_seqs = cu_seqlens.size() - 1;
    const std::size_t d = shape.head_dim;
    const std::size_t n_tasks = n_seqs * shape.n_heads;
#pragma omp parallel if (n_tasks > 1)
    {
        std::vector<float> scores;
#pragma omp for schedule(dynamic, 4)
        for (std::size_t task = 0; task < n_tasks; ++task) {
            const auto [s, h, kv_h, begin, len] = head_task(task, shape, cu_seqlens);
            std::size_t lo, hi;
            visible_keys(shape, 0, len, lo, hi);
            const float* query = q.data + s * q.stride + h * d;
            scores.resize(hi - lo);
            for (std::size_t j = lo; j < hi; ++j) {
                const float* key = k.data + (begin + j) * k.stride + kv_h * d;
                float dot = 0.0f;
                for (std::size_t c = 0; c < d; ++c) dot += query[c] * key[c];
                scores[j - lo] = shape.scale * dot;
            }
            softmax_inplace(scores.data(), scores.size());
            float* o = out + s * out_stride + h * d;
            std::fill(o, o + d, 0.0f);
            for (std::size_t j = lo; j < hi; ++j) {
                const float* value = v.data + (begin + j) * v.stride + kv_h * d;
                const float w = scores[j - lo];
                for (std::size_t c = 0; c < d; ++c) o[c] += w * value[c];
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
#pragma omp parallel for schedule(dynamic, 1) if (n_seqs > 1)
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
