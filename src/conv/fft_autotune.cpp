// The FFT engine's choice of tiling (per-path code, src/conv): the model's best, a tile the caller
// gave, or (Tuning::Measure) the fastest of the model's best three timed on the real shapes.

#include <algorithm>
#include <memory>
#include <vector>

#include "engines.hpp"
#include "step_timer.hpp"

#include "fft_engine.hpp"
#include "fft_tiling.hpp"

#include "znn/core/simd_begin.hpp"

namespace znn::conv::ZNN_SIMD_NS {
namespace {

constexpr std::size_t kTimedTilings = 3;

/// The tiling of a tile the caller gave (ConvContext::fft_tile), clamped to the output.
Tiling given_tiling(const ConvProblem& problem, const Vec3i& given)
{
    const Tiling any = make_tiling(problem, Vec3i{1, 1, 1});
    Vec3i tile = max(min(given, any.sub_out), Vec3i{1, 1, 1});
    for (int a = 0; a < 3; ++a)
        if (problem.kernel[a] == 1) tile[a] = 1;  // never transform along an axis the kernel does not span
    return make_tiling(problem, tile);
}

std::unique_ptr<ConvEngine> make_fft_engine(const ConvProblem& problem, const ConvContext& context)
{
    if (context.fft_tile) return make_tiled_fft_engine(problem, context, given_tiling(problem, *context.fft_tile));
    const std::vector<Tiling> candidates = ranked_tilings(problem, context.usage, kTimedTilings);
    if (context.tuning == Tuning::Estimate || candidates.size() == 1)
        return make_tiled_fft_engine(problem, context, candidates.front());
    // Transform sizes matter more than any model knows: time the best few on the real shapes. All are
    // warmed up first and then timed in alternation, so a cold start or a noisy moment of the host
    // does not decide.
    StepTimer timer(problem, context.usage);
    std::vector<std::unique_ptr<ConvEngine>> engines;
    std::vector<double> best(candidates.size(), 1e300);
    for (const Tiling& t : candidates) {
        engines.push_back(make_tiled_fft_engine(problem, context, t));
        timer.time_step(*engines.back());
    }
    for (int round = 0; round < 2; ++round)
        for (std::size_t i = 0; i < engines.size(); ++i) best[i] = std::min(best[i], timer.time_step(*engines[i]));
    const auto winner = static_cast<std::size_t>(std::min_element(best.begin(), best.end()) - best.begin());
    engines[winner]->release_cache();
    return std::move(engines[winner]);
}

std::size_t fft_workspace_bound(const ConvProblem& problem, const ConvContext& context)
{
    const int threads = context.threads.threads();
    if (context.fft_tile) return fft_workspace_bytes(given_tiling(problem, *context.fft_tile), problem, context.usage, threads);
    // The engine's tiling is one of the model's candidates, ranked by transform times measured when it
    // is built: bound over all of them, largest first.
    std::vector<std::size_t> bytes;
    for (const Tiling& t : model_candidates(problem, context.usage))
        bytes.push_back(fft_workspace_bytes(t, problem, context.usage, threads));
    std::sort(bytes.rbegin(), bytes.rend());
    if (context.tuning == Tuning::Estimate || bytes.size() == 1) return bytes.front();
    // make_fft_engine times its candidates side by side: the largest few at once, and the timing data.
    std::size_t all = StepTimer::data_bytes(problem, context.usage);
    for (std::size_t i = 0; i < bytes.size() && i < kTimedTilings; ++i) all += bytes[i];
    return all;
}

}  // namespace
}  // namespace znn::conv::ZNN_SIMD_NS

#include "znn/core/simd_end.hpp"

namespace znn::conv::ZNN_SIMD_NS {

// Outside the per-path region: a variable, which other files may declare without the path's target.
const FftEngineEntry kFftEngine = {&make_fft_engine, &fft_workspace_bound};

}  // namespace znn::conv::ZNN_SIMD_NS
