// int8 Linear: weights quantized at load, symmetric per output channel (s8, scale = max|w| / 127), in
// oneDNN's blocked layout for this CPU; activations quantized per call, asymmetric per row (u8 with a
// zero point per token: one outlier token no longer coarsens the grid of every other token, which per-tensor
// quantization, ONNX Runtime's dynamic scheme, does). The GEMM is one plain u8 x s8 -> s32 matmul
// (AVX512-VNNI, oneDNN's brgemm kernel: no runtime scales and no post-ops, which in oneDNN 2.6 fall back to
// slower kernels); our own epilogue then dequantizes each s32 row,
//   y[r, o] = x_scale[r] * w_scale[o] * (acc[r, o] - zero[r] * sum_i w_q[o, i]) + b[o],
// and applies the activation in f32 (GELU vectorized here).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "tensor/avx512.h"
#include "tensor/linear_dnnl.h"
#include "tensor/linear_precision.h"
#include "tensor/row_blocks.h"
#include "winnow/error.h"

namespace winnow {

namespace {

using dnnl::memory;
using DataType = memory::data_type;
using FormatTag = memory::format_tag;

constexpr int kKind = 2;
constexpr float kQMax = 127.0f;
// Below this many values a pass runs on one thread.
constexpr std::size_t kParallelMin = 1 << 14;

// Rows per chunk of the forward pass (see LinearInt8::forward).
constexpr std::size_t kChunkRows = 64;

// user_scratchpad: the caller passes the scratchpad (chunks run concurrently on several threads).
dnnl::matmul::primitive_desc make_int8_pd(long rows, long in, long out, const memory::desc& weights,
                                          bool user_scratchpad = false) {
    const memory::desc src({rows, in}, DataType::u8, FormatTag::ab);
    const memory::desc dst({rows, out}, DataType::s32, FormatTag::ab);
    dnnl::primitive_attr attr;
    if (user_scratchpad) attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return {dnnl::matmul::desc(src, weights, dst), attr, lowp::engine()};
}

// One row of x as asymmetric u8: x ~ scale * (q - zero), q in [0, 255], the range [min(x, 0), max(x, 0)]
// mapped onto it (0 is exactly representable, so zero padding stays zero).
void quantize_row(const float* x, std::size_t n, std::uint8_t* q, float& scale_out, std::int32_t& zero_out) noexcept {
    float lo = 0.0f, hi = 0.0f;
    std::size_t i = 0;
#if defined(__AVX512F__)
    __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        vlo = _mm512_min_ps(vlo, v);
        vhi = _mm512_max_ps(vhi, v);
    }
    lo = _mm512_reduce_min_ps(vlo);
    hi = _mm512_reduce_max_ps(vhi);
#endif
    for (std::size_t j = i; j < n; ++j) {
        lo = std::min(lo, x[j]);
        hi = std::max(hi, x[j]);
    }
    const float range = hi - lo;
    const float scale = range > 0.0f && std::isfinite(range) ? range / 255.0f : 1.0f;
    const float zero = std::clamp(std::nearbyint(-lo / scale), 0.0f, 255.0f);
    const float inv = 1.0f / scale;
    scale_out = scale;
    zero_out = static_cast<std::int32_t>(zero);
    i = 0;
#if defined(__AVX512F__)
    const __m512 vinv = _mm512_set1_ps(inv), vzero = _mm512_set1_ps(zero);
    const __m512 vmin = _mm512_setzero_ps(), vmax = _mm512_set1_ps(255.0f);
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), vinv, vzero);
        v = _mm512_min_ps(_mm512_max_ps(v, vmin), vmax);
        const __m512i r = _mm512_cvtps_epi32(v);  // round to nearest even (MXCSR default)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtepi32_epi8(r));
    }
#endif
    for (; i < n; ++i) {
        q[i] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(x[i] * inv + zero), 0.0f, 255.0f));
    }
}

#if defined(__AVX512F__)
// GELU(x) = x Phi(x) on 16 lanes, Phi(-|x|) = (1 - erf(|x| / sqrt 2)) / 2 with Abramowitz & Stegun 7.1.28,
// 1 - erf(z) = (1 + a1 z + ... + a6 z^6)^-16 (|error| < 3e-7; max abs GELU error 8e-7, far below the int8
// quantization error it follows): a polynomial, one reciprocal and four squarings, no exp. x < -10 gives 0 (the
// true value is below 1e-22).
inline __m512 gelu_erf(__m512 x) noexcept {
    const __m512 z = _mm512_min_ps(_mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f)),
                                   _mm512_set1_ps(8.0f));
    __m512 p = _mm512_set1_ps(0.0000430638f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(0.0002765672f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(0.0001520143f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(0.0092705272f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(0.0422820123f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(0.0705230784f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.0f));
    // 1 / p: the 14-bit estimate and one Newton step (f32 accurate before the 16th power).
    __m512 t = _mm512_rcp14_ps(p);
    t = _mm512_mul_ps(t, _mm512_fnmadd_ps(p, t, _mm512_set1_ps(2.0f)));
    t = _mm512_mul_ps(t, t);
    t = _mm512_mul_ps(t, t);
    t = _mm512_mul_ps(t, t);
    t = _mm512_mul_ps(t, t);
    const __m512 tail = _mm512_mul_ps(t, _mm512_set1_ps(0.5f));  // Phi(-|x|)
    const __mmask16 positive = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    __m512 phi = _mm512_mask_sub_ps(tail, positive, _mm512_set1_ps(1.0f), tail);
    phi = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-10.0f), _CMP_GE_OQ), phi);
    return _mm512_mul_ps(x, phi);
}
#endif

// y[o] = act(scale * w_scale[o] * (acc[o] - zero * w_sum[o]) + bias[o]) for one row. `stream`: write y with
// non-temporal stores (y 64-byte aligned; the caller fences), for outputs too large to stay in cache, where a
// normal store would first read each line from memory.
void dequantize_row(const std::int32_t* acc, std::size_t n, float scale, std::int32_t zero, const float* w_scale,
                    const std::int32_t* w_sum, const float* bias, Activation activation, float* y,
                    bool stream = false) noexcept {
    std::size_t o = 0;
    bool activated = activation == Activation::None;  // the vector loop applied the activation
#if defined(__AVX512F__)
    const __m512 vscale = _mm512_set1_ps(scale);
    const __m512i vzero = _mm512_set1_epi32(zero);
    const bool gelu = activation == Activation::Gelu;
    for (; o + 16 <= n; o += 16) {
        const __m512i centred =
            _mm512_sub_epi32(_mm512_loadu_si512(acc + o), _mm512_mullo_epi32(vzero, _mm512_loadu_si512(w_sum + o)));
        __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(centred), _mm512_mul_ps(vscale, _mm512_loadu_ps(w_scale + o)),
                                   _mm512_loadu_ps(bias + o));
        if (gelu) v = gelu_erf(v);
        if (stream) {
            _mm512_stream_ps(y + o, v);
        } else {
            _mm512_storeu_ps(y + o, v);
        }
    }
    activated = activated || gelu;
#endif
    const std::size_t vectorized = o;
    for (; o < n; ++o) {
        const auto centred = static_cast<float>(acc[o] - zero * w_sum[o]);
        y[o] = activate(activation, centred * (scale * w_scale[o]) + bias[o]);
    }
    // Activations without a vector form (tanh, ReLU, SiLU) on the vectorized part.
    if (!activated) {
        for (std::size_t c = 0; c < vectorized; ++c) y[c] = activate(activation, y[c]);
    }
}

class LinearInt8 final : public LinearKernel {
public:
    LinearInt8(const Tensor& weight, const Tensor& bias)
        : in_(static_cast<long>(weight.cols())), out_(static_cast<long>(weight.rows())) {
        auto& engine = lowp::engine();
        const auto in = static_cast<std::size_t>(in_);
        const auto out = static_cast<std::size_t>(out_);
        // Per output channel: row o of the [out x in] PyTorch matrix.
        weight_scales_.resize(out);
        weight_sums_.resize(out);
        std::vector<std::int8_t> quantized(out * in);
        for (std::size_t o = 0; o < out; ++o) {
            const float* row = weight.row(o);
            float amax = 0.0f;
            for (std::size_t i = 0; i < in; ++i) amax = std::max(amax, std::fabs(row[i]));
            const float scale = amax > 0.0f ? amax / kQMax : 1.0f;
            weight_scales_[o] = scale;
            std::int32_t sum = 0;
            for (std::size_t i = 0; i < in; ++i) {
                const float q = std::clamp(std::nearbyint(row[i] / scale), -kQMax, kQMax);
                quantized[o * in + i] = static_cast<std::int8_t>(q);
                sum += static_cast<std::int32_t>(q);
            }
            weight_sums_[o] = sum;
        }
        const memory::desc any_weights({in_, out_}, DataType::s8, FormatTag::any);
        weights_desc_ = make_int8_pd(lowp::kLayoutRows, in_, out_, any_weights).weights_desc();
        const memory::desc torch_layout({in_, out_}, DataType::s8, FormatTag::ba);
        memory source(torch_layout, engine, quantized.data());
        weights_ = memory(weights_desc_, engine);
        dnnl::stream stream(engine);
        dnnl::reorder(source, weights_).execute(stream, source, weights_);
        stream.wait();
        bias_.assign(out, 0.0f);
        if (!bias.empty()) std::memcpy(bias_.data(), bias.data(), out * sizeof(float));
    }

    // Rows are processed in chunks of kChunkRows, each one by one thread start to end (quantize, a single-threaded
    // matmul, dequantize), so a chunk's u8 input and s32 output stay in that core's L2 instead of three
    // full-matrix passes through memory, and one parallel region replaces three.
    void forward(const float* x, std::size_t rows, float* y, Activation activation) const override {
        if (rows == 0) return;
        const auto in = static_cast<std::size_t>(in_);
        const auto out = static_cast<std::size_t>(out_);
        const ChunkPlan plan(rows);
        // Primitives are made here, outside the parallel region (making one may change the thread count briefly).
        const ChunkPair matmul = chunk_matmuls(plan);
        const bool non_temporal = streams_output(y, rows, out);
#pragma omp parallel num_threads(plan.team)
        {
            ChunkBuffers& buffers = chunk_buffers();
            buffers.reserve(in, 0, out, matmul.scratchpad_bytes());
            dnnl::stream stream(lowp::engine());
#pragma omp for schedule(static)
            for (std::size_t c = 0; c < plan.n_chunks; ++c) {
                const std::size_t r0 = c * kChunkRows;
                const std::size_t n = plan.rows_of(c);
                quantize_multiply(matmul.of(plan, c), x + r0 * in, n, buffers, stream);
                dequantize_rows(buffers.acc.data(), n, buffers.scales, buffers.zeros, activation, y + r0 * out,
                                non_temporal);
                if (non_temporal) non_temporal_fence();  // before the loop's closing barrier lets others read y
            }
        }
    }

    // y = second(act(this(x))), chunk by chunk: each chunk's intermediate rows go from this layer's s32 output
    // through the bias and activation straight to the u8 input of `second`, in a row buffer in L1, and never
    // reach memory in f32 (one pass instead of a store, a reload and two quantization passes).
    bool forward_pair(const LinearKernel& second, const float* x, std::size_t rows, float* y,
                      Activation activation) const override {
        const auto* down = dynamic_cast<const LinearInt8*>(&second);
        if (down == nullptr || down->in_ != out_) return false;
        if (rows == 0) return true;
        const auto in = static_cast<std::size_t>(in_);
        const auto mid = static_cast<std::size_t>(out_);
        const auto out = static_cast<std::size_t>(down->out_);
        const ChunkPlan plan(rows);
        const ChunkPair first_matmul = chunk_matmuls(plan);
        const ChunkPair second_matmul = down->chunk_matmuls(plan);
        const bool non_temporal = streams_output(y, rows, out);
#pragma omp parallel num_threads(plan.team)
        {
            ChunkBuffers& buffers = chunk_buffers();
            buffers.reserve(in, mid, std::max(mid, out),
                            std::max(first_matmul.scratchpad_bytes(), second_matmul.scratchpad_bytes()));
            dnnl::stream stream(lowp::engine());
            float mid_scales[kChunkRows];
            std::int32_t mid_zeros[kChunkRows];
#pragma omp for schedule(static)
            for (std::size_t c = 0; c < plan.n_chunks; ++c) {
                const std::size_t r0 = c * kChunkRows;
                const std::size_t n = plan.rows_of(c);
                quantize_multiply(first_matmul.of(plan, c), x + r0 * in, n, buffers, stream);
                for (std::size_t r = 0; r < n; ++r) {
                    dequantize_row(buffers.acc.data() + r * mid, mid, buffers.scales[r], buffers.zeros[r],
                                   weight_scales_.data(), weight_sums_.data(), bias_.data(), activation,
                                   buffers.row.data());
                    quantize_row(buffers.row.data(), mid, buffers.q_mid.data() + r * mid, mid_scales[r], mid_zeros[r]);
                }
                const Chunk& second_chunk = second_matmul.of(plan, c);
                std::memset(buffers.q_mid.data() + n * mid, 0, (second_chunk.rows - n) * mid);
                down->run_matmul(second_chunk, buffers.q_mid.data(), buffers.acc.data(), buffers, stream);
                down->dequantize_rows(buffers.acc.data(), n, mid_scales, mid_zeros, Activation::None, y + r0 * out,
                                      non_temporal);
                if (non_temporal) non_temporal_fence();
            }
        }
        return true;
    }

private:
    // Whether to write an output of rows x out floats at y with non-temporal stores: when it is larger than the
    // caches hold anyway (so the consumer reads it from memory either way) and every row is 64-byte aligned.
    static bool streams_output(const float* y, std::size_t rows, std::size_t out) noexcept {
#if defined(__AVX512F__)
        return rows * out * sizeof(float) >= kNonTemporalBytes && out % 16 == 0 && reinterpret_cast<std::uintptr_t>(y) % 64 == 0;
#else
        (void)y, (void)rows, (void)out;
        return false;
#endif
    }

    struct Chunk {
        std::size_t rows = 0;  // the matmul's row count; a tail chunk's extra rows are zero padding
        dnnl::matmul primitive;
        memory::desc scratchpad_desc;
        std::size_t scratchpad_bytes = 0;
    };

    // How `rows` rows split into chunks, and how many threads share them.
    struct ChunkPlan {
        explicit ChunkPlan(std::size_t rows)
            : n_chunks((rows + kChunkRows - 1) / kChunkRows),
              tail(rows - (n_chunks - 1) * kChunkRows),
              team(static_cast<int>(std::min<std::size_t>(n_chunks, std::max(1, omp_get_max_threads())))) {}
        std::size_t rows_of(std::size_t c) const noexcept { return c + 1 == n_chunks ? tail : kChunkRows; }
        std::size_t n_chunks;
        std::size_t tail;  // rows of the last chunk, 1..kChunkRows
        int team;
    };

    // The matmuls of a plan: full chunks and the last one.
    struct ChunkPair {
        Chunk full, last;
        const Chunk& of(const ChunkPlan& plan, std::size_t c) const noexcept {
            return c + 1 == plan.n_chunks ? last : full;
        }
        std::size_t scratchpad_bytes() const noexcept { return std::max(full.scratchpad_bytes, last.scratchpad_bytes); }
    };

    // Per-thread buffers of the chunk loop, kept across calls.
    struct ChunkBuffers {
        std::vector<std::uint8_t> q;      // u8 input of a chunk: [kChunkRows x in]
        std::vector<std::uint8_t> q_mid;  // u8 input of the second layer of a pair: [kChunkRows x mid]
        std::vector<std::int32_t> acc;    // s32 output: [kChunkRows x out]
        std::vector<float> row;           // one f32 intermediate row
        std::vector<std::uint8_t> scratch;
        float scales[kChunkRows];
        std::int32_t zeros[kChunkRows];
        // Grows the buffers to these sizes (never shrinks them: layers of different shapes alternate).
        void reserve(std::size_t in, std::size_t mid, std::size_t out, std::size_t scratch_bytes) {
            grow(q, kChunkRows * in);
            grow(q_mid, kChunkRows * mid);
            grow(acc, kChunkRows * out);
            grow(row, mid);
            grow(scratch, scratch_bytes);
        }
        template <typename T>
        static void grow(std::vector<T>& v, std::size_t n) {
            if (v.size() < n) v.resize(n);
        }
        // oneDNN memory objects for the matmul operands, made once per shape on this thread and pointed at the
        // current buffer each chunk (making them per chunk cost allocations in oneDNN and here). Few shapes recur
        // (a model's layer widths, full chunks and one tail per batch); the list is dropped if it grows past kKept.
        struct CachedMemory {
            long rows, cols;  // cols: bytes for a scratchpad (rows = -1)
            DataType type;
            memory mem;
        };
        memory& memory_for(long rows, long cols, DataType type, void* data, const memory::desc* desc = nullptr) {
            for (CachedMemory& m : memories) {
                if (m.rows == rows && m.cols == cols && m.type == type) {
                    m.mem.set_data_handle(data);
                    return m.mem;
                }
            }
            constexpr std::size_t kKept = 64;
            if (memories.size() >= kKept) memories.clear();
            memory made = desc != nullptr ? memory(*desc, lowp::engine(), data)
                                          : memory({{rows, cols}, type, FormatTag::ab}, lowp::engine(), data);
            return memories.emplace_back(CachedMemory{rows, cols, type, std::move(made)}).mem;
        }
        std::vector<CachedMemory> memories;
        std::unordered_map<int, memory> args;
    };
    static ChunkBuffers& chunk_buffers() {
        thread_local ChunkBuffers buffers;
        return buffers;
    }

    ChunkPair chunk_matmuls(const ChunkPlan& plan) const {
        // The tail runs with its row count padded to a multiple of 8 (row_blocks.h): 8 primitives, not 64.
        return {plan.n_chunks > 1 ? chunk_matmul(kChunkRows) : Chunk{}, chunk_matmul(row_blocks::padded_tail(plan.tail))};
    }

    // The first step of a chunk of n rows of x, on the calling thread: each row quantized into buffers.q (its scale
    // and zero point in buffers.scales / buffers.zeros), then buffers.acc[n x out] = q W (s32).
    void quantize_multiply(const Chunk& chunk, const float* x, std::size_t n, ChunkBuffers& buffers,
                           dnnl::stream& stream) const {
        const auto in = static_cast<std::size_t>(in_);
        for (std::size_t r = 0; r < n; ++r) {
            quantize_row(x + r * in, in, buffers.q.data() + r * in, buffers.scales[r], buffers.zeros[r]);
        }
        std::memset(buffers.q.data() + n * in, 0, (chunk.rows - n) * in);
        run_matmul(chunk, buffers.q.data(), buffers.acc.data(), buffers, stream);
    }

    // The last step: y[n x out] from this layer's s32 accumulators of n rows quantized with `scales` / `zeros`.
    void dequantize_rows(const std::int32_t* acc, std::size_t n, const float* scales, const std::int32_t* zeros,
                         Activation activation, float* y, bool non_temporal) const {
        const auto out = static_cast<std::size_t>(out_);
        for (std::size_t r = 0; r < n; ++r) {
            dequantize_row(acc + r * out, out, scales[r], zeros[r], weight_scales_.data(), weight_sums_.data(),
                           bias_.data(), activation, y + r * out, non_temporal);
        }
    }

    // acc[rows x out] = q[rows x in] W (s32) for the chunk's row count, on the calling thread.
    void run_matmul(const Chunk& chunk, const std::uint8_t* q, std::int32_t* acc, ChunkBuffers& buffers,
                    dnnl::stream& stream) const {
        const auto m = static_cast<long>(chunk.rows);
        auto& args = buffers.args;
        args[DNNL_ARG_SRC] = buffers.memory_for(m, in_, DataType::u8, const_cast<std::uint8_t*>(q));
        args[DNNL_ARG_WEIGHTS] = weights_;
        args[DNNL_ARG_DST] = buffers.memory_for(m, out_, DataType::s32, acc);
        if (chunk.scratchpad_bytes > 0) {
            args[DNNL_ARG_SCRATCHPAD] = buffers.memory_for(-1, static_cast<long>(chunk.scratchpad_bytes), DataType::u8,
                                                           buffers.scratch.data(), &chunk.scratchpad_desc);
        } else {
            args.erase(DNNL_ARG_SCRATCHPAD);
        }
        chunk.primitive.execute(stream, args);
        stream.wait();
    }

    // A single-threaded matmul for `rows` rows with a caller-provided scratchpad, shared by all layers of this
    // shape. Made with the OpenMP thread count at 1, since oneDNN sizes its work split when it makes the primitive.
    Chunk chunk_matmul(std::size_t rows) const {
        const auto m = static_cast<long>(rows);
        // Full chunks and tails padded to multiples of 8: the row counts a chunk can ask for.
        static constexpr long kChunkRowCounts[] = {8, 16, 24, 32, 40, 48, 56, 64};
        static_assert(kChunkRows == 64 && row_blocks::kTailRows == 8);
        auto primitive = lowp::cached_matmul(
            {kKind, m, in_, out_, false, Activation::None},
            [&](long chunk_rows) {
                const int previous = omp_get_max_threads();
                omp_set_num_threads(1);
                auto pd = make_int8_pd(chunk_rows, in_, out_, weights_desc_, true);
                omp_set_num_threads(previous);
                return pd;
            },
            kChunkRowCounts);
        Chunk chunk{rows, primitive, {}, 0};
        const dnnl_memory_desc_t* scratchpad =
            dnnl_primitive_desc_query_md(primitive.get_primitive_desc(), dnnl_query_scratchpad_md, 0);
        if (scratchpad != nullptr) chunk.scratchpad_desc = memory::desc(*scratchpad);
        chunk.scratchpad_bytes = chunk.scratchpad_desc.get_size();
        return chunk;
    }

    long in_, out_;
    std::vector<float> weight_scales_;
    std::vector<std::int32_t> weight_sums_;  // sum of each output channel's s8 weights
    std::vector<float> bias_;                // f32 bias (zeros when the layer has none)
    memory::desc weights_desc_;
    memory weights_;
};

}  // namespace

std::unique_ptr<LinearKernel> make_linear_int8(const Tensor& weight, const Tensor& bias) {
    WINNOW_CHECK(cpu_has_vnni(), Errc::Unsupported,
                 "linear layer: precision int8 needs a CPU with AVX512-VNNI (avx512_core_vnni), which this one lacks");
    return std::make_unique<LinearInt8>(weight, bias);
}

}  // namespace winnow
