// Kernels of decoder-only (causal) language models that the encoder kernels do not cover:
// rotary embeddings at explicit positions (a continuation starts after a cached prefix), causal
// attention over an unpadded batch whose sequences all continue one shared cached prefix, and the
// tied/untied LM head restricted to the rows actually needed (last positions, a few token ids).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tensor/attention.h"
#include "tensor/tensor.h"

namespace winnow {

// cos/sin of the rotary angles for one position per row ("rotate half" layout, as HF Llama/Qwen):
// row r rotates pair (c, c + d/2) by positions[r] * theta^(-2c/d), computed in f32 like the
// reference.
class RotaryAngles {
public:
    RotaryAngles(std::size_t head_dim, double theta, std::span<const std::uint32_t> positions);

    // Rotates n_heads heads of each of the rows (one per position given) in place.
    void apply(float* x, std::size_t stride, std::size_t n_heads) const;

    std::size_t rows() const noexcept { return rows_; }

private:
    std::size_t head_dim_ = 0;
    std::size_t rows_ = 0;
    std::vector<float> cos_;  // [rows x head_dim / 2]
    std::vector<float> sin_;
};

// Keys and values of a shared prefix: position j of kv head h starts at data + j * stride + h * head_dim.
struct PrefixKv {
    const float* keys = nullptr;
    const float* values = nullptr;
    std::size_t stride = 0;
    std::size_t length = 0;  // 0: no prefix
};

// Causal attention where every sequence s of the batch (rows cu_seqlens[s]..cu_seqlens[s+1])
// continues `prefix`: its query i sees the prefix's keys and its own keys 0..i. shape.causal and
// shape.window are ignored (always causal, no window). Grouped-query attention as attention_varlen.
void decoder_attention(HeadsView q, HeadsView k, HeadsView v, std::span<const std::uint32_t> cu_seqlens,
                       const PrefixKv& prefix, float* out, std::size_t out_stride, const AttentionShape& shape);

// RMSNorm of each head of each row in place (Qwen3's q/k norms): rows x n_heads vectors of
// head_dim values, row r at x + r * stride, all scaled by the same gamma [head_dim].
void rms_norm_heads(float* x, std::size_t rows, std::size_t stride, std::size_t n_heads, std::size_t head_dim,
                    const float* gamma, float eps) noexcept;

// out[v] = dot(hidden, table[v]) for every row v of table ([vocab x dim]); out has table.rows().
void lm_head_row(const float* hidden, const Tensor& table, float* out) noexcept;
// dot(hidden, table[token]) for one token.
float lm_head_logit(const float* hidden, const Tensor& table, std::int32_t token) noexcept;

}  // namespace winnow
