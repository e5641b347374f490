// Internal: register-blocked AVX-512 attention for one (sequence, head), used by attention_varlen for the head
// sizes of the encoders we serve (32, 64, 128). Scores, softmax and the weighted sum of values are computed
// block by block in registers and one small per-thread buffer, with no GEMM library call: at head_dim 32 a
// library GEMM spends more time packing its operands than multiplying them. Two flavours:
//  - f32: products and sums in f32 (the fp32 precision; matches the reference to f32 rounding);
//  - bf16: Q, K, V and the softmax weights rounded to bf16 and multiplied with AVX512-BF16 dot products
//    (f32 accumulation), twice the f32 rate, for models running in bf16 or int8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tensor/attention.h"

namespace winnow {

// Per-thread buffers, grown to the longest sequence and kept across calls.
struct FusedAttentionScratch {
    std::vector<float> keys_f32;          // K^T: [head_dim][padded len]
    std::vector<std::uint16_t> keys_bf16;  // K as bf16 pairs of channels: [head_dim / 2][padded len][2]
    std::vector<std::uint16_t> values;    // V as bf16 pairs of keys: [padded len / 2][head_dim][2]
    std::vector<std::uint16_t> queries;   // Q as bf16: [len][head_dim]
    std::vector<float> scores;            // [rows per block][padded len]
    std::vector<std::uint16_t> weights;   // softmax weights as bf16: [rows per block][padded len]
};

// Whether the fused kernel runs this head size in this build on this CPU (bf16: also needs AVX512-BF16).
bool fused_attention_supported(std::size_t head_dim, bool bf16) noexcept;

// Attention of one query head over one sequence of `len` rows: same contract as attention_varlen for a single
// (sequence, head), with q/k/v/out pointing at that head's first row. Needs fused_attention_supported.
void fused_attend(const float* q, std::size_t q_stride, const float* k, std::size_t k_stride, const float* v,
                  std::size_t v_stride, std::size_t len, const AttentionShape& shape, bool bf16,
                  FusedAttentionScratch& scratch, float* out, std::size_t out_stride) noexcept;

}  // namespace winnow
