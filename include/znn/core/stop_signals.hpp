#pragma once
/// @file
/// @brief Stop requests by signal: SIGTERM, SIGUSR1 and SIGINT ask a long run to stop at its next safe
/// point (training: after the iteration, with a checkpoint; inference: after the blocks in flight)
/// instead of dying. The command line holds one for its whole run; the Python module one per call.

#include <atomic>

namespace znn::core {

/// @brief While alive, SIGTERM, SIGUSR1 and SIGINT set flag() to the signal's number instead of
/// ending the process; a second SIGINT ends it at once (the default action), so Ctrl-C twice still
/// quits. The previous handlers come back on destruction. A signal handler can only reach
/// process-wide storage: the flag is the one such variable, and only one StopSignals may exist.
class StopSignals {
public:
    StopSignals();
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    /// 0, or the number of the first stop signal received.
    const std::atomic<int>& flag() const noexcept;
};

}  // namespace znn::core
