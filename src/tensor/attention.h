// Multi-head scaled dot-product attention over an unpadded variable-length batch: the rows of all
// sequences are concatenated and cu_seqlens[s]..cu_seqlens[s+1] are the rows of sequence s. Each
// sequence attends only to itself, so no padding is computed and results do not depend on what
// else is in the batch. Supports grouped-query attention (n_kv_heads < n_heads), bidirectional
// sliding windows (ModernBERT local layers) and causal masks (decoders).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "winnow/device.h"

namespace winnow {

struct AttentionShape {
    std::size_t n_heads = 0;
    std::size_t n_kv_heads = 0;  // query head h reads key/value head h / (n_heads / n_kv_heads)
    std::size_t head_dim = 0;
    float scale = 1.0f;          // usually 1 / sqrt(head_dim)
    std::size_t window = 0;      // > 0: query i sees keys j with |i - j| <= window only
    bool causal = false;         // query i sees keys j <= i only
    // The model's precision, which picks the attention products (attention_fused.h): Fp32 computes in f32; Bf16
    // uses bf16 dot products (AVX512-BF16) for Q K^T and P V; Int8 for P V only.
    Precision precision = Precision::Fp32;
};

// The keys query i of a `len`-row sequence sees: [lo, hi).
inline void visible_keys(const AttentionShape& shape, std::size_t i, std::size_t len, std::size_t& lo,
                         std::size_t& hi) noexcept {
    lo = 0;
    hi = len;
    if (shape.window > 0) {
        lo = i > shape.window ? i - shape.window : 0;
        hi = len < i + shape.window + 1 ? len : i + shape.window + 1;
    }
    if (shape.causal && i + 1 < hi) hi = i + 1;
}

// A view of one projection: row t, head h starts at data + t * stride + h * head_dim.
struct HeadsView {
    const float* data = nullptr;
    std::size_t stride = 0;
};

// out[t, h * head_dim + c] for every token t and query head h; out has `out_stride` floats a row.
void attention_varlen(HeadsView q, HeadsView k, HeadsView v, std::span<const std::uint32_t> cu_seqlens, float* out,
                      std::size_t out_stride, const AttentionShape& shape);

// The attention output of each sequence's first query row only (what a head reading the first token needs): q row s
// is the query of sequence s's first token, out row s (out_stride floats) its output, every query head; keys and
// values as attention_varlen takes them. Computed in f32 whatever shape.precision says (one row per sequence: a
// negligible cost).
void attention_first_tokens(HeadsView q, HeadsView k, HeadsView v, std::span<const std::uint32_t> cu_seqlens,
                            float* out, std::size_t out_stride, const AttentionShape& shape);

// Rotary position embeddings (the "rotate half" layout of HF Llama/ModernBERT/Qwen): for pair
// (c, c + d/2) of each head, x' = x * cos(p * f_c) -+ x_other * sin(p * f_c), f_c = theta^(-2c/d).
class RopeTable {
public:
    RopeTable() = default;
    RopeTable(std::size_t head_dim, std::size_t max_positions, double theta);

    // Rotates n_heads heads of every row in place; positions restart at 0 for each sequence.
    void apply(float* x, std::size_t stride, std::size_t n_heads, std::span<const std::uint32_t> cu_seqlens) const;

    std::size_t head_dim() const noexcept { return head_dim_; }
    std::size_t max_positions() const noexcept { return max_positions_; }
    // The tables apply() reads, [max_positions x head_dim / 2] each (the CUDA ModernBERT uploads them).
    std::span<const float> cos_table() const noexcept { return cos_; }
    std::span<const float> sin_table() const noexcept { return sin_; }

private:
    std::size_t head_dim_ = 0;
    std::size_t max_positions_ = 0;
    std::vector<float> cos_;  // [max_positions x head_dim / 2]
    std::vector<float> sin_;
};

}  // namespace winnow
