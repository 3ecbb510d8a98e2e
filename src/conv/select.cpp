#include "znn/conv/select.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"

namespace znn::conv {
namespace {

std::string key_of(const ConvProblem& p, Usage u) { return p.to_string() + " " + std::string(to_string(u)); }

std::string milliseconds(double seconds)
{
    char text[32];
    std::snprintf(text, sizeof(text), seconds < 0.01 ? "%.2f ms" : "%.1f ms", seconds * 1e3);
    return text;
}

}  // namespace

double ConvSelector::time_step(ConvAlgo algo, const ConvProblem& p, Usage usage, double give_up_after) const
{
    ConvContext context = context_;
    context.usage = usage;
    auto engine = make_engine(algo, p, context);
    core::Rng rng = core::Rng::stream(0, 0, core::RngPurpose::Test);
    auto random = [&](tensor::Shape4 s) {
        tensor::Tensor<float> t(s, core::Init::Uninitialized);
        for (float& v : t.span()) v = rng.uniform_float() - 0.5f;
        return t;
    };
    const tensor::Tensor<float> in = random({p.batch * p.in_channels, p.in_size});
    const tensor::Tensor<float> w = random({p.out_channels * p.in_channels, p.kernel});
    tensor::Tensor<float> out(p.batch * p.out_channels, p.out_size());
    tensor::Tensor<float> gin(in.shape()), gw(w.shape());
    std::uint64_t version = 0;
    auto step = [&] {
        // Training changes the weights every step, so cached kernel transforms are redone each time.
        const Weights weights{w.view(), usage == Usage::Training ? ++version : 0};
        engine->forward(in.view(), weights, out.view(), Accumulate::Overwrite);
        if (usage == Usage::Training)
            engine->backward(in.view(), out.view(), weights, {gin.view(), gw.view()}, Accumulate::Overwrite);
    };
    double best = 1e300;
    for (int round = 0; round < 3; ++round) {  // round 0 warms up (plans, allocations)
        const auto start = std::chrono::steady_clock::now();
        step();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (round > 0) best = std::min(best, seconds);
        if (seconds > give_up_after) return round > 0 ? best : seconds;  // clearly slower: stop early
    }
    return best;
}

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
    double best = 1e300;
    for (ConvAlgo algo : {ConvAlgo::Direct, ConvAlgo::Fft}) {
        if (auto reason = unsupported_reason(algo, p)) {
            if (log_) log_->debug(label, ": ", to_string(algo), " skipped: ", *reason);
            continue;
        }
        const double seconds = time_step(algo, p, usage, 3 * best);
        s.seconds[algo] = seconds;
        if (seconds < best) {
            best = seconds;
            s.algo = algo;
        }
    }
    ZNN_CHECK(!s.seconds.empty(), "no convolution algorithm supports " + p.to_string());
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

std::string ConvSelector::save() const
{
    std::string text = "# znn convolution choices: <problem> <usage> <algo>\n";
    for (const auto& [key, algo] : remembered_) text += key + " " + std::string(to_string(algo)) + "\n";
    return text;
}

void ConvSelector::load(std::string_view text, std::string_view source)
{
    std::istringstream in{std::string(text)};
    std::string line;
    long number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string problem, usage, algo_name, extra;
        fields >> problem >> usage >> algo_name;
        const auto parsed = ConvProblem::parse(problem);
        const auto algo = parse_conv_algo(algo_name);
        if (!parsed || (usage != "training" && usage != "inference") || !algo || *algo == ConvAlgo::Auto || (fields >> extra))
            throw core::InputError("expected '<problem> training|inference naive|direct|fft', got '" + line + "'")
                .at_line(source, number);
        remembered_[problem + " " + usage] = *algo;
    }
}

}  // namespace znn::conv
