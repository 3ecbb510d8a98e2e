#pragma once
/// @file
/// @brief Learning-rate schedules: the original's step annealing, and warm-up plus cosine.
///
///   step    the original's (reference §5.1): after every `anneal_every` iterations the rate is
///           multiplied by `anneal_factor`, so iteration i runs at
///           η·f^⌊(i − 1)/N⌋ (computed by repeated multiplication, as the original did);
///   cosine  a linear warm-up over `warmup` iterations from η/warmup to η, then a half cosine from η
///           down to `eta_min` at `max_iter` (Loshchilov & Hutter's SGDR without restarts).
///
/// A rate is a pure function of the iteration, so a resumed run continues the schedule exactly. A
/// checkpoint stores the rate it ran at; on resume the trainer starts from that rate (the original
/// restarted from `eta` and lost its annealing) — see Schedule::resumed.

#include <cstdint>
#include <string_view>

#include "znn/config/job_config.hpp"

namespace znn::train {

using ScheduleKind = config::LrSchedule;

/// @brief A learning-rate schedule over iterations 1 .. max_iter.
struct Schedule {
    ScheduleKind kind = ScheduleKind::Step;
    double eta = 0.01;               ///< base rate
    double anneal_factor = 1.0;      ///< step
    std::int64_t anneal_every = 100; ///< step
    std::int64_t warmup = 0;         ///< cosine: warm-up iterations
    double eta_min = 0;              ///< cosine: final rate
    std::int64_t max_iter = 1;       ///< cosine: last iteration

    /// The rate of iteration `iteration` (1-based).
    double at(std::int64_t iteration) const;

    /// The schedule of a resumed run: a step schedule continues from `rate`, the rate the checkpoint
    /// at `iteration` stored, so what iteration + 1 runs at is the checkpoint's rate, annealed as due.
    /// A cosine schedule, a pure function of the iteration, is returned unchanged.
    Schedule resumed(std::int64_t iteration, double rate) const;

private:
    std::int64_t offset_ = 0;  ///< step: annealings already in `eta`
};

}  // namespace znn::train
