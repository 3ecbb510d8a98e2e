#pragma once
// Wide: one SIMD vector of floats and the operations the transforms and the spectral products use,
// for the path this file is compiled for (ZNN_SIMD_WIDTH: 16 floats with AVX-512, 8 with AVX2 + FMA).
// Per-path code only: include it inside a simd_begin.hpp region (see there).

#include <immintrin.h>

#include <cstdint>

#include "znn/core/simd_begin.hpp"

namespace znn::fft::ZNN_SIMD_NS {

/// Keeps a loaded value in a register: without it GCC folds the load into every FMA that uses the
/// value, re-reading it from memory once per use, and the kernel runs out of load bandwidth.
template <class V>
inline void keep_in_register(V& v)
{
#if defined(__GNUC__)
    asm("" : "+v"(v));
#else
    (void)v;
#endif
}

/// The vector of this path: 16 floats with AVX-512, 8 with AVX2. load/store need pointers aligned to
/// 4·kLanes bytes; load_first/store_first touch only the first n (0..kLanes) floats, at any address;
/// transpose turns kLanes vectors (rows) into their columns.
struct Wide {
#if ZNN_SIMD_WIDTH == 16
    static constexpr int kLanes = 16;
    using V = __m512;
    static V zero() { return _mm512_setzero_ps(); }
    static V set1(float a) { return _mm512_set1_ps(a); }
    static V load(const float* p) { return _mm512_load_ps(p); }
    static void store(float* p, V a) { _mm512_store_ps(p, a); }
    static void stream(float* p, V a) { _mm512_stream_ps(p, a); }  ///< a store that bypasses the caches
    static V load_first(const float* p, int n) { return _mm512_maskz_loadu_ps(first_mask(n), p); }
    static void store_first(float* p, V a, int n) { _mm512_mask_storeu_ps(p, first_mask(n), a); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
    static __mmask16 first_mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
    static void transpose(V r[16])
    {
        // The maskz forms with every lane set: GCC 12 warns that the plain forms read an undefined value.
        constexpr __mmask16 kAll16 = 0xFFFF;
        constexpr __mmask8 kAll8 = 0xFF;
        __m512 t[16];
        for (int i = 0; i < 16; i += 2) {
            t[i] = _mm512_maskz_unpacklo_ps(kAll16, r[i], r[i + 1]);
            t[i + 1] = _mm512_maskz_unpackhi_ps(kAll16, r[i], r[i + 1]);
        }
        __m512 u[16];  // u[4i + j]: rows 4i..4i+3 at columns j, j+4, j+8, j+12 (one per 128-bit lane)
        for (int i = 0; i < 16; i += 4) {
            const __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
            const __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
            u[i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, t0, t2));
            u[i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, t0, t2));
            u[i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, t1, t3));
            u[i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, t1, t3));
        }
        for (int j = 0; j < 4; ++j) {
            const __m512 v0 = _mm512_maskz_shuffle_f32x4(kAll16, u[j], u[4 + j], 0x88);
            const __m512 v1 = _mm512_maskz_shuffle_f32x4(kAll16, u[j], u[4 + j], 0xDD);
            const __m512 v2 = _mm512_maskz_shuffle_f32x4(kAll16, u[8 + j], u[12 + j], 0x88);
            const __m512 v3 = _mm512_maskz_shuffle_f32x4(kAll16, u[8 + j], u[12 + j], 0xDD);
            r[j] = _mm512_maskz_shuffle_f32x4(kAll16, v0, v2, 0x88);
            r[j + 8] = _mm512_maskz_shuffle_f32x4(kAll16, v0, v2, 0xDD);
            r[j + 4] = _mm512_maskz_shuffle_f32x4(kAll16, v1, v3, 0x88);
            r[j + 12] = _mm512_maskz_shuffle_f32x4(kAll16, v1, v3, 0xDD);
        }
    }
#elif ZNN_SIMD_WIDTH == 8
    static constexpr int kLanes = 8;
    using V = __m256;
    static V zero() { return _mm256_setzero_ps(); }
    static V set1(float a) { return _mm256_set1_ps(a); }
    static V load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, V a) { _mm256_storeu_ps(p, a); }
    static void stream(float* p, V a) { _mm256_stream_ps(p, a); }  ///< a store that bypasses the caches
    static V load_first(const float* p, int n) { return _mm256_maskload_ps(p, first_mask(n)); }
    static void store_first(float* p, V a, int n) { _mm256_maskstore_ps(p, first_mask(n), a); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
    /// Lane mask with the first n (0..8) lanes set.
    static __m256i first_mask(int n)
    {
        static const std::int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTable + 8 - n));
    }
    static void transpose(V r[8])
    {
        __m256 t[8], u[8];
        for (int i = 0; i < 8; i += 2) {
            t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
            t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
        }
        for (int i = 0; i < 8; i += 4) {
            u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
            u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
            u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
            u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
        }
        for (int j = 0; j < 4; ++j) {
            r[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
            r[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
        }
    }
#else
#error "ZNN_SIMD_WIDTH must be 8 or 16"
#endif
};

}  // namespace znn::fft::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
