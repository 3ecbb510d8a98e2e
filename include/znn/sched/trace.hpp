#pragma once
/// @file
/// @brief Recording the work of an iteration, and replaying it on more cores than this machine has.
///
/// TracingFor wraps the ParallelFor that compute code runs on and records, in order, every parallel
/// loop (its items and the measured time of each chunk) and the serial work between loops. Work the
/// engine runs on threads of its own (oneDNN's OpenMP team) is added as an opaque parallel segment.
/// simulate() then plays the record on P cores: the loops run one after another, as the engine runs
/// them, each re-cut into chunks for P threads (as the engine's own work shares would be) and placed
/// greedily on the core that frees first; serial work stays serial; opaque segments divide evenly
/// (an optimistic assumption for the libraries that run them). The speedup over one core is what a
/// P-core node would get from this schedule, apart from memory bandwidth, which the replay does not
/// model.
///
/// Example:
/// @code
///   TracingFor tracing(pool);
///   Network<float> net(spec, shapes, options, {tracing});
///   ...; tracing.clear(); net.forward(); net.backward();
///   double s144 = speedup(tracing.segments(), 144);
/// @endcode

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "znn/core/parallel_for.hpp"

namespace znn::sched {

/// @brief One recorded piece of work.
struct TraceSegment {
    enum class Kind { Loop, Serial, Opaque };
    Kind kind = Kind::Serial;
    std::string label;
    /// Loops: per chunk, items and seconds (in order of start). Serial and opaque: one entry.
    std::vector<std::pair<std::int64_t, double>> chunks;
    double wall_s = 0;  ///< measured wall time of the segment
    /// Thread-seconds of work.
    double work() const;
};

/// @brief A ParallelFor that records what runs on it (see the file comment).
class TracingFor final : public core::ParallelFor {
public:
    explicit TracingFor(core::ParallelFor& inner);

    int threads() const noexcept override { return inner_.threads(); }
    void run(std::int64_t n, std::int64_t grain, const Body& body) override;

    /// Records only while on (off at first): otherwise run() passes straight through.
    void set_recording(bool on);
    bool recording() const noexcept { return recording_; }
    /// Names the work recorded from now on (e.g. "conv2 forward").
    void set_label(std::string label);
    /// Records work done on `threads` threads outside this ParallelFor, taking `wall_s`.
    void add_opaque(double wall_s, int threads);
    /// Starts a new record.
    void clear();
    /// The record so far (serial time since the last loop is closed off first).
    const std::vector<TraceSegment>& segments();

private:
    void close_serial();

    core::ParallelFor& inner_;
    bool recording_ = false;
    std::string label_;
    std::vector<TraceSegment> segments_;
    std::chrono::steady_clock::time_point last_;
    std::mutex mutex_;
};

/// The time the record would take on `cores` cores (see the file comment).
double simulate(const std::vector<TraceSegment>& segments, int cores);
/// simulate(1) / simulate(cores).
double speedup(const std::vector<TraceSegment>& segments, int cores);

}  // namespace znn::sched
