#pragma once
// Stop requests by signal (private to src/app): SIGTERM, SIGUSR1 and SIGINT ask a long command to
// stop at its next safe point (training: after the iteration, with a checkpoint) instead of dying.

#include <atomic>

namespace znn::app {

/// Exit code of a run stopped by a signal (or by its iteration budget) with its work saved: run the
/// same command again to continue (EX_TEMPFAIL; the slurm/ scripts requeue on it).
constexpr int kStoppedExitCode = 75;

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

}  // namespace znn::app
