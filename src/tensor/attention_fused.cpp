#include "tensor/attention_fused.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "tensor/avx512.h"
#include "tensor/linear_precision.h"

namespace winnow {

#if defined(__AVX512F__)
namespace {

constexpr std::size_t kLanes = 16;

inline std::size_t round_up(std::size_t n, std::size_t m) noexcept {
    return (n + m - 1) / m * m;
}

// Lanes j..j+15 that fall inside [lo, hi).
inline __mmask16 lane_mask(std::size_t j, std::size_t lo, std::size_t hi) noexcept {
    if (j >= lo && j + kLanes <= hi) return static_cast<__mmask16>(0xffff);
    const std::size_t a = lo > j ? std::min(lo - j, kLanes) : 0;
    const std::size_t b = hi > j ? std::min(hi - j, kLanes) : 0;
    return static_cast<__mmask16>(((1u << b) - 1u) & ~((1u << a) - 1u));
}

// Transposes 16 rows of 16 32-bit elements in registers: afterwards r[j][i] holds what r[i][j] held.
inline void transpose_16x16(__m512i r[16]) noexcept {
    __m512i a[16], b[16];
    for (int k = 0; k < 16; k += 2) {
        a[k] = _mm512_unpacklo_epi32(r[k], r[k + 1]);
        a[k + 1] = _mm512_unpackhi_epi32(r[k], r[k + 1]);
    }
    // b[4 g + m], 128-bit lane L: rows 4g..4g+3 of column 4 L + m.
    for (int g = 0; g < 16; g += 4) {
        b[g] = _mm512_unpacklo_epi64(a[g], a[g + 2]);
        b[g + 1] = _mm512_unpackhi_epi64(a[g], a[g + 2]);
        b[g + 2] = _mm512_unpacklo_epi64(a[g + 1], a[g + 3]);
        b[g + 3] = _mm512_unpackhi_epi64(a[g + 1], a[g + 3]);
    }
    // Column 4 L + m gathers lane L of b[m], b[4 + m], b[8 + m], b[12 + m].
    for (int m = 0; m < 4; ++m) {
        const __m512i c01 = _mm512_shuffle_i32x4(b[m], b[4 + m], 0x44);
        const __m512i d01 = _mm512_shuffle_i32x4(b[8 + m], b[12 + m], 0x44);
        const __m512i c23 = _mm512_shuffle_i32x4(b[m], b[4 + m], 0xee);
        const __m512i d23 = _mm512_shuffle_i32x4(b[8 + m], b[12 + m], 0xee);
        r[m] = _mm512_shuffle_i32x4(c01, d01, 0x88);
        r[4 + m] = _mm512_shuffle_i32x4(c01, d01, 0xdd);
        r[8 + m] = _mm512_shuffle_i32x4(c23, d23, 0x88);
        r[12 + m] = _mm512_shuffle_i32x4(c23, d23, 0xdd);
    }
}

// Packs the keys of one head column-major, 16 keys at a time by register transposes: word [w][j] of `out` (w < words,
// j < padded) is 32-bit word w of key j as `load_words(j, block)` gives it (block: which 16 words), zero for
// j >= len.
template <typename LoadWords>
inline void pack_keys(std::size_t len, std::size_t padded, int words, LoadWords load_words,
                      std::uint32_t* out) noexcept {
    for (std::size_t j0 = 0; j0 < padded; j0 += kLanes) {
        for (int block = 0; block < words / 16; ++block) {
            __m512i r[16];
            for (std::size_t i = 0; i < kLanes; ++i)
                r[i] = j0 + i < len ? load_words(j0 + i, block) : _mm512_setzero_si512();
            transpose_16x16(r);
            for (int w = 0; w < 16; ++w) _mm512_storeu_si512(out + (block * 16 + w) * padded + j0, r[w]);
        }
    }
}

// Softmax of one score row over the visible keys [lo, hi), given their maximum; the row holds columns [first, last)
// (multiples of 16 apart). Writes the unnormalized weights e^(s - max), zero outside [lo, hi), back as f32 (to `s`)
// or, for Bf16, as bf16 to `w` (computed with the faster e^x whose error is far below bf16's rounding), and returns
// 1 / their sum: the caller scales the weighted sum instead of the weights.
template <bool Bf16>
inline float softmax_row(float* s, [[maybe_unused]] std::uint16_t* w, std::size_t first, std::size_t last,
                         std::size_t lo, std::size_t hi, __m512 row_max) noexcept {
    const __m512 max_value = _mm512_set1_ps(_mm512_reduce_max_ps(row_max));
    __m512 vsum = _mm512_setzero_ps();
    for (std::size_t j = first; j < last; j += kLanes) {
        const __mmask16 m = lane_mask(j, lo, hi);
        const __m512 x = _mm512_sub_ps(_mm512_loadu_ps(s + (j - first)), max_value);
        if constexpr (Bf16) {
#if defined(__AVX512BF16__)
            const __m512 e = _mm512_maskz_mov_ps(m, exp_approx_avx512(x));
            vsum = _mm512_add_ps(vsum, e);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + (j - first)),
                                reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(e)));
#endif
        } else {
            const __m512 e = _mm512_maskz_mov_ps(m, exp_avx512(x));
            vsum = _mm512_add_ps(vsum, e);
            _mm512_storeu_ps(s + (j - first), e);
        }
    }
    return 1.0f / _mm512_reduce_add_ps(vsum);
}

// Stores R x NB score vectors (scaled) at s and folds the visible ones into each row's running maximum.
template <int R, int NB>
inline void store_scores(__m512 (&acc)[R][NB], std::size_t j, float scale, const std::size_t* lo, const std::size_t* hi,
                         float* s, std::size_t s_stride, __m512* row_max) noexcept {
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int r = 0; r < R; ++r) {
        for (int b = 0; b < NB; ++b) {
            const __m512 v = _mm512_mul_ps(acc[r][b], vscale);
            _mm512_storeu_ps(s + r * s_stride + b * kLanes, v);
            row_max[r] = _mm512_mask_max_ps(row_max[r], lane_mask(j + b * kLanes, lo[r], hi[r]), row_max[r], v);
        }
    }
}

// ---- f32 ----

// Scores of R query rows against 16 * NB keys starting at key j: s[r][16 b + lane] = scale * q_r . k_{j + ...}.
template <int R, int NB, int D>
inline void scores_block(const float* const* q, const float* keys, std::size_t padded, std::size_t j, float scale,
                         const std::size_t* lo, const std::size_t* hi, float* s, std::size_t s_stride,
                         __m512* row_max) noexcept {
    __m512 acc[R][NB];
    for (int r = 0; r < R; ++r) {
        for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_setzero_ps();
    }
    for (int c = 0; c < D; ++c) {
        __m512 k[NB];
        for (int b = 0; b < NB; ++b) k[b] = _mm512_loadu_ps(keys + c * padded + j + b * kLanes);
        for (int r = 0; r < R; ++r) {
            const __m512 qc = _mm512_set1_ps(q[r][c]);
            for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_fmadd_ps(qc, k[b], acc[r][b]);
        }
    }
    store_scores<R, NB>(acc, j, scale, lo, hi, s, s_stride, row_max);
}

// ---- bf16 ----
#if defined(__AVX512BF16__)

inline __m512bh as_bf16(__m512i x) noexcept {
    return reinterpret_cast<__m512bh>(x);
}

// Scores of R query rows (bf16 channel pairs) against 16 * NB keys starting at key j.
template <int R, int NB, int D>
inline void scores_block(const std::uint32_t* const* q, const std::uint32_t* keys, std::size_t padded, std::size_t j,
                         float scale, const std::size_t* lo, const std::size_t* hi, float* s, std::size_t s_stride,
                         __m512* row_max) noexcept {
    __m512 acc[R][NB];
    for (int r = 0; r < R; ++r) {
        for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_setzero_ps();
    }
    for (int c = 0; c < D / 2; ++c) {
        __m512i k[NB];
        for (int b = 0; b < NB; ++b) k[b] = _mm512_loadu_si512(keys + c * padded + j + b * kLanes);
        for (int r = 0; r < R; ++r) {
            const __m512i qc = _mm512_set1_epi32(static_cast<int>(q[r][c]));
            for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_dpbf16_ps(acc[r][b], as_bf16(qc), as_bf16(k[b]));
        }
    }
    store_scores<R, NB>(acc, j, scale, lo, hi, s, s_stride, row_max);
}

// D floats to bf16, in place order (so consecutive pairs read as one 32-bit word).
template <int D>
inline void row_to_bf16(const float* x, std::uint16_t* y) noexcept {
    for (int c = 0; c < D; c += 16) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + c),
                            reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(x + c))));
    }
}

#endif  // __AVX512BF16__

// Scores of a block's R rows over keys [first, last) (multiples of 16 apart) into `scores` (row stride `padded`), NB
// key vectors a step, then one; `rows` and `keys` as scores_block takes them (f32, or bf16 pairs as 32-bit words).
template <int R, int NB, int D, typename Word>
inline void score_range(const Word* const* rows, const Word* keys, std::size_t padded, std::size_t first,
                        std::size_t last, float scale, const std::size_t* lo, const std::size_t* hi, float* scores,
                        __m512* row_max) noexcept {
    std::size_t j = first;
    for (; j + NB * kLanes <= last; j += NB * kLanes) {
        scores_block<R, NB, D>(rows, keys, padded, j, scale, lo, hi, scores + (j - first), padded, row_max);
    }
    for (; j < last; j += kLanes) {
        scores_block<R, 1, D>(rows, keys, padded, j, scale, lo, hi, scores + (j - first), padded, row_max);
    }
}

// Attention of one (sequence, head) with the products `P` asks for (bf16 ones need __AVX512BF16__).
template <int D, AttentionProducts P>
void attend(const float* q, std::size_t q_stride, const float* k, std::size_t k_stride, const float* v,
            std::size_t v_stride, std::size_t len, const AttentionShape& shape, FusedAttentionScratch& scratch,
            float* out, std::size_t out_stride, bool non_temporal) noexcept {
    constexpr bool kScoresBf16 = P == AttentionProducts::Bf16;
    constexpr bool kValuesBf16 = P != AttentionProducts::F32;
    constexpr int DV = D / 16;
    // Query rows per block and key vectors per score step: R x NB and R x DV accumulators, at most 16 of the 32
    // vector registers, the rest for operands.
    constexpr int R = DV <= 2 ? 8 : DV <= 4 ? 4 : 2;
    constexpr int NB = 16 / R < 4 ? 16 / R : 4;
    const std::size_t padded = round_up(len, kLanes);

    // Keys, column-major, zero beyond the last key: f32 K^T, or bf16 channel pairs as 32-bit words [c / 2][j].
    [[maybe_unused]] const float* keys_f32 = nullptr;
    [[maybe_unused]] const std::uint32_t* keys_bf16 = nullptr;
    [[maybe_unused]] const std::uint16_t* queries = nullptr;
    if constexpr (kScoresBf16) {
#if defined(__AVX512BF16__)
        scratch.keys_bf16.resize(D * padded);
        auto* keys = reinterpret_cast<std::uint32_t*>(scratch.keys_bf16.data());
        pack_keys(
            len, padded, D / 2,
            [&](std::size_t j, int block) {
                const float* row = k + j * k_stride + block * 2 * kLanes;
                // channels 32 block .. 32 block + 31 as 16 words of pairs, in order
                return reinterpret_cast<__m512i>(
                    _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + kLanes), _mm512_loadu_ps(row)));
            },
            keys);
        keys_bf16 = keys;
        // Q as bf16 rows, converted once here rather than per block (a block reading back words it has just stored
        // would wait on store forwarding).
        scratch.queries.resize(D * len);
        std::uint16_t* converted = scratch.queries.data();
        for (std::size_t i = 0; i < len; ++i) row_to_bf16<D>(q + i * q_stride, converted + i * D);
        queries = converted;
#endif
    } else {
        scratch.keys_f32.resize(D * padded);
        float* keys = scratch.keys_f32.data();
        pack_keys(
            len, padded, D,
            [&](std::size_t j, int block) { return _mm512_loadu_si512(k + j * k_stride + block * kLanes); },
            reinterpret_cast<std::uint32_t*>(keys));
        keys_f32 = keys;
    }
    // bf16 values as key pairs: 32-bit word [j / 2][c] = (v[j][c], v[j + 1][c]); zero beyond the last key (its
    // weight is zero, and 0 * NaN would not be).
    [[maybe_unused]] std::uint16_t* values = nullptr;
    [[maybe_unused]] std::uint16_t* weights = nullptr;
    if constexpr (kValuesBf16) {
#if defined(__AVX512BF16__)
        scratch.values.resize(D * padded);
        values = scratch.values.data();
        const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                    22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        for (std::size_t j = 0; j < padded; j += 2) {
            for (int c = 0; c < D; c += 16) {
                const __m512 a = j < len ? _mm512_loadu_ps(v + j * v_stride + c) : _mm512_setzero_ps();
                const __m512 b = j + 1 < len ? _mm512_loadu_ps(v + (j + 1) * v_stride + c) : _mm512_setzero_ps();
                // [a0..a15, b0..b15] -> [a0, b0, a1, b1, ...]
                const __m512i both = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(b, a));
                _mm512_storeu_si512(values + (j / 2 * D + c) * 2, _mm512_permutexvar_epi16(interleave, both));
            }
        }
        scratch.weights.resize(R * padded);
        weights = scratch.weights.data();
#endif
    }
    scratch.scores.resize(R * padded);
    float* scores = scratch.scores.data();

    for (std::size_t i0 = 0; i0 < len; i0 += R) {
        const std::size_t n = std::min<std::size_t>(R, len - i0);
        std::size_t lo[R], hi[R];
        std::size_t block_lo = len, block_hi = 0;
        for (std::size_t r = 0; r < R; ++r) {
            if (r >= n) {  // rows past the end see nothing
                lo[r] = hi[r] = 0;
                continue;
            }
            visible_keys(shape, i0 + r, len, lo[r], hi[r]);
            block_lo = std::min(block_lo, lo[r]);
            block_hi = std::max(block_hi, hi[r]);
        }
        const std::size_t first = block_lo / kLanes * kLanes;
        const std::size_t last = round_up(block_hi, kLanes);
        // Rows past the end repeat row i0 (computed, never stored).
        const auto row_of = [&](int r) { return i0 + (static_cast<std::size_t>(r) < n ? r : 0); };
        __m512 row_max[R];
        for (int r = 0; r < R; ++r) row_max[r] = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        if constexpr (kScoresBf16) {
#if defined(__AVX512BF16__)
            const std::uint32_t* rows[R];
            for (int r = 0; r < R; ++r) rows[r] = reinterpret_cast<const std::uint32_t*>(queries + row_of(r) * D);
            score_range<R, NB, D>(rows, keys_bf16, padded, first, last, shape.scale, lo, hi, scores, row_max);
#endif
        } else {
            const float* rows[R];
            for (int r = 0; r < R; ++r) rows[r] = q + row_of(r) * q_stride;
            score_range<R, NB, D>(rows, keys_f32, padded, first, last, shape.scale, lo, hi, scores, row_max);
        }

        float inv_sum[R];
        for (std::size_t r = 0; r < n; ++r) {
            inv_sum[r] = softmax_row<kValuesBf16>(scores + r * padded, kValuesBf16 ? weights + r * padded : nullptr,
                                                  first, last, lo[r], hi[r], row_max[r]);
        }

        // out_r = sum_j w_r[j] v_j over the block's keys (weights outside a row's range are zero).
        __m512 acc[R][DV];
        for (int r = 0; r < R; ++r) {
            for (int c = 0; c < DV; ++c) acc[r][c] = _mm512_setzero_ps();
        }
        if constexpr (kValuesBf16) {
#if defined(__AVX512BF16__)
            const std::uint16_t* w[R];
            for (int r = 0; r < R; ++r) w[r] = weights + (row_of(r) - i0) * padded;
            // Two keys per step: (w[j], w[j + 1]) . (v[j][c], v[j + 1][c]) for 16 channels c per instruction.
            for (std::size_t jj = first; jj < last; jj += 2) {
                __m512bh vj[DV];
                for (int c = 0; c < DV; ++c) {
                    vj[c] = as_bf16(_mm512_loadu_si512(values + (jj / 2 * D + c * kLanes) * 2));
                }
                for (int r = 0; r < R; ++r) {
                    std::uint32_t pair;
                    std::memcpy(&pair, w[r] + (jj - first), sizeof(pair));
                    const __m512bh wp = as_bf16(_mm512_set1_epi32(static_cast<int>(pair)));
                    for (int c = 0; c < DV; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wp, vj[c]);
                }
            }
#endif
        } else {
            const float* w[R];
            for (int r = 0; r < R; ++r) w[r] = scores + (row_of(r) - i0) * padded;
            const std::size_t stop = std::min(last, len);
            for (std::size_t jj = first; jj < stop; ++jj) {
                __m512 vj[DV];
                for (int c = 0; c < DV; ++c) vj[c] = _mm512_loadu_ps(v + jj * v_stride + c * kLanes);
                for (int r = 0; r < R; ++r) {
                    const __m512 wr = _mm512_set1_ps(w[r][jj - first]);
                    for (int c = 0; c < DV; ++c) acc[r][c] = _mm512_fmadd_ps(wr, vj[c], acc[r][c]);
                }
            }
        }
        for (std::size_t r = 0; r < n; ++r) {
            const __m512 inv = _mm512_set1_ps(inv_sum[r]);
            for (int c = 0; c < DV; ++c) {
                float* o = out + (i0 + r) * out_stride + c * kLanes;
                if (non_temporal) {
                    _mm512_stream_ps(o, _mm512_mul_ps(acc[r][c], inv));
                } else {
                    _mm512_storeu_ps(o, _mm512_mul_ps(acc[r][c], inv));
                }
            }
        }
    }
    if (non_temporal) non_temporal_fence();  // the task's stores are visible before the loop's barrier
}

}  // namespace

bool fused_attention_supported(std::size_t head_dim, AttentionProducts products) noexcept {
    if (head_dim != 32 && head_dim != 64 && head_dim != 128) return false;
    if (products == AttentionProducts::F32) return true;
#if defined(__AVX512BF16__)
    return cpu_has_bf16();
#else
    return false;
#endif
}

namespace {
template <AttentionProducts P>
void attend_head_dim(const float* q, std::size_t q_stride, const float* k, std::size_t k_stride, const float* v,
                     std::size_t v_stride, std::size_t len, const AttentionShape& shape, FusedAttentionScratch& scratch,
                     float* out, std::size_t out_stride, bool non_temporal) noexcept {
    switch (shape.head_dim) {
    case 32:
        return attend<32, P>(q, q_stride, k, k_stride, v, v_stride, len, shape, scratch, out, out_stride, non_temporal);
    case 64:
        return attend<64, P>(q, q_stride, k, k_stride, v, v_stride, len, shape, scratch, out, out_stride, non_temporal);
    default:
        return attend<128, P>(q, q_stride, k, k_stride, v, v_stride, len, shape, scratch, out, out_stride,
                              non_temporal);
    }
}
}  // namespace

void fused_attend(const float* q, std::size_t q_stride, const float* k, std::size_t k_stride, const float* v,
                  std::size_t v_stride, std::size_t len, const AttentionShape& shape, AttentionProducts products,
                  FusedAttentionScratch& scratch, float* out, std::size_t out_stride, bool non_temporal) noexcept {
    // Non-temporal stores write whole 64-byte lines: each head's slice of a row is one or more aligned lines.
    non_temporal =
        non_temporal && reinterpret_cast<std::uintptr_t>(out) % 64 == 0 && (out_stride * sizeof(float)) % 64 == 0;
    switch (products) {
#if defined(__AVX512BF16__)
    case AttentionProducts::Bf16:
        return attend_head_dim<AttentionProducts::Bf16>(q, q_stride, k, k_stride, v, v_stride, len, shape, scratch, out,
                                                        out_stride, non_temporal);
    case AttentionProducts::Bf16Values:
        return attend_head_dim<AttentionProducts::Bf16Values>(q, q_stride, k, k_stride, v, v_stride, len, shape,
                                                              scratch, out, out_stride, non_temporal);
#endif
    default:
        return attend_head_dim<AttentionProducts::F32>(q, q_stride, k, k_stride, v, v_stride, len, shape, scratch, out,
                                                       out_stride, non_temporal);
    }
}

#else  // no AVX-512: attention_varlen keeps its GEMM path

bool fused_attention_supported(std::size_t, AttentionProducts) noexcept {
    return false;
}

void fused_attend(const float*, std::size_t, const float*, std::size_t, const float*, std::size_t, std::size_t,
                  const AttentionShape&, AttentionProducts, FusedAttentionScratch&, float*, std::size_t,
                  bool) noexcept {}

#endif

}  // namespace winnow
