// The GPU encoders' own kernels (cuda_kernels.h says what each computes). Ours because no library has
// them in this shape: attention over an unpadded batch given cu_seqlens with the projection bias folded
// into the loads, and the element-wise stages fused around the cuBLASLt GEMMs (bias + activation,
// bias + residual + LayerNorm, embeddings + LayerNorm). All arithmetic is f32, whatever the storage type.
#include "tensor/cuda/cuda_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/device_math.cuh"

namespace winnow::cuda {

namespace {

constexpr int kRowThreads = 256;  // threads per row in the row-wise kernels (LayerNorm)
// The tensor-core attention kernels scale Q by scale * log2(e) and take their softmax in base 2 (exp2f).
constexpr float kLog2e = 1.4426950408889634f;

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
        v[i] = s + (residual != nullptr ? to_f(residual[row + i]) : 0.0f);
    }
    layernorm_row(v, cols, gamma, beta, eps, out + row, scratch);
}

// One block per row; each thread loads its kActivationChunk elements before storing any (the loads are in
// flight together; in place, the compiler could not reorder them itself).
constexpr int kActivationChunk = 8;

template <class T>
__global__ void bias_activation_kernel(T* x, const float* bias, int cols, Activation activation) {
    T* row = x + static_cast<std::size_t>(blockIdx.x) * cols;
    for (int c0 = threadIdx.x; c0 < cols; c0 += blockDim.x * kActivationChunk) {
        float v[kActivationChunk];
#pragma unroll
        for (int k = 0; k < kActivationChunk; ++k) {
            const int c = c0 + k * blockDim.x;
            v[k] = c < cols ? to_f(row[c]) + (bias != nullptr ? bias[c] : 0.0f) : 0.0f;
        }
#pragma unroll
        for (int k = 0; k < kActivationChunk; ++k) {
            const int c = c0 + k * blockDim.x;
            if (c < cols) row[c] = from_f<T>(activate(v[k], activation));
        }
    }
}

// The same over the whole matrix in chunks of 16 bytes, each thread taking two chunks a step (both loads in
// flight before the arithmetic), the activation a template argument (cols a multiple of 16 / sizeof(T)).
template <class T, Activation A>
__global__ void bias_activation_vector_kernel(T* x, const float* bias, unsigned n_chunks, unsigned row_chunks) {
    constexpr int kVec = 16 / sizeof(T);
    const unsigned step = gridDim.x * blockDim.x;
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n_chunks; i += 2 * step) {
        const unsigned chunk[2] = {i, i + step};
        uint4 packed[2];
#pragma unroll
        for (int u = 0; u < 2; ++u) {
            packed[u] = chunk[u] < n_chunks ? reinterpret_cast<const uint4*>(x)[chunk[u]] : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < 2; ++u) {
            if (chunk[u] >= n_chunks) continue;
            const int c = static_cast<int>(chunk[u] % row_chunks) * kVec;
            T* values = reinterpret_cast<T*>(&packed[u]);
#pragma unroll
            for (int e = 0; e < kVec; ++e) {
                values[e] = from_f<T>(activate(to_f(values[e]) + (bias != nullptr ? bias[c + e] : 0.0f), A));
            }
            reinterpret_cast<uint4*>(x)[chunk[u]] = packed[u];
        }
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

// Whether query i may see key j: the whole sequence, or |i - j| <= window (ModernBERT's local layers).
__device__ __forceinline__ bool in_window(int i, int j, int window) {
    return window <= 0 || (i - j <= window && j - i <= window);
}

constexpr int kQueryTile = 64;  // queries per block, one per thread (the CUDA-core kernel)

// The CUDA-core kernel (fp32 storage, and the others on request): one block holds up to 64 queries of one
// (sequence, head). Each thread keeps its query and its output row in registers and walks the sequence's
// keys in tiles of KT held in shared memory (f32, bias added), with an online softmax (one rescale per
// tile). DP is the head size rounded up (the padding is zeros, which change no dot product).
template <class T, int DP, int KT>
__global__ void __launch_bounds__(kQueryTile)
    attention_kernel(const T* qkv, const float* bias, const std::int32_t* cu_seqlens, int n_heads, int dim,
                     float scale, int window, int tiles_per_sequence, T* out) {
    const int hidden = n_heads * dim;
    const std::size_t stride = 3 * static_cast<std::size_t>(hidden);
    const int s = blockIdx.x / tiles_per_sequence;
    const int tile = blockIdx.x % tiles_per_sequence;
    const int h = blockIdx.y;
    const int start = cu_seqlens[s];
    const int length = cu_seqlens[s + 1] - start;
    const int q0 = tile * kQueryTile;
    if (q0 >= length) return;

    __shared__ float keys[KT][DP];
    __shared__ float values[KT][DP];
    const int qi = q0 + static_cast<int>(threadIdx.x);
    const bool active = qi < length;
    float q[DP];
    float acc[DP];
#pragma unroll
    for (int d = 0; d < DP; ++d) {
        q[d] = 0.0f;
        acc[d] = 0.0f;
    }
    if (active) {
        const T* row = qkv + static_cast<std::size_t>(start + qi) * stride + h * dim;
#pragma unroll
        for (int d = 0; d < DP; ++d) {
            if (d < dim) q[d] = (to_f(row[d]) + (bias != nullptr ? bias[h * dim + d] : 0.0f)) * scale;
        }
    }
    // The keys any query of this tile can see.
    int k_begin = 0, k_end = length;
    if (window > 0) {
        k_begin = max(0, q0 - window);
        k_end = min(length, q0 + kQueryTile - 1 + window + 1);
    }
    float running_max = -INFINITY;
    float denominator = 0.0f;
    for (int k0 = k_begin; k0 < k_end; k0 += KT) {
        const int n_keys = min(KT, k_end - k0);
        __syncthreads();  // the previous tile is no longer read
        for (int e = threadIdx.x; e < KT * DP; e += blockDim.x) {
            const int j = e / DP, d = e % DP;
            float key = 0.0f, value = 0.0f;
            if (j < n_keys && d < dim) {
                const T* base = qkv + static_cast<std::size_t>(start + k0 + j) * stride + h * dim + d;
                key = to_f(base[hidden]) + (bias != nullptr ? bias[hidden + h * dim + d] : 0.0f);
                value = to_f(base[2 * hidden]) + (bias != nullptr ? bias[2 * hidden + h * dim + d] : 0.0f);
            }
            keys[j][d] = key;
            values[j][d] = value;
        }
        __syncthreads();
        if (!active) continue;
        float scores[KT];
        float tile_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < KT; ++j) {
            float dot = -INFINITY;
            if (j < n_keys && in_window(qi, k0 + j, window)) {
                dot = 0.0f;
#pragma unroll
                for (int d = 0; d < DP; ++d) dot += q[d] * keys[j][d];
            }
            scores[j] = dot;
            tile_max = fmaxf(tile_max, dot);
        }
        if (tile_max == -INFINITY) continue;  // nothing of this tile is in the query's window
        const float new_max = fmaxf(running_max, tile_max);
        const float correction = expf(running_max - new_max);  // 0 on the first tile
        denominator *= correction;
#pragma unroll
        for (int d = 0; d < DP; ++d) acc[d] *= correction;
#pragma unroll
        for (int j = 0; j < KT; ++j) {
            if (scores[j] != -INFINITY) {
                const float p = expf(scores[j] - new_max);
                denominator += p;
#pragma unroll
                for (int d = 0; d < DP; ++d) acc[d] += p * values[j][d];
            }
        }
        running_max = new_max;
    }
    if (active) {
        T* row = out + static_cast<std::size_t>(start + qi) * hidden + h * dim;
        const float inverse = 1.0f / denominator;
#pragma unroll
        for (int d = 0; d < DP; ++d) {
            if (d < dim) row[d] = from_f<T>(acc[d] * inverse);
        }
    }
}

// The tensor-core kernel (bf16 / fp16 storage): FlashAttention's scheme with WMMA tiles. One block of 4
// warps holds 64 queries of one (sequence, head), 16 per warp; for each tile of 64 keys, S = Q K^T on the
// tensor cores (f32 accumulation) into shared memory, an online softmax per row in f32 (probabilities
// rounded to the storage type, as every fused attention does), then O += P V on the tensor cores with O
// kept in f32 in shared memory. Q, K and V are staged in shared memory with the bias added and the head
// size zero-padded to DP (a multiple of 16).
constexpr int kTcQueries = 64;
constexpr int kTcKeys = 64;
constexpr int kTcThreads = 128;

// One thread's share of a [ROWS x DP] tile of a head's slice as 16-byte vectors (dim a multiple of 16 /
// sizeof(T)): load() issues the global loads, store() adds the bias, scales, and writes the tile (row stride
// LD) in the storage type, zero beyond `count` rows and `dim` columns. Apart, so a tile's loads can be in
// flight while the previous tile is computed on.
template <class T, int DP, int ROWS>
struct RowVectors {
    static constexpr int kVec = 16 / sizeof(T);
    static constexpr int kVectors = ROWS * DP / kVec;
    static_assert(kVectors % kTcThreads == 0);
    static constexpr int kPerThread = kVectors / kTcThreads;
    uint4 v[kPerThread];

    __device__ __forceinline__ void load(const T* qkv, int start, int count, int first, std::size_t stride, int offset,
                                         int dim) {
#pragma unroll
        for (int it = 0; it < kPerThread; ++it) {
            const int e = it * kTcThreads + threadIdx.x, j = e / (DP / kVec), d0 = (e % (DP / kVec)) * kVec;
            v[it] = make_uint4(0, 0, 0, 0);
            if (j < count && d0 < dim) {
                v[it] = *reinterpret_cast<const uint4*>(qkv + static_cast<std::size_t>(start + first + j) * stride +
                                                        offset + d0);
            }
        }
    }

    template <int LD>
    __device__ __forceinline__ void store(const float* bias, int count, int offset, int dim, float scale, T* dst) {
#pragma unroll
        for (int it = 0; it < kPerThread; ++it) {
            const int e = it * kTcThreads + threadIdx.x, j = e / (DP / kVec), d0 = (e % (DP / kVec)) * kVec;
            uint4 out = make_uint4(0, 0, 0, 0);
            if (j < count && d0 < dim) {
                out = v[it];
                T* values = reinterpret_cast<T*>(&out);
#pragma unroll
                for (int i = 0; i < kVec; ++i) {
                    values[i] = from_f<T>((to_f(values[i]) + (bias != nullptr ? bias[offset + d0 + i] : 0.0f)) * scale);
                }
            }
            *reinterpret_cast<uint4*>(dst + j * LD + d0) = out;
        }
    }
};

// Stages rows first..first+count of one head's slice (columns `offset`..offset+dim of each qkv row, the
// bias slice added, times `scale`) into dst [ROWS x DP, row stride LD] in the storage type, zero beyond
// count rows and dim columns: by RowVectors where the slice allows (dim a multiple of 8, the usual case),
// else element by element.
template <class T, int DP, int LD, int ROWS>
__device__ __forceinline__ void stage_rows(const T* qkv, const float* bias, int start, int count, int first,
                                           std::size_t stride, int offset, int dim, float scale, T* dst) {
    if (dim % RowVectors<T, DP, ROWS>::kVec == 0) {
        RowVectors<T, DP, ROWS> tile;
        tile.load(qkv, start, count, first, stride, offset, dim);
        tile.template store<LD>(bias, count, offset, dim, scale, dst);
    } else {
        for (int e = threadIdx.x; e < ROWS * DP; e += blockDim.x) {
            const int j = e / DP, d = e % DP;
            float value = 0.0f;
            if (j < count && d < dim) {
                value = (to_f(qkv[static_cast<std::size_t>(start + first + j) * stride + offset + d]) +
                         (bias != nullptr ? bias[offset + d] : 0.0f)) *
                        scale;
            }
            dst[j * LD + d] = from_f<T>(value);
        }
    }
}

// Shared-memory rows are padded (16 bytes for 16-bit tiles, 16 for f32 ones) so that the rows a WMMA load or
// store touches fall in different banks.
template <class T, int DP>
struct TcLayout {
    static constexpr int ld_qkv = DP + 8;        // Q, K, V rows (T)
    static constexpr int ld_s = kTcKeys + 4;     // scores (f32)
    static constexpr int ld_p = kTcKeys + 8;     // probabilities (T)
    static constexpr int ld_o = DP + 4;          // output accumulator (f32)
    static constexpr std::size_t q = 0;                                              // T [64][ld_qkv], scaled
    static constexpr std::size_t k = q + kTcQueries * ld_qkv * sizeof(T);            // T [64][ld_qkv]
    static constexpr std::size_t v = k + kTcKeys * ld_qkv * sizeof(T);               // T [64][ld_qkv]
    static constexpr std::size_t s = v + kTcKeys * ld_qkv * sizeof(T);               // f32 [64][ld_s]
    static constexpr std::size_t p = s + kTcQueries * ld_s * sizeof(float);          // T [64][ld_p]
    static constexpr std::size_t o = p + kTcQueries * ld_p * sizeof(T);              // f32 [64][ld_o]
    static constexpr std::size_t m = o + kTcQueries * ld_o * sizeof(float);          // f32 [64] running max
    static constexpr std::size_t l = m + kTcQueries * sizeof(float);                 // f32 [64] denominator
    static constexpr std::size_t bytes = l + kTcQueries * sizeof(float);
    static_assert(k % 32 == 0 && v % 32 == 0 && s % 32 == 0 && p % 32 == 0 && o % 32 == 0 && m % 32 == 0);
};

template <class T, int DP>
__global__ void __launch_bounds__(kTcThreads)
    attention_tc_kernel(const T* qkv, const float* bias, const std::int32_t* cu_seqlens, int n_heads, int dim,
                        float scale, int window, int tiles_per_sequence, T* out) {
    namespace wmma = nvcuda::wmma;
    using L = TcLayout<T, DP>;
    constexpr int LQ = L::ld_qkv, LS = L::ld_s, LP = L::ld_p, LO = L::ld_o;
    extern __shared__ __align__(128) unsigned char smem[];
    T* qs = reinterpret_cast<T*>(smem + L::q);
    T* ks = reinterpret_cast<T*>(smem + L::k);
    T* vs = reinterpret_cast<T*>(smem + L::v);
    float* ss = reinterpret_cast<float*>(smem + L::s);
    T* ps = reinterpret_cast<T*>(smem + L::p);
    float* os = reinterpret_cast<float*>(smem + L::o);
    float* ms = reinterpret_cast<float*>(smem + L::m);
    float* ls = reinterpret_cast<float*>(smem + L::l);

    const int hidden = n_heads * dim;
    const std::size_t stride = 3 * static_cast<std::size_t>(hidden);
    const int s = blockIdx.x / tiles_per_sequence;
    const int tile = blockIdx.x % tiles_per_sequence;
    const int h = blockIdx.y;
    const int start = cu_seqlens[s];
    const int length = cu_seqlens[s + 1] - start;
    const int q0 = tile * kTcQueries;
    if (q0 >= length) return;  // the whole block
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int r0 = warp * 16;
    const bool warp_active = q0 + r0 < length;

    // Q, scaled; O = 0.
    stage_rows<T, DP, LQ, kTcQueries>(qkv, bias, start, length - q0, q0, stride, h * dim, dim,
                                  scale * kLog2e, qs);
    for (int e = threadIdx.x; e < kTcQueries * LO; e += blockDim.x) os[e] = 0.0f;
    for (int r = threadIdx.x; r < kTcQueries; r += blockDim.x) {
        ms[r] = -INFINITY;
        ls[r] = 0.0f;
    }
    int k_begin = 0, k_end = length;
    if (window > 0) {
        k_begin = max(0, q0 - window);
        k_end = min(length, q0 + kTcQueries - 1 + window + 1);
    }
    // K and V tiles: with 16-byte vectors, the next tile's loads are issued before this tile is computed on.
    const bool vectors = dim % RowVectors<T, DP, kTcKeys>::kVec == 0;
    const int k_offset = hidden + h * dim, v_offset = 2 * hidden + h * dim;
    RowVectors<T, DP, kTcKeys> next_k, next_v;
    if (vectors) {
        next_k.load(qkv, start, min(kTcKeys, k_end - k_begin), k_begin, stride, k_offset, dim);
        next_v.load(qkv, start, min(kTcKeys, k_end - k_begin), k_begin, stride, v_offset, dim);
    }
    for (int k0 = k_begin; k0 < k_end; k0 += kTcKeys) {
        const int n_keys = min(kTcKeys, k_end - k0);
        __syncthreads();  // the previous tile's K and V are no longer read (and Q, O, m, l are set)
        if (vectors) {
            next_k.template store<LQ>(bias, n_keys, k_offset, dim, 1.0f, ks);
            next_v.template store<LQ>(bias, n_keys, v_offset, dim, 1.0f, vs);
        } else {
            stage_rows<T, DP, LQ, kTcKeys>(qkv, bias, start, n_keys, k0, stride, k_offset, dim, 1.0f, ks);
            stage_rows<T, DP, LQ, kTcKeys>(qkv, bias, start, n_keys, k0, stride, v_offset, dim, 1.0f, vs);
        }
        __syncthreads();
        if (vectors && k0 + kTcKeys < k_end) {
            const int next_keys = min(kTcKeys, k_end - k0 - kTcKeys);
            next_k.load(qkv, start, next_keys, k0 + kTcKeys, stride, k_offset, dim);
            next_v.load(qkv, start, next_keys, k0 + kTcKeys, stride, v_offset, dim);
        }
        if (!warp_active) continue;

        // S[r0..r0+16) = Q K^T
#pragma unroll
        for (int c = 0; c < kTcKeys / 16; ++c) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::fill_fragment(acc, 0.0f);
#pragma unroll
            for (int kk = 0; kk < DP / 16; ++kk) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
                wmma::load_matrix_sync(a, qs + r0 * LQ + kk * 16, LQ);
                wmma::load_matrix_sync(b, ks + c * 16 * LQ + kk * 16, LQ);
                wmma::mma_sync(acc, a, b, acc);
            }
            wmma::store_matrix_sync(ss + r0 * LS + c * 16, acc, LS, wmma::mem_row_major);
        }
        __syncwarp();

        // Online softmax in base 2 (Q carries log2(e)): two lanes per row, 32 keys each, walked from a
        // lane-dependent start so the lanes of a warp read different shared-memory banks. A full tile without
        // a window (the common case) skips the per-key visibility test.
        {
            const int row = r0 + (lane >> 1), half = lane & 1, qi = q0 + row;
            const float* srow = ss + row * LS + half * 32;
            T* prow = ps + row * LP + half * 32;
            const bool every_key = n_keys == kTcKeys && window <= 0;
            const auto visible = [&](int key) { return key < n_keys && in_window(qi, k0 + key, window); };
            float tile_max = -INFINITY;
            if (every_key) {
#pragma unroll 8
                for (int j = 0; j < 32; ++j) tile_max = fmaxf(tile_max, srow[(j + lane) & 31]);
            } else {
                for (int j = 0; j < 32; ++j) {
                    const int jj = (j + lane) & 31;
                    if (visible(half * 32 + jj)) tile_max = fmaxf(tile_max, srow[jj]);
                }
            }
            tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
            const float old_max = ms[row];
            const float new_max = fmaxf(old_max, tile_max);
            // A row that has seen nothing yet (and sees nothing here) keeps O = 0, l = 0.
            const float correction = new_max == -INFINITY ? 1.0f : exp2f(old_max - new_max);
            float sum = 0.0f;
            if (every_key) {
#pragma unroll 8
                for (int j = 0; j < 32; ++j) {
                    const int jj = (j + lane) & 31;
                    const float p = exp2f(srow[jj] - new_max);
                    sum += p;
                    prow[jj] = from_f<T>(p);
                }
            } else {
                for (int j = 0; j < 32; ++j) {
                    const int jj = (j + lane) & 31;
                    const float p = visible(half * 32 + jj) ? exp2f(srow[jj] - new_max) : 0.0f;
                    sum += p;
                    prow[jj] = from_f<T>(p);
                }
            }
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            if (correction != 1.0f) {
                constexpr int kHalf = DP / 2;
                float* orow = os + row * LO + half * kHalf;
                for (int d = 0; d < kHalf; ++d) orow[(d + lane) % kHalf] *= correction;
            }
            __syncwarp();  // both lanes of the row have read ms[row]
            if (half == 0) {
                ms[row] = new_max;
                ls[row] = ls[row] * correction + sum;
            }
        }
        __syncwarp();

        // O[r0..r0+16) += P V
#pragma unroll
        for (int c = 0; c < DP / 16; ++c) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::load_matrix_sync(acc, os + r0 * LO + c * 16, LO, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < kTcKeys / 16; ++kk) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
                wmma::load_matrix_sync(a, ps + r0 * LP + kk * 16, LP);
                wmma::load_matrix_sync(b, vs + kk * 16 * LQ + c * 16, LQ);
                wmma::mma_sync(acc, a, b, acc);
            }
            wmma::store_matrix_sync(os + r0 * LO + c * 16, acc, LO, wmma::mem_row_major);
        }
        __syncwarp();
    }
    if (!warp_active) return;
    __syncwarp();
    for (int e = lane; e < 16 * DP; e += 32) {
        const int r = r0 + e / DP, d = e % DP, qi = q0 + r;
        if (qi < length && d < dim) {
            out[static_cast<std::size_t>(start + qi) * hidden + h * dim + d] = from_f<T>(os[r * LO + d] / ls[r]);
        }
    }
}

// The register kernel (bf16 / fp16, head size D of 16, 32 or 64): FlashAttention-2's scheme on raw mma.sync
// m16n8k16 fragments. One block per (sequence, head) stages the whole sequence's keys (row-major) and values
// (transposed, so that both operands are read as the 32-bit pairs a fragment holds) in shared memory once, bias
// added; then each warp takes 16 queries at a time, their Q fragments loaded from global memory (bias added,
// scaled by scale * log2(e)), and walks the keys 32 at a time: S = Q K^T in accumulator fragments, an online
// softmax in base 2 on those registers (a row's max over the 4 lanes that share it), the probabilities packed
// into the A fragments of P V in place (an accumulator of S and an A operand of P cover the same rows and
// columns), O in f32 accumulator fragments. No shared-memory round trip and no barrier after staging. Rows
// of the shared tiles are padded so that the 8 rows a fragment load touches fall in different banks.
constexpr int kRegKeys = 32;       // keys per step
constexpr int kRegMaxWarps = 16;   // warps per block: 256 queries at once, more in turns
constexpr std::size_t kRegMaxShared = 120u << 10;  // the largest staging the kernel is launched with

template <class T>
struct Mma;
template <>
struct Mma<__nv_bfloat16> {
    __device__ __forceinline__ static void run(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                               std::uint32_t b1) {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    __device__ __forceinline__ static std::uint32_t pack(float lo, float hi) {
        const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<const std::uint32_t*>(&v);
    }
};
template <>
struct Mma<__half> {
    __device__ __forceinline__ static void run(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                               std::uint32_t b1) {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    __device__ __forceinline__ static std::uint32_t pack(float lo, float hi) {
        const __half2 v = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<const std::uint32_t*>(&v);
    }
};

// Shared memory of the register kernel for a sequence of at most `capacity` keys (a multiple of kRegKeys):
// K [capacity][D + 8], then V^T [D][capacity + 8], both in T. Strides of 4 x an odd number of 32-bit words
// keep a fragment load's 8 rows in distinct banks.
template <int D>
constexpr std::size_t reg_shared_bytes(std::size_t capacity) {
    return (capacity * (D + 8) + D * (capacity + 8)) * 2;
}

template <class T>
__device__ __forceinline__ std::uint32_t load_pair(const T* p) {
    return *reinterpret_cast<const std::uint32_t*>(p);
}

template <class T, int D>
__global__ void __launch_bounds__(kRegMaxWarps * 32)
    attention_reg_kernel(const T* qkv, const float* bias, const std::int32_t* cu_seqlens, int n_heads,
                         float scale_log2, int window, int capacity, T* out) {
    constexpr int LK = D + 8;
    constexpr int kVec = 16 / sizeof(T);  // 8 elements per 16-byte vector
    constexpr int kRowVectors = D / kVec;
    const int LV = capacity + 8;
    extern __shared__ __align__(16) unsigned char smem[];
    T* ks = reinterpret_cast<T*>(smem);
    T* vt = ks + static_cast<std::size_t>(capacity) * LK;

    const int s = blockIdx.x, h = blockIdx.y;
    const int start = cu_seqlens[s];
    const int length = cu_seqlens[s + 1] - start;
    const int hidden = n_heads * D;
    const std::size_t stride = 3 * static_cast<std::size_t>(hidden);
    const int padded = (length + kRegKeys - 1) / kRegKeys * kRegKeys;
    const int k_offset = hidden + h * D, v_offset = 2 * hidden + h * D;

    // Stage K and V^T (bias added, zero past the sequence up to the next multiple of kRegKeys).
    for (int e = threadIdx.x; e < padded * kRowVectors; e += blockDim.x) {
        const int j = e / kRowVectors, d0 = (e % kRowVectors) * kVec;
        uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
        if (j < length) {
            const T* row = qkv + static_cast<std::size_t>(start + j) * stride;
            kv = *reinterpret_cast<const uint4*>(row + k_offset + d0);
            vv = *reinterpret_cast<const uint4*>(row + v_offset + d0);
            if (bias != nullptr) {
                T* kp = reinterpret_cast<T*>(&kv);
                T* vp = reinterpret_cast<T*>(&vv);
#pragma unroll
                for (int i = 0; i < kVec; ++i) {
                    kp[i] = from_f<T>(to_f(kp[i]) + bias[k_offset + d0 + i]);
                    vp[i] = from_f<T>(to_f(vp[i]) + bias[v_offset + d0 + i]);
                }
            }
        }
        *reinterpret_cast<uint4*>(ks + j * LK + d0) = kv;
        const T* vp = reinterpret_cast<const T*>(&vv);
#pragma unroll
        for (int i = 0; i < kVec; ++i) vt[(d0 + i) * LV + j] = vp[i];
    }
    __syncthreads();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int n_warps = blockDim.x >> 5;
    const float* q_bias = bias != nullptr ? bias + h * D : nullptr;
    for (int q0 = warp * 16; q0 < length; q0 += n_warps * 16) {
        const int r_lo = q0 + g, r_hi = q0 + g + 8;
        // Q fragments: a0 (row g, dims 2t..), a1 (row g + 8), a2 (row g, dims 8 + 2t..), a3 (row g + 8).
        std::uint32_t qa[D / 16][4];
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                const int d = kk * 16 + half * 8 + 2 * t;
                const float b0 = q_bias != nullptr ? q_bias[d] : 0.0f, b1 = q_bias != nullptr ? q_bias[d + 1] : 0.0f;
#pragma unroll
                for (int upper = 0; upper < 2; ++upper) {
                    const int r = upper == 0 ? r_lo : r_hi;
                    std::uint32_t packed = 0;
                    if (r < length) {
                        const T* p = qkv + static_cast<std::size_t>(start + r) * stride + h * D + d;
                        packed = Mma<T>::pack((to_f(p[0]) + b0) * scale_log2, (to_f(p[1]) + b1) * scale_log2);
                    }
                    qa[kk][half * 2 + upper] = packed;
                }
            }
        }
        float o[D / 8][4];
#pragma unroll
        for (int nd = 0; nd < D / 8; ++nd) o[nd][0] = o[nd][1] = o[nd][2] = o[nd][3] = 0.0f;
        float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.0f, l_hi = 0.0f;
        int k_begin = 0, k_end = length;
        if (window > 0) {
            k_begin = max(0, q0 - window) / kRegKeys * kRegKeys;
            k_end = min(length, q0 + 15 + window + 1);
        }
        for (int k0 = k_begin; k0 < k_end; k0 += kRegKeys) {
            // S = Q K^T: n-block nb holds keys k0 + nb * 8 + 2t, +1 of rows g (c0, c1) and g + 8 (c2, c3).
            float sc[kRegKeys / 8][4];
#pragma unroll
            for (int nb = 0; nb < kRegKeys / 8; ++nb) {
                sc[nb][0] = sc[nb][1] = sc[nb][2] = sc[nb][3] = 0.0f;
                const T* krow = ks + (k0 + nb * 8 + g) * LK + 2 * t;
#pragma unroll
                for (int kk = 0; kk < D / 16; ++kk) {
                    Mma<T>::run(sc[nb], qa[kk], load_pair(krow + kk * 16), load_pair(krow + kk * 16 + 8));
                }
            }
            if (k0 + kRegKeys > length || window > 0) {
#pragma unroll
                for (int nb = 0; nb < kRegKeys / 8; ++nb) {
#pragma unroll
                    for (int c = 0; c < 4; ++c) {
                        const int key = k0 + nb * 8 + 2 * t + (c & 1), row = c < 2 ? r_lo : r_hi;
                        if (key >= length || !in_window(row, key, window)) sc[nb][c] = -INFINITY;
                    }
                }
            }
            float max_lo = -INFINITY, max_hi = -INFINITY;
#pragma unroll
            for (int nb = 0; nb < kRegKeys / 8; ++nb) {
                max_lo = fmaxf(max_lo, fmaxf(sc[nb][0], sc[nb][1]));
                max_hi = fmaxf(max_hi, fmaxf(sc[nb][2], sc[nb][3]));
            }
#pragma unroll
            for (int offset = 1; offset <= 2; offset <<= 1) {
                max_lo = fmaxf(max_lo, __shfl_xor_sync(0xffffffffu, max_lo, offset));
                max_hi = fmaxf(max_hi, __shfl_xor_sync(0xffffffffu, max_hi, offset));
            }
            const float new_lo = fmaxf(m_lo, max_lo), new_hi = fmaxf(m_hi, max_hi);
            // A row that has seen no key yet keeps O = 0 and l = 0 (its correction is 0, its p all 0).
            const float base_lo = new_lo == -INFINITY ? 0.0f : new_lo;
            const float base_hi = new_hi == -INFINITY ? 0.0f : new_hi;
            const float corr_lo = exp2f(m_lo - base_lo), corr_hi = exp2f(m_hi - base_hi);
            m_lo = new_lo;
            m_hi = new_hi;
            l_lo *= corr_lo;
            l_hi *= corr_hi;
#pragma unroll
            for (int nd = 0; nd < D / 8; ++nd) {
                o[nd][0] *= corr_lo;
                o[nd][1] *= corr_lo;
                o[nd][2] *= corr_hi;
                o[nd][3] *= corr_hi;
            }
            // P as the A operand of P V: k-step kk covers n-blocks 2kk (a0, a1) and 2kk + 1 (a2, a3).
            std::uint32_t pa[kRegKeys / 16][4];
#pragma unroll
            for (int nb = 0; nb < kRegKeys / 8; ++nb) {
                const float p0 = exp2f(sc[nb][0] - base_lo), p1 = exp2f(sc[nb][1] - base_lo);
                const float p2 = exp2f(sc[nb][2] - base_hi), p3 = exp2f(sc[nb][3] - base_hi);
                l_lo += p0 + p1;
                l_hi += p2 + p3;
                pa[nb / 2][(nb & 1) * 2] = Mma<T>::pack(p0, p1);
                pa[nb / 2][(nb & 1) * 2 + 1] = Mma<T>::pack(p2, p3);
            }
            // O += P V: B fragment of dims nd * 8 + g, keys 2t.. and 8 + 2t.. of each k-step, from V^T.
#pragma unroll
            for (int nd = 0; nd < D / 8; ++nd) {
                const T* vrow = vt + (nd * 8 + g) * LV + k0 + 2 * t;
#pragma unroll
                for (int kk = 0; kk < kRegKeys / 16; ++kk) {
                    Mma<T>::run(o[nd], pa[kk], load_pair(vrow + kk * 16), load_pair(vrow + kk * 16 + 8));
                }
            }
        }
#pragma unroll
        for (int offset = 1; offset <= 2; offset <<= 1) {
            l_lo += __shfl_xor_sync(0xffffffffu, l_lo, offset);
            l_hi += __shfl_xor_sync(0xffffffffu, l_hi, offset);
        }
        const float inv_lo = l_lo > 0.0f ? 1.0f / l_lo : 0.0f, inv_hi = l_hi > 0.0f ? 1.0f / l_hi : 0.0f;
#pragma unroll
        for (int nd = 0; nd < D / 8; ++nd) {
            const int d = h * D + nd * 8 + 2 * t;
            if (r_lo < length) {
                *reinterpret_cast<std::uint32_t*>(out + static_cast<std::size_t>(start + r_lo) * hidden + d) =
                    Mma<T>::pack(o[nd][0] * inv_lo, o[nd][1] * inv_lo);
            }
            if (r_hi < length) {
                *reinterpret_cast<std::uint32_t*>(out + static_cast<std::size_t>(start + r_hi) * hidden + d) =
                    Mma<T>::pack(o[nd][2] * inv_hi, o[nd][3] * inv_hi);
            }
        }
    }
}

// out = LayerNorm(x + bias + residual) with one warp per row, the row in registers (cols <= 32 * PER_LANE).
template <class T, int PER_LANE>
__global__ void bias_residual_layernorm_warp_kernel(const T* x, const float* bias, const T* residual,
                                                    const float* gamma, const float* beta, float eps, int rows,
                                                    int cols, T* out) {
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const std::size_t base = static_cast<std::size_t>(row) * cols;
    float v[PER_LANE];
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < PER_LANE; ++k) {
        const int i = lane + 32 * k;
        float value = 0.0f;
        if (i < cols) {
            value = to_f(x[base + i]) + (bias != nullptr ? bias[i] : 0.0f);
            if (residual != nullptr) value += to_f(residual[base + i]);
        }
        v[k] = value;
        sum += value;
    }
    const float mean = warp_sum(sum) / static_cast<float>(cols);
    float squares = 0.0f;
#pragma unroll
    for (int k = 0; k < PER_LANE; ++k) {
        if (lane + 32 * k < cols) {
            const float d = v[k] - mean;
            squares += d * d;
        }
    }
    const float inverse = 1.0f / sqrtf(warp_sum(squares) / static_cast<float>(cols) + eps);
#pragma unroll
    for (int k = 0; k < PER_LANE; ++k) {
        const int i = lane + 32 * k;
        if (i < cols) out[base + i] = from_f<T>((v[k] - mean) * inverse * gamma[i] + (beta != nullptr ? beta[i] : 0.0f));
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

namespace {

// The warp-per-row LayerNorm on chunks of 4 elements (8-byte loads and stores of the row, 16-byte loads of
// bias, gamma and beta): lane l holds chunks l, l + 32, ... (CHUNKS of them, cols a multiple of 4, at most
// 128 * CHUNKS), so that a 384-wide row keeps all 32 lanes busy with 3 chunks each.
template <class T, int CHUNKS>
__global__ void bias_residual_layernorm_vector_kernel(const T* x, const float* bias, const T* residual,
                                                      const float* gamma, const float* beta, float eps, int rows,
                                                      int cols, T* out) {
    static_assert(sizeof(T) == 2);
    const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const std::size_t base = static_cast<std::size_t>(row) * cols;
    const int chunks = cols / 4;
    float v[CHUNKS][4];
    uint2 a[CHUNKS], r[CHUNKS];
#pragma unroll
    for (int k = 0; k < CHUNKS; ++k) {  // every load of the row first, then the arithmetic
        const int ci = lane + 32 * k;
        a[k] = make_uint2(0, 0);
        r[k] = make_uint2(0, 0);
        if (ci < chunks) {
            a[k] = *reinterpret_cast<const uint2*>(x + base + ci * 4);
            if (residual != nullptr) r[k] = *reinterpret_cast<const uint2*>(residual + base + ci * 4);
        }
    }
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < CHUNKS; ++k) {
        const int ci = lane + 32 * k;
        const T* av = reinterpret_cast<const T*>(&a[k]);
        const T* rv = reinterpret_cast<const T*>(&r[k]);
        float4 b = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (bias != nullptr && ci < chunks) b = *reinterpret_cast<const float4*>(bias + ci * 4);
        const float bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            v[k][i] = ci < chunks ? to_f(av[i]) + to_f(rv[i]) + bv[i] : 0.0f;
            sum += v[k][i];
        }
    }
    const float mean = warp_sum(sum) / static_cast<float>(cols);
    float squares = 0.0f;
#pragma unroll
    for (int k = 0; k < CHUNKS; ++k) {
        if (lane + 32 * k < chunks) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const float d = v[k][i] - mean;
                squares += d * d;
            }
        }
    }
    const float inverse = 1.0f / sqrtf(warp_sum(squares) / static_cast<float>(cols) + eps);
#pragma unroll
    for (int k = 0; k < CHUNKS; ++k) {
        const int ci = lane + 32 * k;
        if (ci < chunks) {
            const float4 g = *reinterpret_cast<const float4*>(gamma + ci * 4);
            const float4 b = beta != nullptr ? *reinterpret_cast<const float4*>(beta + ci * 4)
                                             : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            const float gv[4] = {g.x, g.y, g.z, g.w}, bv[4] = {b.x, b.y, b.z, b.w};
            uint2 packed;
            T* pv = reinterpret_cast<T*>(&packed);
#pragma unroll
            for (int i = 0; i < 4; ++i) pv[i] = from_f<T>((v[k][i] - mean) * inverse * gv[i] + bv[i]);
            *reinterpret_cast<uint2*>(out + base + ci * 4) = packed;
        }
    }
}

// Whether `p` is a multiple of `bytes` (the vector paths' loads and stores need it).
bool aligned(const void* p, std::uintptr_t bytes) { return reinterpret_cast<std::uintptr_t>(p) % bytes == 0; }

}  // namespace

void bias_residual_layernorm(const void* x, const float* bias, const void* residual, const float* gamma,
                             const float* beta, float eps, std::size_t rows, std::size_t cols, void* out,
                             DeviceType type, Stream stream) {
    if (rows == 0) return;
    if (type != DeviceType::F32 && cols % 4 == 0 && cols <= 32 * 4 * 8 && aligned(x, 8) && aligned(out, 8) &&
        (residual == nullptr || aligned(residual, 8)) && (bias == nullptr || aligned(bias, 16)) &&
        aligned(gamma, 16) && (beta == nullptr || aligned(beta, 16))) {
        const unsigned blocks = static_cast<unsigned>((rows + 7) / 8);
        const int r = static_cast<int>(rows), c = static_cast<int>(cols);
        const std::size_t chunks = (cols / 4 + 31) / 32;
#define WINNOW_LN_VECTOR_AS(U, CHUNKS)                                                                      \
    bias_residual_layernorm_vector_kernel<U, CHUNKS><<<blocks, 256, 0, stream>>>(                           \
        static_cast<const U*>(x), bias, static_cast<const U*>(residual), gamma, beta, eps, r, c, static_cast<U*>(out))
#define WINNOW_LN_VECTOR(CHUNKS)                                                                            \
    if (type == DeviceType::Bf16) {                                                                         \
        WINNOW_LN_VECTOR_AS(__nv_bfloat16, CHUNKS);                                                         \
    } else {                                                                                                \
        WINNOW_LN_VECTOR_AS(__half, CHUNKS);                                                                \
    }
        if (chunks <= 1) {
            WINNOW_LN_VECTOR(1);
        } else if (chunks <= 2) {
            WINNOW_LN_VECTOR(2);
        } else if (chunks <= 3) {
            WINNOW_LN_VECTOR(3);
        } else if (chunks <= 4) {
            WINNOW_LN_VECTOR(4);
        } else if (chunks <= 6) {
            WINNOW_LN_VECTOR(6);
        } else {
            WINNOW_LN_VECTOR(8);
        }
#undef WINNOW_LN_VECTOR
#undef WINNOW_LN_VECTOR_AS
        check_launch("bias_residual_layernorm");
        return;
    }
    if (cols <= 1024) {
        // One warp per row, 8 rows per block.
        const unsigned blocks = static_cast<unsigned>((rows + 7) / 8);
        const int r = static_cast<int>(rows), c = static_cast<int>(cols);
#define WINNOW_LN_WARP(PER_LANE)                                                                         \
    WINNOW_CUDA_DISPATCH(type, bias_residual_layernorm_warp_kernel<T, PER_LANE><<<blocks, 256, 0, stream>>>( \
                                   static_cast<const T*>(x), bias, static_cast<const T*>(residual), gamma, beta, \
                                   eps, r, c, static_cast<T*>(out)))
        if (cols <= 128) {
            WINNOW_LN_WARP(4);
        } else if (cols <= 256) {
            WINNOW_LN_WARP(8);
        } else if (cols <= 512) {
            WINNOW_LN_WARP(16);
        } else {
            WINNOW_LN_WARP(32);
        }
#undef WINNOW_LN_WARP
    } else {
        WINNOW_CUDA_DISPATCH(type, bias_residual_layernorm_kernel<T><<<static_cast<unsigned>(rows), kRowThreads,
                                                                       row_shared_bytes(cols), stream>>>(
                                       static_cast<const T*>(x), bias, static_cast<const T*>(residual), gamma, beta,
                                       eps, static_cast<int>(cols), static_cast<T*>(out)));
    }
    check_launch("bias_residual_layernorm");
}

void bias_activation(void* x, const float* bias, std::size_t rows, std::size_t cols, Activation activation,
                     DeviceType type, Stream stream) {
    if (rows == 0 || cols == 0) return;
    const std::size_t vec = 16 / type_size(type);
    // 32-bit chunk indices (with room for i + 2 * step): any batch this side of 2^31 chunks of 16 bytes.
    if (cols % vec == 0 && aligned(x, 16) && rows * cols / vec < (1u << 31)) {
        const unsigned n_chunks = static_cast<unsigned>(rows * cols / vec);
        const unsigned blocks = std::min<unsigned>((n_chunks + 511) / 512, 1u << 20);
        const unsigned row_chunks = static_cast<unsigned>(cols / vec);
#define WINNOW_ACTIVATION_CASE(A)                                                                          \
    case A:                                                                                                \
        WINNOW_CUDA_DISPATCH(type, bias_activation_vector_kernel<T, A><<<blocks, 256, 0, stream>>>(        \
                                       static_cast<T*>(x), bias, n_chunks, row_chunks));                   \
        break;
        switch (activation) {
            WINNOW_ACTIVATION_CASE(Activation::None)
            WINNOW_ACTIVATION_CASE(Activation::Gelu)
            WINNOW_ACTIVATION_CASE(Activation::GeluTanh)
            WINNOW_ACTIVATION_CASE(Activation::Relu)
            WINNOW_ACTIVATION_CASE(Activation::Silu)
            WINNOW_ACTIVATION_CASE(Activation::Tanh)
        }
#undef WINNOW_ACTIVATION_CASE
    } else {
        const int threads = cols >= 1024 ? 256 : 128;
        WINNOW_CUDA_DISPATCH(type, bias_activation_kernel<T><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
                                       static_cast<T*>(x), bias, static_cast<int>(cols), activation));
    }
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

// The kernel WINNOW_CUDA_ATTENTION names (registers, tiles or cores; read once), else Auto: a check on one
// kernel against another, and the benchmark's comparison.
AttentionKernel attention_kernel_from_environment() {
    static const AttentionKernel kernel = [] {
        const char* env = std::getenv("WINNOW_CUDA_ATTENTION");
        if (env == nullptr) return AttentionKernel::Auto;
        if (std::strcmp(env, "registers") == 0) return AttentionKernel::Registers;
        if (std::strcmp(env, "tiles") == 0) return AttentionKernel::Tiles;
        if (std::strcmp(env, "cores") == 0) return AttentionKernel::Cores;
        return AttentionKernel::Auto;
    }();
    return kernel;
}

// Launches the register kernel when the longest sequence's keys and values fit its shared memory.
template <class T, int D>
bool launch_registers(const T* qkv, const float* bias, const std::int32_t* cu_seqlens, std::size_t n_sequences,
                      std::size_t max_length, int heads, float scale, int window, T* out, Stream stream) {
    const std::size_t capacity = (max_length + kRegKeys - 1) / kRegKeys * kRegKeys;
    const std::size_t bytes = reg_shared_bytes<D>(capacity);
    if (bytes > kRegMaxShared) return false;
    static const bool configured = [] {
        check(cudaFuncSetAttribute(attention_reg_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(kRegMaxShared)),
              "cudaFuncSetAttribute (attention shared memory)");
        return true;
    }();
    (void)configured;
    const int warps = static_cast<int>(std::min<std::size_t>(kRegMaxWarps, (max_length + 15) / 16));
    const dim3 grid(static_cast<unsigned>(n_sequences), static_cast<unsigned>(heads));
    attention_reg_kernel<T, D><<<grid, warps * 32, bytes, stream>>>(qkv, bias, cu_seqlens, heads,
                                                                    scale * kLog2e, window,
                                                                    static_cast<int>(capacity), out);
    return true;
}

template <class T, int DP>
void launch_tc(const T* qkv, const float* bias, const std::int32_t* cu_seqlens, std::size_t n_sequences,
               std::size_t max_length, int heads, int dim, float scale, int window, T* out, Stream stream) {
    constexpr std::size_t bytes = TcLayout<T, DP>::bytes;
    static const bool configured = [] {
        check(cudaFuncSetAttribute(attention_tc_kernel<T, DP>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   static_cast<int>(bytes)),
              "cudaFuncSetAttribute (attention shared memory)");
        return true;
    }();
    (void)configured;
    const int tiles = static_cast<int>((max_length + kTcQueries - 1) / kTcQueries);
    const dim3 grid(static_cast<unsigned>(n_sequences * tiles), static_cast<unsigned>(heads));
    attention_tc_kernel<T, DP><<<grid, kTcThreads, bytes, stream>>>(qkv, bias, cu_seqlens, heads, dim, scale, window,
                                                                   tiles, out);
}

template <class T, int DP, int KT>
void launch_cores(const T* qkv, const float* bias, const std::int32_t* cu_seqlens, std::size_t n_sequences,
                  std::size_t max_length, int heads, int dim, float scale, int window, T* out, Stream stream) {
    const int tiles = static_cast<int>((max_length + kQueryTile - 1) / kQueryTile);
    const dim3 grid(static_cast<unsigned>(n_sequences * tiles), static_cast<unsigned>(heads));
    attention_kernel<T, DP, KT><<<grid, kQueryTile, 0, stream>>>(qkv, bias, cu_seqlens, heads, dim, scale, window,
                                                                tiles, out);
}

template <class T>
void launch_attention(const T* qkv, const float* bias, const std::int32_t* cu_seqlens, std::size_t n_sequences,
                      std::size_t max_length, std::size_t n_heads, std::size_t head_dim, float scale,
                      std::size_t window, T* out, Stream stream, AttentionKernel kernel) {
    if (head_dim == 0 || head_dim > 128) {
        check(static_cast<int>(cudaErrorInvalidValue), "attention_varlen: head size must be in [1, 128]");
    }
    const int heads = static_cast<int>(n_heads), dim = static_cast<int>(head_dim);
    const int w = static_cast<int>(std::min<std::size_t>(window, 1u << 30));
    const AttentionKernel chosen = kernel != AttentionKernel::Auto ? kernel : attention_kernel_from_environment();
    if constexpr (!std::is_same_v<T, float>) {
        if (chosen == AttentionKernel::Auto || chosen == AttentionKernel::Registers) {
#define WINNOW_REGISTERS(D)                                                                                   \
    (dim == D && launch_registers<T, D>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, scale, w, out, \
                                        stream))
            if (WINNOW_REGISTERS(16) || WINNOW_REGISTERS(32) || WINNOW_REGISTERS(64)) {
                check_launch("attention_varlen");
                return;
            }
#undef WINNOW_REGISTERS
        }
        if (chosen != AttentionKernel::Cores) {
            if (dim <= 16) {
                launch_tc<T, 16>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, dim, scale, w, out, stream);
            } else if (dim <= 32) {
                launch_tc<T, 32>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, dim, scale, w, out, stream);
            } else if (dim <= 64) {
                launch_tc<T, 64>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, dim, scale, w, out, stream);
            } else {
                launch_tc<T, 128>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, dim, scale, w, out, stream);
            }
            check_launch("attention_varlen");
            return;
        }
    }
    if (dim <= 16) {
        launch_cores<T, 16, 32>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, dim, scale, w, out, stream);
    } else if (dim <= 32) {
        launch_cores<T, 32, 32>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, dim, scale, w, out, stream);
    } else if (dim <= 64) {
        launch_cores<T, 64, 32>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, dim, scale, w, out, stream);
    } else {
        launch_cores<T, 128, 16>(qkv, bias, cu_seqlens, n_sequences, max_length, heads, dim, scale, w, out, stream);
    }
    check_launch("attention_varlen");
}
}  // namespace

void attention_varlen(const void* qkv, const float* qkv_bias, const std::int32_t* cu_seqlens, std::size_t n_sequences,
                      std::size_t max_length, std::size_t n_heads, std::size_t head_dim, float scale, void* out,
                      DeviceType type, Stream stream, std::size_t window, AttentionKernel kernel) {
    if (n_sequences == 0 || max_length == 0) return;
    WINNOW_CUDA_DISPATCH(type, launch_attention<T>(static_cast<const T*>(qkv), qkv_bias, cu_seqlens, n_sequences,
                                                   max_length, n_heads, head_dim, scale, window,
                                                   static_cast<T*>(out), stream, kernel));
}

}  // namespace winnow::cuda
