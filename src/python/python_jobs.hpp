#pragma once
// Whole jobs (.cfg) from Python (private to src/python): train and forward, as `znn train -c` and
// `znn forward -c` run them, on the caller's communicator and logger. Plain C++, called with the GIL
// released; a stop request (Ctrl-C, SIGTERM, SIGUSR1) ends the run at its next safe point.

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "znn/conv/engine.hpp"
#include "znn/core/log.hpp"
#include "znn/dist/comm.hpp"
#include "znn/eval/evaluate.hpp"
#include "znn/infer/forward.hpp"
#include "znn/train/trainer.hpp"

namespace znn::python {

/// @brief What every job runs with.
struct JobRun {
    std::string config;                  ///< the .cfg
    std::vector<std::string> overrides;  ///< "key=value", as `--set`
    int threads = 0;                     ///< 0: the job's num_threads, else the affinity mask and its defaults
    conv::EngineOptions engines;
};

train::TrainResult train_job(const JobRun& run, const train::TrainOptions& options, const dist::Comm& comm, core::Logger& log,
                             const std::atomic<int>* stop);

std::vector<infer::SampleOutcome> forward_job(const JobRun& run, const infer::ForwardOptions& options, const dist::Comm& comm,
                                              core::Logger& log, const std::atomic<int>* stop);

/// @brief One evaluation and its results, one per threshold.
struct Evaluation {
    eval::EvalTask task;
    std::vector<eval::EvalResult> results;
};

/// `znn eval -c`: every sample of `range` (unset: forward_range), its znn forward output against its label.
std::vector<Evaluation> eval_job(const JobRun& run, const std::optional<std::set<std::int64_t>>& range, const eval::EvalOptions& options,
                                 const dist::Comm& comm, core::Logger& log);
/// `znn eval --seg --gt [--mask]`.
Evaluation evaluate_volumes(const std::string& seg, const std::string& gt, const std::optional<std::string>& mask,
                            const eval::EvalOptions& options, const dist::Comm& comm, core::Logger& log);

}  // namespace znn::python
