// The max-filter's row kernel, compiled once per SIMD path: AVX-512 folds the taps with mask
// registers in 16-float vectors; the AVX2 path is the plain loop, which the compiler vectorises.

#include <immintrin.h>

#include "max_rows.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::conv::ZNN_SIMD_NS {
namespace {

void max_row(const Taps& taps, std::int64_t n, std::int64_t step, float* __restrict__ best, std::int32_t* __restrict__ index)
{
    const std::size_t count = taps.rows.size();
#if ZNN_SIMD_WIDTH == 16
    // All taps folded in registers, one store per vector. Each vector's taps form a dependency chain
    // (compare, blend, compare, ...), so four vectors are folded together to hide its latency.
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i lane_offsets = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(static_cast<std::int32_t>(step)));
    auto load = [&](const float* p, std::int64_t x, __mmask16 m) {
        if (step == 1) return _mm512_maskz_loadu_ps(m, p + x);
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, lane_offsets, p + x * step, 4);
    };
    constexpr int kGroup = 4;
    // Folds kGroup vectors starting at x; MASKED handles the row's tail (lanes past n are skipped).
    auto fold_group = [&]<bool MASKED>(std::int64_t x) {
        __m512 b[kGroup];
        __m512i at[kGroup];
        __mmask16 m[kGroup];
        for (int g = 0; g < kGroup; ++g) {
            const std::int64_t left = n - (x + 16 * g);
            m[g] = !MASKED || left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << left) - 1);
            b[g] = load(taps.rows[0], x + 16 * g, m[g]);
            at[g] = _mm512_add_epi32(_mm512_set1_epi32(taps.base[0] + static_cast<std::int32_t>((x + 16 * g) * step)), lane_offsets);
        }
        for (std::size_t t = 1; t < count; ++t) {
            const float* row = taps.rows[t];
            const std::int32_t base = taps.base[t];
            for (int g = 0; g < kGroup; ++g) {
                const __m512 v = MASKED ? load(row, x + 16 * g, m[g]) : load(row, x + 16 * g, 0xFFFF);
                const __mmask16 greater = _mm512_cmp_ps_mask(v, b[g], _CMP_GT_OQ);
                b[g] = _mm512_mask_mov_ps(b[g], greater, v);
                at[g] = _mm512_mask_mov_epi32(
                    at[g], greater, _mm512_add_epi32(_mm512_set1_epi32(base + static_cast<std::int32_t>((x + 16 * g) * step)), lane_offsets));
            }
        }
        for (int g = 0; g < kGroup; ++g) {
            if (!MASKED || m[g] == 0xFFFF) {
                _mm512_storeu_ps(best + x + 16 * g, b[g]);
                _mm512_storeu_si512(index + x + 16 * g, at[g]);
            } else if (m[g] != 0) {
                _mm512_mask_storeu_ps(best + x + 16 * g, m[g], b[g]);
                _mm512_mask_storeu_epi32(index + x + 16 * g, m[g], at[g]);
            }
        }
    };
    std::int64_t x = 0;
    for (; x + 16 * kGroup <= n; x += 16 * kGroup) fold_group.template operator()<false>(x);
    if (x < n) fold_group.template operator()<true>(x);
#else
    for (std::int64_t x = 0; x < n; ++x) {
        float b = taps.rows[0][x * step];
        std::int32_t at = taps.base[0] + static_cast<std::int32_t>(x * step);
        for (std::size_t t = 1; t < count; ++t) {
            const float v = taps.rows[t][x * step];
            if (v > b) {
                b = v;
                at = taps.base[t] + static_cast<std::int32_t>(x * step);
            }
        }
        best[x] = b;
        index[x] = at;
    }
#endif
}

}  // namespace
}  // namespace znn::conv::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"

namespace znn::conv::ZNN_SIMD_NS {

const MaxRowKernel kMaxRow = &max_row;

}  // namespace znn::conv::ZNN_SIMD_NS
