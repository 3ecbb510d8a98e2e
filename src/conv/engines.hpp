#pragma once
// Factories of the engines (private to src/conv; users call make_engine).

#include <memory>

#include "znn/conv/engine.hpp"

namespace znn::conv {

std::unique_ptr<ConvEngine> make_naive_engine(const ConvProblem& problem, const ConvContext& context);
std::unique_ptr<ConvEngine> make_onednn_engine(const ConvProblem& problem, const ConvContext& context);
std::unique_ptr<ConvEngine> make_fft_engine(const ConvProblem& problem, const ConvContext& context);

}  // namespace znn::conv
