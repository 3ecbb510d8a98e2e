#pragma once
// The FFT engine (per-path code, src/conv): one layer's convolution by tiled overlap-save with reused
// transforms, for one tiling (fft_tiling.hpp). fft_autotune.cpp chooses the tiling.

#include <memory>

#include "znn/conv/engine.hpp"

#include "fft_tiling.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::conv::ZNN_SIMD_NS {

/// An FFT engine of `tiling` for `problem`.
std::unique_ptr<ConvEngine> make_tiled_fft_engine(const ConvProblem& problem, const ConvContext& context, const Tiling& tiling);

}  // namespace znn::conv::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"
