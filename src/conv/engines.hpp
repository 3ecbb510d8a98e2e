#pragma once
// Factories of the engines (private to src/conv; users call make_engine).

#include <memory>

#include "znn/conv/engine.hpp"

namespace znn::conv {

std::unique_ptr<ConvEngine> make_naive_engine(const ConvProblem& problem, const ConvContext& context);
std::unique_ptr<ConvEngine> make_onednn_engine(const ConvProblem& problem, const ConvContext& context);
std::unique_ptr<ConvEngine> make_fft_engine(const ConvProblem& problem, const ConvContext& context);
/// What make_fft_engine's engine holds at most: its workspace, or, while it times its candidate
/// tilings side by side, all of theirs and the timing data.
std::size_t fft_workspace_bound(const ConvProblem& problem, const ConvContext& context);

}  // namespace znn::conv
