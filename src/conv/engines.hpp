#pragma once
// Factories of the engines (private to src/conv; users call make_engine).

#include <cstddef>
#include <memory>

#include "znn/conv/engine.hpp"

namespace znn::conv {

std::unique_ptr<ConvEngine> make_naive_engine(const ConvProblem& problem, const ConvContext& context);
std::unique_ptr<ConvEngine> make_onednn_engine(const ConvProblem& problem, const ConvContext& context);

/// The FFT engine of one SIMD path (fft_autotune.cpp, compiled once per path): `make` builds it (with
/// the tiling ConvContext::fft_tile gives, the model's best, or the fastest of the best few, as
/// ConvContext::tuning says); `workspace_bound` is what it holds at most: its workspace, or, while
/// it times its candidate tilings side by side, all of theirs and the timing data.
struct FftEngineEntry {
    std::unique_ptr<ConvEngine> (*make)(const ConvProblem& problem, const ConvContext& context);
    std::size_t (*workspace_bound)(const ConvProblem& problem, const ConvContext& context);
};
namespace avx2 {
extern const FftEngineEntry kFftEngine;
}
namespace avx512 {
extern const FftEngineEntry kFftEngine;
}
/// The FFT engine of the path `context` asks for.
const FftEngineEntry& fft_engine_entry(const ConvContext& context);

}  // namespace znn::conv
