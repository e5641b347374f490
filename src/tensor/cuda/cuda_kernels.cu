// The GPU encoders' own kernels (cuda_kernels.h says what each computes). Ours because no library has
// them in this shape: attention over an unpadded batch given cu_seqlens with the projection bias folded
// into the loads, and the element-wise stages fused around the cuBLASLt GEMMs (bias + activation,
// bias + residual + LayerNorm, embeddings + LayerNorm). All arithmetic is f32, whatever the storage type.
#include "tensor/cuda/cuda_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>

#include "tensor/cuda/cuda_check.h"

namespace winnow::cuda {

namespace {

template <class T>
__device__ __forceinline__ float to_f(T v);
template <>
__device__ __forceinline__ float to_f<float>(float v) { return v; }
template <>
__device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }
template <>
__device__ __forceinline__ float to_f<__half>(__half v) { return __half2float(v); }

template <class T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }

// Runs `body` with T bound to the storage type.
#define WINNOW_CUDA_DISPATCH(type, ...)  \
    switch (type) {                      \
        case DeviceType::F32: {          \
            using T = float;             \
            __VA_ARGS__;                 \
            break;                       \
        }                                \
        case DeviceType::Bf16: {         \
            using T = __nv_bfloat16;     \
            __VA_ARGS__;                 \
            break;                       \
        }                                \
        case DeviceType::F16: {          \
            using T = __half;            \
            __VA_ARGS__;                 \
            break;                       \
        }                                \
    }

constexpr int kRowThreads = 256;  // threads per row in the row-wise kernels (LayerNorm)

// The sum of v over the block; `scratch` holds 32 floats. Every thread gets the total.
__device__ float block_sum(float v, float* scratch) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();  // scratch may still be read from the previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        const int warps = (blockDim.x + 31) >> 5;
        float t = lane < warps ? scratch[lane] : 0.0f;
        for (int offset = 16; offset > 0; offset >>= 1) t += __shfl_xor_sync(0xffffffffu, t, offset);
        if (lane == 0) scratch[0] = t;
    }
    __syncthreads();
    return scratch[0];
}

// out = LayerNorm(v) * gamma + beta for one row held in shared memory `v` (each thread reads only the
// elements it wrote, so no barrier is needed before the call).
template <class T>
__device__ void layernorm_row(const float* v, int cols, const float* gamma, const float* beta, float eps, T* out,
                              float* scratch) {
    float sum = 0.0f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) sum += v[i];
    const float mean = block_sum(sum, scratch) / static_cast<float>(cols);
    float squares = 0.0f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        const float d = v[i] - mean;
        squares += d * d;
    }
    const float variance = block_sum(squares, scratch) / static_cast<float>(cols);
    const float inverse = 1.0f / sqrtf(variance + eps);
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        out[i] = from_f<T>((v[i] - mean) * inverse * gamma[i] + (beta != nullptr ? beta[i] : 0.0f));
    }
}

template <class T>
__global__ void embeddings_layernorm_kernel(const std::int32_t* ids, const std::int32_t* positions,
                                            const std::int32_t* type_ids, const float* word, const float* position,
                                            const float* token_type, const float* gamma, const float* beta, float eps,
                                            int hidden, T* out) {
    extern __shared__ float shared[];
    float* v = shared;
    float* scratch = shared + hidden;
    const std::size_t t = blockIdx.x;
    const float* w = word + static_cast<std::size_t>(ids[t]) * hidden;
    const float* p = position + static_cast<std::size_t>(positions[t]) * hidden;
    const float* y = token_type == nullptr
                         ? nullptr
                         : token_type + static_cast<std::size_t>(type_ids == nullptr ? 0 : type_ids[t]) * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        float x = w[i] + p[i];
        if (y != nullptr) x += y[i];
        v[i] = x;
    }
    layernorm_row(v, hidden, gamma, beta, eps, out + t * hidden, scratch);
}

template <class T>
__global__ void bias_residual_layernorm_kernel(const T* x, const float* bias, const T* residual, const float* gamma,
                                               const float* beta, float eps, int cols, T* out) {
    extern __shared__ float shared[];
    float* v = shared;
    float* scratch = shared + cols;
    const std::size_t row = static_cast<std::size_t>(blockIdx.x) * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float s = to_f(x[row + i]);
        if (bias != nullptr) s += bias[i];
        v[i] = s + to_f(residual[row + i]);
    }
    layernorm_row(v, cols, gamma, beta, eps, out + row, scratch);
}

__device__ __forceinline__ float activate(float x, Activation activation) {
    switch (activation) {
        case Activation::Gelu:
            return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
        case Activation::GeluTanh:
            return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
        case Activation::Relu:
            return fmaxf(x, 0.0f);
        case Activation::Silu:
            return x / (1.0f + expf(-x));
        case Activation::Tanh:
            return tanhf(x);
        case Activation::None:
            break;
    }
    return x;
}

template <class T>
__global__ void bias_activation_kernel(T* x, const float* bias, std::size_t n, int cols, Activation activation) {
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
        float v = to_f(x[i]);
        if (bias != nullptr) v += bias[i % cols];
        x[i] = from_f<T>(activate(v, activation));
    }
}

__global__ void convert_from_f32_kernel(const float* src, void* dst, std::size_t n, DeviceType type) {
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
        switch (type) {
            case DeviceType::F32:
                static_cast<float*>(dst)[i] = src[i];
                break;
            case DeviceType::Bf16:
                static_cast<__nv_bfloat16*>(dst)[i] = __float2bfloat16_rn(src[i]);
                break;
            case DeviceType::F16:
                static_cast<__half*>(dst)[i] = __float2half_rn(src[i]);
                break;
        }
    }
}

template <class T>
__global__ void convert_to_f32_kernel(const T* src, float* dst, std::size_t n, int cols, const float* bias) {
    for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
        dst[i] = to_f(src[i]) + (bias != nullptr ? bias[i % cols] : 0.0f);
    }
}

template <class T>
__global__ void gather_first_rows_kernel(const T* src, const std::int32_t* cu_seqlens, int cols, T* dst) {
    const std::size_t s = blockIdx.x;
    const T* from = src + static_cast<std::size_t>(cu_seqlens[s]) * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) dst[s * cols + i] = from[i];
}

constexpr int kQueryTile = 64;  // queries per block, one per thread

// One block: up to 64 queries of one (sequence, head). Each thread keeps its query and its output row in
// registers and walks the sequence's keys in tiles of KT held in shared memory (f32, bias added), with an
// online softmax (one rescale per tile).
template <class T, int D, int KT>
__global__ void __launch_bounds__(kQueryTile) attention_kernel(const T* qkv, const float* bias,
                                                               const std::int32_t* cu_seqlens, int n_heads,
                                                               float scale, int tiles_per_sequence, T* out) {
    const int hidden = n_heads * D;
    const std::size_t stride = 3 * static_cast<std::size_t>(hidden);
    const int s = blockIdx.x / tiles_per_sequence;
    const int tile = blockIdx.x % tiles_per_sequence;
    const int h = blockIdx.y;
    const int start = cu_seqlens[s];
    const int length = cu_seqlens[s + 1] - start;
    const int q0 = tile * kQueryTile;
    if (q0 >= length) return;

    __shared__ float keys[KT][D];
    __shared__ float values[KT][D];
    const int qi = q0 + static_cast<int>(threadIdx.x);
    const bool active = qi < length;
    float q[D];
    float acc[D];
#pragma unroll
    for (int d = 0; d < D; ++d) {
        q[d] = 0.0f;
        acc[d] = 0.0f;
    }
    if (active) {
        const T* row = qkv + static_cast<std::size_t>(start + qi) * stride + h * D;
#pragma unroll
        for (int d = 0; d < D; ++d) q[d] = (to_f(row[d]) + (bias != nullptr ? bias[h * D + d] : 0.0f)) * scale;
    }
    float running_max = -INFINITY;
    float denominator = 0.0f;
    for (int k0 = 0; k0 < length; k0 += KT) {
        const int n_keys = min(KT, length - k0);
        __syncthreads();  // the previous tile is no longer read
        for (int e = threadIdx.x; e < KT * D; e += blockDim.x) {
            const int j = e / D, d = e % D;
            if (j < n_keys) {
                const T* base = qkv + static_cast<std::size_t>(start + k0 + j) * stride + h * D + d;
                keys[j][d] = to_f(base[hidden]) + (bias != nullptr ? bias[hidden + h * D + d] : 0.0f);
                values[j][d] = to_f(base[2 * hidden]) + (bias != nullptr ? bias[2 * hidden + h * D + d] : 0.0f);
            }
        }
        __syncthreads();
        if (!active) continue;
        float scores[KT];
        float tile_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < KT; ++j) {
            float dot = -INFINITY;
            if (j < n_keys) {
                dot = 0.0f;
#pragma unroll
                for (int d = 0; d < D; ++d) dot += q[d] * keys[j][d];
            }
            scores[j] = dot;
            tile_max = fmaxf(tile_max, dot);
        }
        const float new_max = fmaxf(running_max, tile_max);
        const float correction = expf(running_max - new_max);  // 0 on the first tile
        denominator *= correction;
#pragma unroll
        for (int d = 0; d < D; ++d) acc[d] *= correction;
#pragma unroll
        for (int j = 0; j < KT; ++j) {
            if (j < n_keys) {
                const float p = expf(scores[j] - new_max);
                denominator += p;
#pragma unroll
                for (int d = 0; d < D; ++d) acc[d] += p * values[j][d];
            }
        }
        running_max = new_max;
    }
    if (active) {
        T* row = out + static_cast<std::size_t>(start + qi) * hidden + h * D;
        const float inverse = 1.0f / denominator;
#pragma unroll
        for (int d = 0; d < D; ++d) row[d] = from_f<T>(acc[d] * inverse);
    }
}

unsigned grid_for(std::size_t n, int threads) {
    const std::size_t blocks = (n + threads - 1) / threads;
    return static_cast<unsigned>(blocks < 65535 * 16 ? (blocks == 0 ? 1 : blocks) : 65535 * 16);
}

std::size_t row_shared_bytes(std::size_t cols) { return (cols + 32) * sizeof(float); }

}  // namespace

std::size_t type_size(DeviceType type) noexcept {
    return type == DeviceType::F32 ? 4 : 2;
}

void convert_from_f32(const float* src, void* dst, std::size_t n, DeviceType type, Stream stream) {
    if (n == 0) return;
    convert_from_f32_kernel<<<grid_for(n, 256), 256, 0, stream>>>(src, dst, n, type);
    check_launch("convert_from_f32");
}

void convert_to_f32(const void* src, float* dst, std::size_t rows, std::size_t cols, const float* bias,
                    DeviceType type, Stream stream) {
    const std::size_t n = rows * cols;
    if (n == 0) return;
    WINNOW_CUDA_DISPATCH(type, convert_to_f32_kernel<T><<<grid_for(n, 256), 256, 0, stream>>>(
                                   static_cast<const T*>(src), dst, n, static_cast<int>(cols), bias));
    check_launch("convert_to_f32");
}

void embeddings_layernorm(const std::int32_t* ids, const std::int32_t* positions, const std::int32_t* type_ids,
                          const float* word, const float* position, const float* token_type, const float* gamma,
                          const float* beta, float eps, std::size_t tokens, std::size_t hidden, void* out,
                          DeviceType type, Stream stream) {
    if (tokens == 0) return;
    WINNOW_CUDA_DISPATCH(type, embeddings_layernorm_kernel<T><<<static_cast<unsigned>(tokens), kRowThreads,
                                                                row_shared_bytes(hidden), stream>>>(
                                   ids, positions, type_ids, word, position, token_type, gamma, beta, eps,
                                   static_cast<int>(hidden), static_cast<T*>(out)));
    check_launch("embeddings_layernorm");
}

void bias_residual_layernorm(const void* x, const float* bias, const void* residual, const float* gamma,
                             const float* beta, float eps, std::size_t rows, std::size_t cols, void* out,
                             DeviceType type, Stream stream) {
    if (rows == 0) return;
    WINNOW_CUDA_DISPATCH(type, bias_residual_layernorm_kernel<T><<<static_cast<unsigned>(rows), kRowThreads,
                                                                   row_shared_bytes(cols), stream>>>(
                                   static_cast<const T*>(x), bias, static_cast<const T*>(residual), gamma, beta, eps,
                                   static_cast<int>(cols), static_cast<T*>(out)));
    check_launch("bias_residual_layernorm");
}

void bias_activation(void* x, const float* bias, std::size_t rows, std::size_t cols, Activation activation,
                     DeviceType type, Stream stream) {
    const std::size_t n = rows * cols;
    if (n == 0) return;
    WINNOW_CUDA_DISPATCH(type, bias_activation_kernel<T><<<grid_for(n, 256), 256, 0, stream>>>(
                                   static_cast<T*>(x), bias, n, static_cast<int>(cols), activation));
    check_launch("bias_activation");
}

void gather_first_rows(const void* src, const std::int32_t* cu_seqlens, std::size_t n_sequences, std::size_t cols,
                       void* dst, DeviceType type, Stream stream) {
    if (n_sequences == 0) return;
    WINNOW_CUDA_DISPATCH(type, gather_first_rows_kernel<T><<<static_cast<unsigned>(n_sequences), 128, 0, stream>>>(
                                   static_cast<const T*>(src), cu_seqlens, static_cast<int>(cols),
                                   static_cast<T*>(dst)));
    check_launch("gather_first_rows");
}

namespace {
template <class T>
void launch_attention(const T* qkv, const float* bias, const std::int32_t* cu_seqlens, std::size_t n_sequences,
                      std::size_t max_length, std::size_t n_heads, std::size_t head_dim, float scale, T* out,
                      Stream stream) {
    const int tiles = static_cast<int>((max_length + kQueryTile - 1) / kQueryTile);
    const dim3 grid(static_cast<unsigned>(n_sequences * tiles), static_cast<unsigned>(n_heads));
    const int heads = static_cast<int>(n_heads);
    switch (head_dim) {
        case 32:
            attention_kernel<T, 32, 32><<<grid, kQueryTile, 0, stream>>>(qkv, bias, cu_seqlens, heads, scale, tiles, out);
            break;
        case 64:
            attention_kernel<T, 64, 32><<<grid, kQueryTile, 0, stream>>>(qkv, bias, cu_seqlens, heads, scale, tiles, out);
            break;
        case 128:
            attention_kernel<T, 128, 16><<<grid, kQueryTile, 0, stream>>>(qkv, bias, cu_seqlens, heads, scale, tiles, out);
            break;
        default:
            check(static_cast<int>(cudaErrorInvalidValue), "attention_varlen: head_dim must be 32, 64 or 128");
    }
    check_launch("attention_varlen");
}
}  // namespace

void attention_varlen(const void* qkv, const float* qkv_bias, const std::int32_t* cu_seqlens, std::size_t n_sequences,
                      std::size_t max_length, std::size_t n_heads, std::size_t head_dim, float scale, void* out,
                      DeviceType type, Stream stream) {
    if (n_sequences == 0 || max_length == 0) return;
    WINNOW_CUDA_DISPATCH(type, launch_attention<T>(static_cast<const T*>(qkv), qkv_bias, cu_seqlens, n_sequences,
                                                   max_length, n_heads, head_dim, scale, static_cast<T*>(out), stream));
}

}  // namespace winnow::cuda
