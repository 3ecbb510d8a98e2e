#include "znn/sched/trace.hpp"

#include <algorithm>
#include <functional>
#include <queue>

namespace znn::sched {
namespace {

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

/// Makespan of a loop of items with these costs, cut into chunks of `grain` items, on `cores`
/// cores taking chunks in order as they free up.
double loop_makespan(const std::vector<double>& item_costs, int cores)
{
    const auto n = static_cast<std::int64_t>(item_costs.size());
    if (n == 0) return 0;
    const std::int64_t grain = std::max<std::int64_t>(1, n / (4 * cores));  // the engine's work-share rule
    std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
    for (int c = 0; c < cores; ++c) free_at.push(0.0);
    double end = 0;
    for (std::int64_t begin = 0; begin < n; begin += grain) {
        double chunk = 0;
        for (std::int64_t i = begin; i < std::min(n, begin + grain); ++i) chunk += item_costs[static_cast<std::size_t>(i)];
        const double start = free_at.top();
        free_at.pop();
        free_at.push(start + chunk);
        end = std::max(end, start + chunk);
    }
    return end;
}

}  // namespace

double TraceSegment::work() const
{
    double w = 0;
    for (const auto& [items, s] : chunks) w += s;
    return w;
}

TracingFor::TracingFor(core::ParallelFor& inner) : inner_(inner), last_(std::chrono::steady_clock::now()) {}

void TracingFor::close_serial()
{
    const auto now = std::chrono::steady_clock::now();
    const double gap = seconds(last_, now);
    if (gap > 0) segments_.push_back({TraceSegment::Kind::Serial, label_, {{1, gap}}, gap});
    last_ = now;
}

void TracingFor::set_recording(bool on)
{
    recording_ = on;
    last_ = std::chrono::steady_clock::now();
}

void TracingFor::run(std::int64_t n, std::int64_t grain, const Body& body)
{
    if (!recording_) {
        inner_.run(n, grain, body);
        return;
    }
    close_serial();
    TraceSegment loop{TraceSegment::Kind::Loop, label_, {}, 0};
    const auto start = std::chrono::steady_clock::now();
    inner_.run(n, grain, [&](std::int64_t begin, std::int64_t end, int thread) {
        const auto t0 = std::chrono::steady_clock::now();
        body(begin, end, thread);
        const double s = seconds(t0, std::chrono::steady_clock::now());
        const std::lock_guard lock(mutex_);
        loop.chunks.emplace_back(end - begin, s);
    });
    last_ = std::chrono::steady_clock::now();
    loop.wall_s = seconds(start, last_);
    segments_.push_back(std::move(loop));
}

void TracingFor::set_label(std::string label)
{
    if (!recording_) return;
    close_serial();
    label_ = std::move(label);
}

void TracingFor::add_opaque(double wall_s, int threads)
{
    if (!recording_) return;
    // The opaque work ended just now; what came before it since the last record was serial.
    const auto now = std::chrono::steady_clock::now();
    const double gap = seconds(last_, now) - wall_s;
    if (gap > 0) segments_.push_back({TraceSegment::Kind::Serial, label_, {{1, gap}}, gap});
    segments_.push_back({TraceSegment::Kind::Opaque, label_, {{threads, wall_s * threads}}, wall_s});
    last_ = now;
}

void TracingFor::clear()
{
    segments_.clear();
    last_ = std::chrono::steady_clock::now();
}

const std::vector<TraceSegment>& TracingFor::segments()
{
    if (recording_) close_serial();
    return segments_;
}

double simulate(const std::vector<TraceSegment>& segments, int cores)
{
    double t = 0;
    for (const TraceSegment& s : segments) {
        switch (s.kind) {
        case TraceSegment::Kind::Serial: t += s.work(); break;
        case TraceSegment::Kind::Opaque: t += s.work() / cores; break;
        case TraceSegment::Kind::Loop: {
            std::vector<double> items;
            for (const auto& [n, secs] : s.chunks)
                for (std::int64_t i = 0; i < n; ++i) items.push_back(secs / double(n));
            t += loop_makespan(items, cores);
            break;
        }
        }
    }
    return t;
}

double speedup(const std::vector<TraceSegment>& segments, int cores)
{
    const double parallel = simulate(segments, cores);
    return parallel > 0 ? simulate(segments, 1) / parallel : 1.0;
}

}  // namespace znn::sched
