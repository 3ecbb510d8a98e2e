#pragma once
// One timing harness for every choice made by measurement (private to src/conv): the FFT engine's
// tiling (fft_autotune.cpp) and the selector's algorithm (select.cpp) time engines the same way.

#include <cstddef>
#include <cstdint>

#include "znn/conv/engine.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::conv {

/// Random data of one problem's shapes, and one step of an engine on it.
class StepTimer {
public:
    StepTimer(const ConvProblem& problem, Usage usage);

    /// Seconds of one step of `engine` (a forward pass; for training also both gradients). Training
    /// changes the weights' version every step, so cached kernel transforms are redone each time, as
    /// in a real training step.
    double time_step(ConvEngine& engine);

    /// Bytes of the data (for memory estimates of what a measured choice holds).
    static std::size_t data_bytes(const ConvProblem& problem, Usage usage);

private:
    Usage usage_;
    std::uint64_t version_ = 0;
    tensor::Tensor<float> in_, w_, out_, grad_in_, grad_w_;
};

}  // namespace znn::conv
