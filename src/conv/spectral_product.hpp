#pragma once
// The spectral matrix products of the FFT engine (per-path code, src/conv): for one block of kLanes
// frequencies, C = op(A) · B over complex matrices stored as split-complex blocks (kLanes real parts,
// then kLanes imaginary parts per spectrum), in register tiles of kTileM × kTileN.

#include <cstdint>

#include "znn/fft/simd.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::conv::ZNN_SIMD_NS {

using fft::ZNN_SIMD_NS::Wide;
constexpr int kLanes = Wide::kLanes;      // frequencies per block: 16 with AVX-512, 8 with AVX2
constexpr int kBlockFloats = 2 * kLanes;  // one block of one spectrum: the real parts, then the imaginary parts

/// C[m][n] = Σ_k op(A)[m][k] · B[k][n] for one frequency block; op conjugates A when CONJ. Strides
/// count spectra (blocks of kBlockFloats floats).
struct Gemm {
    const float* a;
    std::int64_t a_m, a_k;
    const float* b;
    std::int64_t b_k, b_n;
    float* c;
    std::int64_t c_m, c_n;
    std::int64_t M, N, K;
    const float* phase = nullptr;  ///< if set, every C block is multiplied by this block (split complex)
};

/// Register tile: MR rows of A by NR columns of B, 2·MR·NR accumulators. With AVX-512's 32 registers
/// 2×4 (16 complex accumulators); with 16 registers, 2×2. A (the kernel spectra, too large for L1)
/// is the operand to reuse: each value loaded feeds NR columns.
constexpr int kTileM = 2;
constexpr int kTileN = kLanes == 16 ? 4 : 2;

/// C = op(A)·B for one frequency block, times g.phase when it is set; op conjugates A when `conj`.
void spectral_product(const Gemm& g, bool conj);

}  // namespace znn::conv::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
