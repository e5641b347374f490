// What the AVX-512 kernels share (kernels.cpp, linear_int8.cpp, attention_fused.cpp): the intrinsics, the GCC 12
// warning workaround below (it applies to the including file), e^x on 16 lanes, and the fence after non-temporal
// stores.
#pragma once

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 reports its own _mm512_undefined_* placeholders as "(maybe) uninitialized" once the intrinsics are
// inlined into an OpenMP region (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace winnow {

// e^x on 16 float lanes, for the softmax and the int8 GELU epilogue: the Cephes expf range reduction
// (x = n ln2 + r, ln2 split in two) and its degree-6 polynomial; inputs are clamped to the range where the
// result is a normal float.
inline __m512 exp_avx512(__m512 x) noexcept {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
    const __m512 n = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                          _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

// e^x on 16 float lanes to about 4e-5 relative error, for weights that are rounded to bf16 next (2^-9 relative):
// 2^(x log2 e) split into 2^n 2^f, |f| <= 1/2, 2^f by its degree-4 Taylor polynomial, 2^n applied by scalef
// (which also takes care of underflow to 0 for very negative x).
inline __m512 exp_approx_avx512(__m512 x) noexcept {
    const __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(1.3333558e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504109e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022651e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

}  // namespace winnow
#endif

namespace winnow {

// Orders this thread's non-temporal stores (_mm512_stream_ps) before anything after it, so another thread that
// synchronizes with this one afterwards sees them. Only the AVX-512 kernels issue such stores; elsewhere a no-op.
inline void non_temporal_fence() noexcept {
#if defined(__AVX512F__)
    _mm_sfence();
#endif
}

}  // namespace winnow
