#include "spectral_product.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::conv::ZNN_SIMD_NS {
namespace {

template <int MR, int NR, bool CONJ, bool PHASE>
void gemm_tile(const Gemm& g, std::int64_t m0, std::int64_t n0)
{
    using V = Wide::V;
    V cr[MR][NR], ci[MR][NR];
    for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) cr[m][n] = ci[m][n] = Wide::zero();
    const float* a = g.a + m0 * g.a_m * kBlockFloats;
    const float* b = g.b + n0 * g.b_n * kBlockFloats;
    // A (the kernel spectra, tens of MB) streams from memory in short runs the hardware prefetchers
    // do not catch in time: fetch the next tile's rows while this one computes.
    const std::int64_t ahead = MR * g.a_m * kBlockFloats;
    for (std::int64_t k = 0; k < g.K; ++k, a += g.a_k * kBlockFloats, b += g.b_k * kBlockFloats) {
        for (int m = 0; m < MR; ++m) {
            __builtin_prefetch(a + ahead + m * g.a_m * kBlockFloats);
            __builtin_prefetch(a + ahead + m * g.a_m * kBlockFloats + kLanes);
        }
        V br[NR], bi[NR];
        for (int n = 0; n < NR; ++n) {
            br[n] = Wide::load(b + n * g.b_n * kBlockFloats);
            bi[n] = Wide::load(b + n * g.b_n * kBlockFloats + kLanes);
            fft::ZNN_SIMD_NS::keep_in_register(br[n]);
            fft::ZNN_SIMD_NS::keep_in_register(bi[n]);
        }
        for (int m = 0; m < MR; ++m) {
            const V ar = Wide::load(a + m * g.a_m * kBlockFloats);
            for (int n = 0; n < NR; ++n) {
                cr[m][n] = Wide::fmadd(ar, br[n], cr[m][n]);
                ci[m][n] = Wide::fmadd(ar, bi[n], ci[m][n]);
            }
            const V ai = Wide::load(a + m * g.a_m * kBlockFloats + kLanes);
            for (int n = 0; n < NR; ++n) {
                if (CONJ) {  // (ar − i·ai)(br + i·bi)
                    cr[m][n] = Wide::fmadd(ai, bi[n], cr[m][n]);
                    ci[m][n] = Wide::fnmadd(ai, br[n], ci[m][n]);
                } else {     // (ar + i·ai)(br + i·bi)
                    cr[m][n] = Wide::fnmadd(ai, bi[n], cr[m][n]);
                    ci[m][n] = Wide::fmadd(ai, br[n], ci[m][n]);
                }
            }
        }
    }
    if constexpr (PHASE) {
        const V pr = Wide::load(g.phase), pi = Wide::load(g.phase + kLanes);
        for (int m = 0; m < MR; ++m)
            for (int n = 0; n < NR; ++n) {
                const V r = cr[m][n], i = ci[m][n];
                cr[m][n] = Wide::fnmadd(i, pi, Wide::fmadd(r, pr, Wide::zero()));
                ci[m][n] = Wide::fmadd(i, pr, Wide::fmadd(r, pi, Wide::zero()));
            }
    }
    for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) {
            float* c = g.c + ((m0 + m) * g.c_m + (n0 + n) * g.c_n) * kBlockFloats;
            Wide::store(c, cr[m][n]);
            Wide::store(c + kLanes, ci[m][n]);
        }
}

/// All rows from m0 in tiles of kTileM, then the remainder, for NR columns at n0.
template <int NR, bool CONJ, bool PHASE>
void gemm_columns(const Gemm& g, std::int64_t n0)
{
    std::int64_t m0 = 0;
    for (; m0 + kTileM <= g.M; m0 += kTileM) gemm_tile<kTileM, NR, CONJ, PHASE>(g, m0, n0);
    switch (g.M - m0) {
    case 3: if constexpr (kTileM > 3) gemm_tile<3, NR, CONJ, PHASE>(g, m0, n0); break;
    case 2: if constexpr (kTileM > 2) gemm_tile<2, NR, CONJ, PHASE>(g, m0, n0); break;
    case 1: gemm_tile<1, NR, CONJ, PHASE>(g, m0, n0); break;
    default: break;
    }
}

template <bool CONJ, bool PHASE>
void gemm_with(const Gemm& g)
{
    std::int64_t n0 = 0;
    for (; n0 + kTileN <= g.N; n0 += kTileN) gemm_columns<kTileN, CONJ, PHASE>(g, n0);
    switch (g.N - n0) {
    case 3: if constexpr (kTileN > 3) gemm_columns<3, CONJ, PHASE>(g, n0); break;
    case 2: if constexpr (kTileN > 2) gemm_columns<2, CONJ, PHASE>(g, n0); break;
    case 1: gemm_columns<1, CONJ, PHASE>(g, n0); break;
    default: break;
    }
}

}  // namespace

void spectral_product(const Gemm& g, bool conj)
{
    if (conj)
        g.phase ? gemm_with<true, true>(g) : gemm_with<true, false>(g);
    else
        g.phase ? gemm_with<false, true>(g) : gemm_with<false, false>(g);
}

}  // namespace znn::conv::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
