#pragma once
// Vec8: eight floats in one register (AVX2 + FMA), or a plain array where AVX2 is not available, so
// the kernels keep one algorithm and stay portable. Private to src/conv.

#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ZNN_HAVE_AVX2 1
#else
#define ZNN_HAVE_AVX2 0
#endif
#if defined(__AVX512F__)
#define ZNN_HAVE_AVX512 1
#else
#define ZNN_HAVE_AVX512 0
#endif

namespace znn::conv::simd {

#if ZNN_HAVE_AVX2

struct Vec8 {
    __m256 v;
};

/// Lane mask with the first n (0..8) lanes set.
inline __m256i mask_first(int n)
{
    static const std::int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTable + 8 - n));
}

inline Vec8 zero() { return {_mm256_setzero_ps()}; }
inline Vec8 load(const float* p) { return {_mm256_loadu_ps(p)}; }
inline Vec8 load_first(const float* p, int n) { return {_mm256_maskload_ps(p, mask_first(n))}; }
inline Vec8 broadcast(const float* p) { return {_mm256_broadcast_ss(p)}; }
inline Vec8 set1(float a) { return {_mm256_set1_ps(a)}; }
inline void store(float* p, Vec8 a) { _mm256_storeu_ps(p, a.v); }
inline void store_first(float* p, Vec8 a, int n) { _mm256_maskstore_ps(p, mask_first(n), a.v); }
inline Vec8 fmadd(Vec8 a, Vec8 b, Vec8 c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline Vec8 fnmadd(Vec8 a, Vec8 b, Vec8 c) { return {_mm256_fnmadd_ps(a.v, b.v, c.v)}; }
inline Vec8 add(Vec8 a, Vec8 b) { return {_mm256_add_ps(a.v, b.v)}; }
inline Vec8 sub(Vec8 a, Vec8 b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline Vec8 mul(Vec8 a, Vec8 b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline float hsum(Vec8 a)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#else

struct Vec8 {
    float v[8];
};

inline Vec8 zero() { return {}; }
inline Vec8 load(const float* p)
{
    Vec8 r;
    for (int i = 0; i < 8; ++i) r.v[i] = p[i];
    return r;
}
inline Vec8 load_first(const float* p, int n)
{
    Vec8 r{};
    for (int i = 0; i < n; ++i) r.v[i] = p[i];
    return r;
}
inline Vec8 set1(float a)
{
    Vec8 r;
    for (float& x : r.v) x = a;
    return r;
}
inline Vec8 broadcast(const float* p) { return set1(*p); }
inline void store(float* p, Vec8 a)
{
    for (int i = 0; i < 8; ++i) p[i] = a.v[i];
}
inline void store_first(float* p, Vec8 a, int n)
{
    for (int i = 0; i < n; ++i) p[i] = a.v[i];
}
inline Vec8 fmadd(Vec8 a, Vec8 b, Vec8 c)
{
    for (int i = 0; i < 8; ++i) c.v[i] += a.v[i] * b.v[i];
    return c;
}
inline Vec8 fnmadd(Vec8 a, Vec8 b, Vec8 c)
{
    for (int i = 0; i < 8; ++i) c.v[i] -= a.v[i] * b.v[i];
    return c;
}
inline Vec8 add(Vec8 a, Vec8 b)
{
    for (int i = 0; i < 8; ++i) a.v[i] += b.v[i];
    return a;
}
inline Vec8 sub(Vec8 a, Vec8 b)
{
    for (int i = 0; i < 8; ++i) a.v[i] -= b.v[i];
    return a;
}
inline Vec8 mul(Vec8 a, Vec8 b)
{
    for (int i = 0; i < 8; ++i) a.v[i] *= b.v[i];
    return a;
}
inline float hsum(Vec8 a)
{
    float s = 0;
    for (float x : a.v) s += x;
    return s;
}

#endif

/// Keeps a loaded value in a register: without it GCC folds the load into every FMA that uses the
/// value, re-reading it from memory once per use, and the kernel runs out of load bandwidth.
template <class V>
inline void keep_in_register(V& v)
{
#if defined(__GNUC__) && ZNN_HAVE_AVX2
    asm("" : "+v"(v));
#else
    (void)v;
#endif
}

/// The widest vector of this build: 16 floats with AVX-512, else 8. load/store need pointers
/// aligned to 4·kLanes bytes; load_first/store_first touch only the first n (0..kLanes) floats, at
/// any address; transpose turns kLanes vectors (rows) into their columns.
struct Wide {
#if ZNN_HAVE_AVX512
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
#else
    static constexpr int kLanes = 8;
    using V = Vec8;
    static V zero() { return simd::zero(); }
    static V set1(float a) { return simd::set1(a); }
    static V load(const float* p) { return simd::load(p); }
    static void store(float* p, V a) { simd::store(p, a); }
#if ZNN_HAVE_AVX2
    static void stream(float* p, V a) { _mm256_stream_ps(p, a.v); }
#else
    static void stream(float* p, V a) { simd::store(p, a); }
#endif
    static V load_first(const float* p, int n) { return simd::load_first(p, n); }
    static void store_first(float* p, V a, int n) { simd::store_first(p, a, n); }
    static V add(V a, V b) { return simd::add(a, b); }
    static V sub(V a, V b) { return simd::sub(a, b); }
    static V mul(V a, V b) { return simd::mul(a, b); }
    static V fmadd(V a, V b, V c) { return simd::fmadd(a, b, c); }
    static V fnmadd(V a, V b, V c) { return simd::fnmadd(a, b, c); }
#if ZNN_HAVE_AVX2
    static void transpose(V r[8])
    {
        __m256 t[8], u[8];
        for (int i = 0; i < 8; i += 2) {
            t[i] = _mm256_unpacklo_ps(r[i].v, r[i + 1].v);
            t[i + 1] = _mm256_unpackhi_ps(r[i].v, r[i + 1].v);
        }
        for (int i = 0; i < 8; i += 4) {
            u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
            u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
            u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
            u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
        }
        for (int j = 0; j < 4; ++j) {
            r[j].v = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
            r[j + 4].v = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
        }
    }
#else
    static void transpose(V r[8])
    {
        for (int i = 0; i < 8; ++i)
            for (int j = i + 1; j < 8; ++j) {
                const float a = r[i].v[j];
                r[i].v[j] = r[j].v[i];
                r[j].v[i] = a;
            }
    }
#endif
#endif
};

}  // namespace znn::conv::simd
