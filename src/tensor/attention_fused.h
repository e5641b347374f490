// Internal: register-blocked AVX-512 attention for one (sequence, head), used by attention_varlen for the head
// sizes of the encoders we serve (32, 64, 128). Scores, softmax and the weighted sum of values are computed
// block by block in registers and one small per-thread buffer, with no GEMM library call: at head_dim 32 a
// library GEMM spends more time packing its operands than multiplying them. Products in f32 (the fp32
// precision; matches the reference to f32 rounding) or, where asked, with AVX512-BF16 dot products (twice the
// f32 rate) on operands rounded to bf16.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tensor/attention.h"

namespace winnow {

// Per-thread buffers, grown to the longest sequence and kept across calls.
struct FusedAttentionScratch {
    std::vector<float> keys_f32;           // K^T: [head_dim][padded len]
    std::vector<std::uint16_t> keys_bf16;  // K as bf16 pairs of channels: [head_dim / 2][padded len][2]
    std::vector<std::uint16_t> values;     // V as bf16 pairs of keys: [padded len / 2][head_dim][2]
    std::vector<std::uint16_t> queries;    // Q as bf16: [len][head_dim]
    std::vector<float> scores;             // [rows per block][padded len]
    std::vector<std::uint16_t> weights;    // softmax weights as bf16: [rows per block][padded len]
};

// Which products run in bf16 (AVX512-BF16 dot products, f32 accumulation): none, P V only, or Q K^T and P V.
// Rounding Q and K moves each score by about 2^-8 of its size, the largest error of the three; P and V rounding
// moves outputs by about 2^-9 of theirs.
enum class AttentionProducts { F32, Bf16Values, Bf16 };

// Whether the fused kernel runs this head size with these products in this build on this CPU.
bool fused_attention_supported(std::size_t head_dim, AttentionProducts products) noexcept;

// Attention of one query head over one sequence of `len` rows: same contract as attention_varlen for a single
// (sequence, head), with q/k/v/out pointing at that head's first row. Needs fused_attention_supported.
// non_temporal: write `out` with non-temporal stores where aligned (an output too large to stay in cache); the
// caller issues the store fence before anything reads it.
void fused_attend(const float* q, std::size_t q_stride, const float* k, std::size_t k_stride, const float* v,
                  std::size_t v_stride, std::size_t len, const AttentionShape& shape, AttentionProducts products,
                  FusedAttentionScratch& scratch, float* out, std::size_t out_stride, bool non_temporal) noexcept;

}  // namespace winnow
