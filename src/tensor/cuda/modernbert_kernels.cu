// ModernBERT's kernels on the GPU (modernbert_kernels.h says what each computes): embeddings + LayerNorm
// without position tables, the pre-norm residual step (residual add in f32, then the next LayerNorm into
// the GEMM's input), rotary embeddings on the query and key heads with the projection bias folded in,
// GeGLU and the head's mean / first-token pooling. All arithmetic is f32, whatever the storage type; the
// formulas and summation orders are those of the CPU kernels (tensor/kernels.cpp, RopeTable::apply).
#include "tensor/cuda/modernbert_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/device_math.cuh"

namespace winnow::cuda {

namespace {

__global__ void embedding_layernorm_kernel(const std::int32_t* ids, const float* table, const float* gamma,
                                           const float* beta, float eps, int hidden, float* out) {
    extern __shared__ float shared[];
    float* v = shared;
    float* scratch = shared + hidden;
    const std::size_t t = blockIdx.x;
    const float* row = table + static_cast<std::size_t>(ids[t]) * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) v[i] = row[i];
    layernorm_row(v, hidden, gamma, beta, eps, out + t * hidden, scratch);
}

// One block per row. No __restrict__: out may alias residual.
template <class T, class U>
__global__ void residual_layernorm_kernel(const T* y, const float* bias, float* residual, const float* gamma,
                                          const float* beta, float eps, int cols, U* out) {
    extern __shared__ float shared[];
    float* v = shared;
    float* scratch = shared + cols;
    const std::size_t row = static_cast<std::size_t>(blockIdx.x) * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float r = residual[row + i];
        if (y != nullptr) {
            // x += (x W^T + b): the bias joins the GEMM's output first, as in the CPU's Linear.
            float a = to_f(y[row + i]);
            if (bias != nullptr) a += bias[i];
            r += a;
            residual[row + i] = r;
        }
        v[i] = r;
    }
    if (gamma == nullptr) {  // the same for every thread of the block
        for (int i = threadIdx.x; i < cols; i += blockDim.x) out[row + i] = from_f<U>(v[i]);
        return;
    }
    layernorm_row(v, cols, gamma, beta, eps, out + row, scratch);
}

// One block per token; thread i handles rotation pair i of the token's query and key heads (hidden pairs:
// n_heads * half per third), then the value third's bias.
template <class T>
__global__ void rotary_qkv_kernel(T* qkv, const float* bias, const std::int32_t* positions, const float* cos_table,
                                  const float* sin_table, int n_heads, int head_dim) {
    const int hidden = n_heads * head_dim, half = head_dim / 2, per_third = n_heads * half;
    const std::size_t t = blockIdx.x;
    T* row = qkv + t * 3 * static_cast<std::size_t>(hidden);
    const float* cs = cos_table + static_cast<std::size_t>(positions[t]) * half;
    const float* sn = sin_table + static_cast<std::size_t>(positions[t]) * half;
    for (int i = threadIdx.x; i < 2 * per_third; i += blockDim.x) {
        const int third = i / per_third, rest = i % per_third;
        const int h = rest / half, c = rest % half;
        const int lo = third * hidden + h * head_dim + c, hi = lo + half;
        float a = to_f(row[lo]);
        float b = to_f(row[hi]);
        if (bias != nullptr) {
            a += bias[lo];
            b += bias[hi];
        }
        row[lo] = from_f<T>(a * cs[c] - b * sn[c]);
        row[hi] = from_f<T>(b * cs[c] + a * sn[c]);
    }
    if (bias != nullptr) {
        for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
            row[2 * hidden + i] = from_f<T>(to_f(row[2 * hidden + i]) + bias[2 * hidden + i]);
        }
    }
}

template <class T>
__global__ void gated_activation_kernel(const T* x, const float* bias, std::size_t n, int cols, Activation activation,
                                        T* out) {
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
        const std::size_t r = i / cols;
        const int c = static_cast<int>(i % cols);
        const T* in = x + r * 2 * cols;
        float input = to_f(in[c]);
        float gate = to_f(in[cols + c]);
        if (bias != nullptr) {
            input += bias[c];
            gate += bias[cols + c];
        }
        out[i] = from_f<T>(activate(input, activation) * gate);
    }
}

// One block per sequence, one thread per column: each column's rows summed in order (the CPU's loop).
template <class T>
__global__ void pool_sequences_kernel(const float* hidden, const std::int32_t* cu_seqlens, int cols, bool mean,
                                      T* out) {
    const std::size_t s = blockIdx.x;
    const std::size_t begin = cu_seqlens[s], end = cu_seqlens[s + 1];
    const float inverse = 1.0f / static_cast<float>(end - begin);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float v;
        if (mean) {
            v = 0.0f;
            for (std::size_t t = begin; t < end; ++t) v += hidden[t * cols + c];
            v *= inverse;
        } else {
            v = hidden[begin * cols + c];
        }
        out[s * cols + c] = from_f<T>(v);
    }
}

unsigned grid_for(std::size_t n, int threads) {
    const std::size_t blocks = (n + threads - 1) / threads;
    return static_cast<unsigned>(blocks < 65535 * 16 ? (blocks == 0 ? 1 : blocks) : 65535 * 16);
}

// Threads for a one-block-per-row kernel over `cols` values: whole warps, at most 256.
int row_threads(std::size_t cols) {
    return static_cast<int>(std::min<std::size_t>(256, std::max<std::size_t>(32, (cols + 31) / 32 * 32)));
}

std::size_t row_shared_bytes(std::size_t cols) { return (cols + 32) * sizeof(float); }

}  // namespace

void embedding_layernorm(const std::int32_t* ids, const float* table, const float* gamma, const float* beta, float eps,
                         std::size_t tokens, std::size_t hidden, float* out, Stream stream) {
    if (tokens == 0) return;
    embedding_layernorm_kernel<<<static_cast<unsigned>(tokens), row_threads(hidden), row_shared_bytes(hidden),
                                 stream>>>(ids, table, gamma, beta, eps, static_cast<int>(hidden), out);
    check_launch("embedding_layernorm");
}

void residual_layernorm(const void* y, const float* bias, float* residual, const float* gamma, const float* beta,
                        float eps, std::size_t rows, std::size_t cols, void* out, DeviceType type,
                        DeviceType out_type, Stream stream) {
    if (rows == 0) return;
    const unsigned blocks = static_cast<unsigned>(rows);
    const int threads = row_threads(cols);
    const std::size_t shared = row_shared_bytes(cols);
    WINNOW_CUDA_DISPATCH_AS(type, T,
                       WINNOW_CUDA_DISPATCH_AS(out_type, U,
                                          residual_layernorm_kernel<T, U><<<blocks, threads, shared, stream>>>(
                                              static_cast<const T*>(y), bias, residual, gamma, beta, eps,
                                              static_cast<int>(cols), static_cast<U*>(out))));
    check_launch("residual_layernorm");
}

void rotary_qkv(void* qkv, const float* bias, const std::int32_t* positions, const float* cos_table,
                const float* sin_table, std::size_t tokens, std::size_t n_heads, std::size_t head_dim, DeviceType type,
                Stream stream) {
    if (head_dim % 2 != 0) check(static_cast<int>(cudaErrorInvalidValue), "rotary_qkv: the head size must be even");
    if (tokens == 0) return;
    const int threads = row_threads(n_heads * head_dim);
    WINNOW_CUDA_DISPATCH_AS(type, T,
                       rotary_qkv_kernel<T><<<static_cast<unsigned>(tokens), threads, 0, stream>>>(
                           static_cast<T*>(qkv), bias, positions, cos_table, sin_table, static_cast<int>(n_heads),
                           static_cast<int>(head_dim)));
    check_launch("rotary_qkv");
}

void gated_activation(const void* x, const float* bias, std::size_t rows, std::size_t cols, Activation activation,
                      void* out, DeviceType type, Stream stream) {
    const std::size_t n = rows * cols;
    if (n == 0) return;
    WINNOW_CUDA_DISPATCH_AS(type, T,
                       gated_activation_kernel<T><<<grid_for(n, 256), 256, 0, stream>>>(
                           static_cast<const T*>(x), bias, n, static_cast<int>(cols), activation,
                           static_cast<T*>(out)));
    check_launch("gated_activation");
}

void pool_sequences(const float* hidden, const std::int32_t* cu_seqlens, std::size_t n_sequences, std::size_t cols,
                    bool mean, void* out, DeviceType type, Stream stream) {
    if (n_sequences == 0) return;
    WINNOW_CUDA_DISPATCH_AS(type, T,
                       pool_sequences_kernel<T><<<static_cast<unsigned>(n_sequences), row_threads(cols), 0, stream>>>(
                           hidden, cu_seqlens, static_cast<int>(cols), mean, static_cast<T*>(out)));
    check_launch("pool_sequences");
}

}  // namespace winnow::cuda
