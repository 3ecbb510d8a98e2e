#include "znn/conv/select.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "step_timer.hpp"
#include "znn/core/error.hpp"

namespace znn::conv {
namespace {

std::string key_of(const ConvProblem& p, Usage u) { return p.to_string() + " " + std::string(to_string(u)); }

std::string milliseconds(double seconds)
{
    char text[32];
    std::snprintf(text, sizeof(text), seconds < 0.01 ? "%.2f ms" : "%.1f ms", seconds * 1e3);
    return text;
}

/// Best of two timed steps after a warm-up; stops early (with what it has) once a step takes longer
/// than `give_up_after`, the candidate being clearly slower than the best so far.
double best_step_seconds(ConvEngine& engine, StepTimer& timer, double give_up_after)
{
    double best = 1e300;
    for (int round = 0; round < 3; ++round) {  // round 0 warms up (allocations, caches)
        const double seconds = timer.time_step(engine);
        if (round > 0) best = std::min(best, seconds);
        if (seconds > give_up_after) return round > 0 ? best : seconds;
    }
    return best;
}

/// `wanted` when it can run the (valid) problem, else direct: the fallback both the choice and its
/// memory estimate follow. Invalid problems keep `wanted`, so that building them reports the reason.
ConvAlgo runnable_algo(ConvAlgo wanted, const ConvProblem& problem, core::Logger* log, std::string_view name)
{
    if (wanted == ConvAlgo::Auto || problem.invalid_reason()) return wanted;
    const auto why = unsupported_reason(wanted, problem);
    if (!why) return wanted;
    if (log) log->warn(name, ": ", to_string(wanted), " cannot run it (", *why, "); using direct");
    return ConvAlgo::Direct;
}

}  // namespace

Selection ConvSelector::choose(const ConvProblem& p, Usage usage, std::string_view name)
{
    Selection s;
    const std::string label = name.empty() ? p.to_string() : std::string(name);
    if (auto it = remembered_.find(key_of(p, usage)); it != remembered_.end()) {
        s.algo = it->second;
        s.remembered = true;
        s.summary = std::string(to_string(s.algo)) + " (remembered)";
        if (log_) log_->info(label, ": ", s.summary);
        return s;
    }
    ConvContext context = context_;
    context.usage = usage;
    StepTimer timer(p, usage);
    double best = 1e300;
    for (const ConvImplementation& impl : conv_implementations()) {
        if (!impl.timed_by_auto) continue;
        if (auto reason = unsupported_reason(impl.algo, p)) {
            if (log_) log_->debug(label, ": ", to_string(impl.algo), " skipped: ", *reason);
            continue;
        }
        std::unique_ptr<ConvEngine> engine = impl.make(p, context);
        const double seconds = best_step_seconds(*engine, timer, 3 * best);
        s.seconds[impl.algo] = seconds;
        if (seconds < best) {
            best = seconds;
            s.algo = impl.algo;
            s.engine = std::move(engine);
        }
    }
    ZNN_CHECK(s.engine, "no convolution algorithm supports " + p.to_string());
    s.engine->release_cache();  // the timing data's spectra, not the layer's
    std::vector<std::pair<double, ConvAlgo>> order;
    for (auto [algo, seconds] : s.seconds) order.emplace_back(seconds, algo);
    std::sort(order.begin(), order.end());
    for (auto [seconds, algo] : order) {
        if (!s.summary.empty()) s.summary += ", ";
        s.summary += std::string(to_string(algo)) + " " + milliseconds(seconds);
    }
    s.summary += " -> " + std::string(to_string(s.algo));
    if (log_) log_->info(label, ": ", s.summary);
    remembered_[key_of(p, usage)] = s.algo;
    return s;
}

std::unique_ptr<ConvEngine> choose_engine(ConvAlgo wanted, const ConvProblem& problem, const ConvContext& context,
                                          ConvSelector* selector, core::Logger* log, std::string_view name)
{
    if (wanted == ConvAlgo::Auto) {
        std::unique_ptr<ConvSelector> own;
        if (!selector) selector = (own = std::make_unique<ConvSelector>(context, log)).get();
        Selection s = selector->choose(problem, context.usage, name);
        if (s.engine) return std::move(s.engine);
        wanted = s.algo;  // remembered: build it
    }
    return make_engine(runnable_algo(wanted, problem, log, name), problem, context);
}

std::size_t choice_workspace_estimate(ConvAlgo wanted, const ConvProblem& problem, const ConvContext& context)
{
    return workspace_estimate(runnable_algo(wanted, problem, nullptr, ""), problem, context);
}

}  // namespace znn::conv
