#pragma once
/// @file
/// @brief ConvSelector: chooses direct or FFT per layer by timing both on the real shapes (`auto`).
///
/// Timing beats any rule here: FFT wins for large kernels and many maps, direct for small kernels,
/// thin layers and the sparse layers after max-filters, and the crossover moves with the machine, the
/// tile sizes FFTW happens to be fast at, and the thread count. The selector times each supported
/// algorithm for one training step (or one forward pass) on random data of the layer's shapes, keeps
/// the faster, logs `conv3: fft 4.1 ms, direct 12.3 ms -> fft`, and remembers the choice by problem so
/// a second layer of the same shapes, or a later run given the saved choices, does not time again.
///
/// Example:
/// @code
///   ConvSelector selector(ctx, &log);
///   selector.load(text_from_last_run, "choices.txt");
///   Selection s = selector.choose(problem, Usage::Training, "conv3");
///   auto engine = make_engine(s.algo, problem, ctx);
/// @endcode

#include <map>
#include <string>
#include <string_view>

#include "znn/conv/engine.hpp"
#include "znn/core/log.hpp"

namespace znn::conv {

/// @brief The outcome of a choice.
struct Selection {
    ConvAlgo algo = ConvAlgo::Direct;
    std::map<ConvAlgo, double> seconds;  ///< measured seconds per step of each algorithm tried
    bool remembered = false;             ///< taken from earlier timing, not measured now
    std::string summary;                 ///< e.g. "fft 4.1 ms, direct 12.3 ms -> fft"
};

/// @brief Chooses, and remembers, the fastest algorithm per problem.
class ConvSelector {
public:
    explicit ConvSelector(const ConvContext& context, core::Logger* log = nullptr) : context_(context), log_(log) {}

    /// The fastest supported algorithm (naive is never a candidate) for `problem` used as `usage`;
    /// `name` labels the log line. Times the candidates unless the choice is remembered.
    Selection choose(const ConvProblem& problem, Usage usage, std::string_view name = "");

    /// The remembered choices as text, one per line: `<problem> <usage> <algo>`.
    std::string save() const;
    /// Adds choices saved by save(); InputError naming `source:line` on a malformed line.
    void load(std::string_view text, std::string_view source);

private:
    double time_step(ConvAlgo algo, const ConvProblem& problem, Usage usage, double give_up_after) const;

    ConvContext context_;
    core::Logger* log_;
    std::map<std::string, ConvAlgo> remembered_;
};

}  // namespace znn::conv
