#include "znn/train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace znn::train {

double Schedule::at(std::int64_t iteration) const
{
    iteration = std::max<std::int64_t>(iteration, 1);
    if (kind == ScheduleKind::Step) {
        const std::int64_t annealings = (iteration - 1) / std::max<std::int64_t>(anneal_every, 1) - offset_;
        double rate = eta;
        for (std::int64_t k = 0; k < annealings; ++k) rate *= anneal_factor;  // as the original: eta *= factor
        return rate;
    }
    if (warmup > 0 && iteration <= warmup) return eta * double(iteration) / double(warmup);
    const double span = double(std::max<std::int64_t>(max_iter - warmup, 1));
    const double progress = std::min(1.0, double(iteration - warmup) / span);
    return eta_min + (eta - eta_min) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

Schedule Schedule::resumed(std::int64_t iteration, double rate) const
{
    if (kind != ScheduleKind::Step || iteration < 1) return *this;
    Schedule s = *this;
    s.eta = rate;
    s.offset_ = (iteration - 1) / std::max<std::int64_t>(anneal_every, 1);
    return s;
}

}  // namespace znn::train
