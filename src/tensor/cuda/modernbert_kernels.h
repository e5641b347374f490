// Internal: the CUDA kernels ModernBERT needs beyond cuda_kernels.h (built with WINNOW_HAVE_CUDA only),
// callable from plain C++ (no CUDA types in this header). Activations are row-major [tokens x features]
// matrices of an unpadded batch (sequence s is rows cu_seqlens[s]..cu_seqlens[s+1]) in the model's
// storage type (DeviceType), except the residual stream, which stays f32 (as on the CPU, where only the
// GEMMs' inputs are rounded to bf16); every kernel computes in f32. Each launcher enqueues on `stream` and
// returns at once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/cuda/cuda_kernels.h"  // DeviceType, Stream, Activation

namespace winnow::cuda {

// out[t] = LayerNorm(table[ids[t]]) in f32 (beta may be null). Table, gamma and beta in f32.
void embedding_layernorm(const std::int32_t* ids, const float* table, const float* gamma, const float* beta, float eps,
                         std::size_t tokens, std::size_t hidden, float* out, Stream stream);

// The pre-norm residual step: residual += y + bias (y in `type`; y null: residual unchanged; bias may be null),
// then out = LayerNorm(residual) in `out_type` (gamma null: out = residual, converted; beta may be null). out may
// alias residual when out_type is F32.
void residual_layernorm(const void* y, const float* bias, float* residual, const float* gamma, const float* beta,
                        float eps, std::size_t rows, std::size_t cols, void* out, DeviceType type, DeviceType out_type,
                        Stream stream);

// Rotary position embeddings on qkv [tokens x 3H] (queries | keys | values, head h at columns h*head_dim of
// each third) in place: bias [3H] (may be null) is added to all three thirds first, then each query and key
// head is rotated "rotate half" style with RopeTable's tables (cos_table, sin_table: [max_positions x
// head_dim/2] f32) at position positions[t] (the token's index within its sequence):
//   x'[c] = x[c] cos - x[c + d/2] sin,  x'[c + d/2] = x[c + d/2] cos + x[c] sin   (c < d/2).
// head_dim must be even (an odd one throws).
void rotary_qkv(void* qkv, const float* bias, const std::int32_t* positions, const float* cos_table,
                const float* sin_table, std::size_t tokens, std::size_t n_heads, std::size_t head_dim, DeviceType type,
                Stream stream);

// Gated units (GeGLU): out[r, i] = act(x[r, i] + bias[i]) * (x[r, cols + i] + bias[cols + i]) for x
// [rows x 2*cols] ([input | gate] per row), out [rows x cols]; bias [2*cols] may be null.
void gated_activation(const void* x, const float* bias, std::size_t rows, std::size_t cols, Activation activation,
                      void* out, DeviceType type, Stream stream);

// out[s] = the mean of the f32 rows of sequence s (mean) or its first row, in `type`: the head's pooling.
// The mean sums the rows in order and multiplies by 1/length, as the CPU does.
void pool_sequences(const float* hidden, const std::int32_t* cu_seqlens, std::size_t n_sequences, std::size_t cols,
                    bool mean, void* out, DeviceType type, Stream stream);

}  // namespace winnow::cuda
