#pragma once
/// @file
/// @brief The one place a layer's convolution is chosen: `choose_engine` (a given algorithm, or `auto`
/// through ConvSelector, which times the candidates on the real shapes).
///
/// Where a choice comes from, in order: a per-group choice saved in the network file
/// (graph::NetworkOptions::conv_choices), then the job's mode and the groups' `fft` flags
/// (graph::configured_algo), then this file: choose_engine builds the asked algorithm, falls back to
/// direct (with a warning) when it cannot run the layer, and for `auto` hands back the engine the
/// selector timed, so nothing is built or tuned twice.
///
/// Timing beats any rule here: FFT wins for large kernels and many maps, direct for small kernels,
/// thin layers and the sparse layers after max-filters, and the crossover moves with the machine, the
/// transform sizes and the thread count. The selector times each supported implementation (the order of
/// conv_implementations) for one training step (or one forward pass) on random data of the layer's
/// shapes, keeps the faster, logs `conv3: fft 4.1 ms, direct 12.3 ms -> fft`, and remembers the choice
/// by problem so a second layer of the same shapes does not time again. Choices are saved in network
/// files (model::NetworkFile's convolution plan), the one saved form.
///
/// Example:
/// @code
///   ConvSelector selector(ctx, &log);
///   std::unique_ptr<ConvEngine> engine = choose_engine(ConvAlgo::Auto, problem, ctx, &selector, &log, "conv3");
/// @endcode

#include <cstddef>
#include <map>
#include <memory>
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
    std::unique_ptr<ConvEngine> engine;  ///< the engine that was timed fastest (null when remembered)
};

/// @brief Chooses, and remembers, the fastest algorithm per problem.
class ConvSelector {
public:
    explicit ConvSelector(const ConvContext& context, core::Logger* log = nullptr) : context_(context), log_(log) {}

    /// The fastest supported algorithm (naive is never a candidate) for `problem` used as `usage`,
    /// with the engine it timed; `name` labels the log line. Times the candidates unless the choice is
    /// remembered.
    Selection choose(const ConvProblem& problem, Usage usage, std::string_view name = "");

private:
    ConvContext context_;
    core::Logger* log_;
    std::map<std::string, ConvAlgo> remembered_;
};

/// The engine of one layer: of `wanted` (Direct, Fft, Naive), or for Auto the fastest by `selector`'s
/// timing (a private selector when null). A wanted algorithm that cannot run the problem gives direct,
/// with a warning on `log` naming `name` and the reason.
std::unique_ptr<ConvEngine> choose_engine(ConvAlgo wanted, const ConvProblem& problem, const ConvContext& context,
                                          ConvSelector* selector, core::Logger* log, std::string_view name);

/// What choose_engine's choice holds at most, known before it runs (for memory budgets): for Auto,
/// every candidate the selector builds and times.
std::size_t choice_workspace_estimate(ConvAlgo wanted, const ConvProblem& problem, const ConvContext& context);

}  // namespace znn::conv
