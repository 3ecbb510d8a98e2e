#pragma once
/// @file
/// @brief The learning curve: what each progress line and each validation reported.
///
/// Kept in three forms:
///  - in every network file, in the original's statistics layout (reference §5.10):
///    `/processing/znn/train/statistics/{train,test}/{it,err,cls}` (iteration, cost, pixel error),
///    `re` (rand error) for affinity outputs, `mc`/`me` (MALIS-weighted pixel error and cost) with
///    MALIS, and `/processing/znn/train/statistics/elapsed` (seconds per iteration of each train
///    point); what the original does not have (learning rate, throughput, training time) under
///    `/processing/znn/train/znn_state/curve/`;
///  - as a CSV next to the checkpoints (`<prefix>_curve.csv`), a line appended per point, rewritten
///    from the checkpoint when a run resumes;
///  - in memory here, truncated to a checkpoint's iteration when resuming.
/// Values that do not apply (a rand error of a boundary output) are NaN in HDF5 and empty in CSV.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "znn/io/hdf5.hpp"

namespace znn::train {

/// @brief One point of the curve: averages over the iterations since the last point (train) or
/// over the validation patches (test).
struct CurvePoint {
    std::int64_t iteration = 0;
    double cost = 0;         ///< per output value
    double pixel_error = 0;  ///< per output value
    double rand_error;       ///< per patch; affinity outputs
    double malis_cost;       ///< "me"; MALIS
    double malis_error;      ///< "mc"; MALIS
    double eta;                    ///< train: the learning rate
    double seconds_per_iteration;  ///< train: of the training steps
    double voxels_per_second;      ///< train: output voxels over every rank
    double elapsed;                ///< seconds of training so far, over every run of the job
    double majority_error;         ///< test: the pixel error of always predicting each channel's majority
    CurvePoint();
};

enum class CurvePhase { Train, Test };

/// @brief Train and test points in the order they were made.
struct LearningCurve {
    std::vector<CurvePoint> train, test;

    /// Drops the points after `iteration`.
    void truncate(std::int64_t iteration);
    /// The CSV header line and one point's line (with '\n').
    static std::string csv_header();
    static std::string csv_line(CurvePhase phase, const CurvePoint& p);
    /// Every point, in iteration order (test after train at the same iteration), with the header.
    std::string csv() const;

    /// Writes the curve into `file` (see above); `rand` and `malis` say which columns apply.
    void write(io::Hdf5File& file, bool rand, bool malis) const;
    /// The curve of a network file (written by znn or by the original), or nullopt if it has none.
    static std::optional<LearningCurve> read(const io::Hdf5File& file);
};

}  // namespace znn::train
