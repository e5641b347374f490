// Internal: the device-side helpers every CUDA kernel file of winnow shares (include from .cu files only):
// storage-type conversions (all arithmetic is f32), the dispatch from DeviceType to a C++ type, warp and
// block sums, a LayerNorm of one row held in shared memory, and tensor/kernels.cpp's activations.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "tensor/cuda/cuda_kernels.h"

namespace winnow::cuda {

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

// Runs the arguments with `alias` (WINNOW_CUDA_DISPATCH: T) bound to the storage type of `type`.
#define WINNOW_CUDA_DISPATCH(type, ...) WINNOW_CUDA_DISPATCH_AS(type, T, __VA_ARGS__)
#define WINNOW_CUDA_DISPATCH_AS(type, alias, ...)  \
    switch (type) {                      \
        case DeviceType::F32: {          \
            using alias = float;             \
            __VA_ARGS__;                 \
            break;                       \
        }                                \
        case DeviceType::Bf16: {         \
            using alias = __nv_bfloat16;     \
            __VA_ARGS__;                 \
            break;                       \
        }                                \
        case DeviceType::F16: {          \
            using alias = __half;            \
            __VA_ARGS__;                 \
            break;                       \
        }                                \
    }

__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}


// The sum of v over the block; `scratch` holds 32 floats. Every thread gets the total.
__device__ inline float block_sum(float v, float* scratch) {
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

}  // namespace winnow::cuda
