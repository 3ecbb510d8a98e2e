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

/// The widest vector of this build, for kernels that only need aligned loads, stores and FMAs:
/// 16 floats with AVX-512, else 8. Pointers must be aligned to 4·kLanes bytes.
struct Wide {
#if ZNN_HAVE_AVX512
    static constexpr int kLanes = 16;
    using V = __m512;
    static V zero() { return _mm512_setzero_ps(); }
    static V load(const float* p) { return _mm512_load_ps(p); }
    static void store(float* p, V a) { _mm512_store_ps(p, a); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
#else
    static constexpr int kLanes = 8;
    using V = Vec8;
    static V zero() { return simd::zero(); }
    static V load(const float* p) { return simd::load(p); }
    static void store(float* p, V a) { simd::store(p, a); }
    static V fmadd(V a, V b, V c) { return simd::fmadd(a, b, c); }
    static V fnmadd(V a, V b, V c) { return simd::fnmadd(a, b, c); }
#endif
};

}  // namespace znn::conv::simd
