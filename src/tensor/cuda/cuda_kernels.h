// Internal: the CUDA kernels of the GPU encoders (built with WINNOW_HAVE_CUDA only), callable from
// plain C++ (no CUDA types in this header). Activations are row-major [tokens x features] matrices of
// an unpadded batch (sequence s is rows cu_seqlens[s]..cu_seqlens[s+1]) in the model's storage type
// (DeviceType); every kernel computes in f32. Each launcher enqueues on `stream` and returns at once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/kernels.h"  // Activation

struct CUstream_st;

namespace winnow::cuda {

using Stream = CUstream_st*;

// The storage type of weights and activations on the device.
enum class DeviceType { F32, Bf16, F16 };
std::size_t type_size(DeviceType type) noexcept;

// dst[i] = (T) src[i]
void convert_from_f32(const float* src, void* dst, std::size_t n, DeviceType type, Stream stream);
// dst[i] = (float) src[i] (+ bias[i % cols] when bias)
void convert_to_f32(const void* src, float* dst, std::size_t rows, std::size_t cols, const float* bias,
                    DeviceType type, Stream stream);

// out[t] = LayerNorm(word[ids[t]] + position[positions[t]] + token_type[type_ids[t]]) (token_type may be null:
// none; type_ids null: all 0). Tables, gamma and beta in f32.
void embeddings_layernorm(const std::int32_t* ids, const std::int32_t* positions, const std::int32_t* type_ids,
                          const float* word, const float* position, const float* token_type, const float* gamma,
                          const float* beta, float eps, std::size_t tokens, std::size_t hidden, void* out,
                          DeviceType type, Stream stream);

// out = LayerNorm(x + bias + residual) row by row (bias, residual and beta may be null; out may alias x or
// residual).
void bias_residual_layernorm(const void* x, const float* bias, const void* residual, const float* gamma,
                             const float* beta, float eps, std::size_t rows, std::size_t cols, void* out,
                             DeviceType type, Stream stream);

// x = act(x + bias) in place (bias may be null).
void bias_activation(void* x, const float* bias, std::size_t rows, std::size_t cols, Activation activation,
                     DeviceType type, Stream stream);

// Multi-head self-attention over an unpadded batch, every token of a sequence attending to every token of
// that sequence (no mask beyond the sequence). qkv: [tokens x 3H] (queries, keys, values stacked per row,
// head h at columns h*head_dim of each third) with qkv_bias [3H] (may be null) added on load; out: [tokens x H].
// window > 0: query i sees keys j with |i - j| <= window only (ModernBERT's local layers). head_dim is at
// most 128 (more throws). bf16/fp16 run on the tensor cores (f32 scores and softmax, probabilities in the
// storage type); f32 on the CUDA cores, all in f32.
//
// Three kernels compute it. Registers (the default for bf16/fp16 with a head size of 16, 32 or 64 and a longest
// sequence whose keys and values fit in shared memory): one block per (sequence, head) stages the sequence's keys
// and values once; each warp owns 16 queries at a time and keeps S, P and O in mma.sync fragments. Tiles (WMMA,
// bf16/fp16, any head size): 64 queries per block, S, P and O through shared memory. Cores (f32, or asked): one
// query per thread on the CUDA cores. `kernel` Auto picks, or WINNOW_CUDA_ATTENTION=registers|tiles|cores (read
// once) names one; a kernel that cannot run the case (Registers on f32 or a large head) yields to the next.
enum class AttentionKernel { Auto, Registers, Tiles, Cores };
void attention_varlen(const void* qkv, const float* qkv_bias, const std::int32_t* cu_seqlens, std::size_t n_sequences,
                      std::size_t max_length, std::size_t n_heads, std::size_t head_dim, float scale, void* out,
                      DeviceType type, Stream stream, std::size_t window = 0,
                      AttentionKernel kernel = AttentionKernel::Auto);

// dst[s] = src[cu_seqlens[s]] for each sequence: the first token's row.
void gather_first_rows(const void* src, const std::int32_t* cu_seqlens, std::size_t n_sequences, std::size_t cols,
                       void* dst, DeviceType type, Stream stream);

}  // namespace winnow::cuda
