#pragma once
/// @file
/// @brief Evaluate: scores of a segmentation, or of a network output made into one, against ground
/// truth (`znn eval`), over volumes of any size, spread over MPI ranks.
///
/// The scored box is read a stack of sections at a time (data::for_each_section_round: every rank its
/// own contiguous share, each stack about 64 MiB, `--stack-memory`): the segmentation or map, the ground truth and the
/// mask. A map is made into one segmentation per threshold (segment.hpp); each stack's voxels are
/// counted into one contingency table per threshold. Components that cross from one stack to the next
/// are joined afterwards: within a rank from the last section of the previous stack, between ranks
/// from the last section of the previous rank's share (MPI_Sendrecv); rank 0 joins every pair and
/// sends the renaming back. The tables are then scored (contingency.hpp) without any rank holding
/// them whole. Nothing is held whole in memory: a stack, a section per threshold, and the tables.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "znn/config/job_files.hpp"
#include "znn/core/vec3.hpp"
#include "znn/dist/comm.hpp"
#include "znn/eval/contingency.hpp"
#include "znn/eval/segment.hpp"
#include "znn/io/volume_io.hpp"
#include "znn/io/volume_uri.hpp"

namespace znn::eval {

/// @brief What the command line asks, beyond the volumes.
struct EvalOptions {
    std::optional<MapKind> kind;         ///< unset: labels for integer volumes, else by channel count
    std::int64_t channel = 0;            ///< interior, membrane
    std::vector<double> thresholds{0.5};  ///< maps: one segmentation per threshold
    std::vector<std::uint64_t> ignore{0};  ///< ground-truth labels not scored
    bool planar = false;                  ///< 2D components per section
    std::optional<core::Vec3i> offset;    ///< where segmentation voxel 0 lies in the ground truth
    std::int64_t stack_bytes = std::int64_t(64) << 20;  ///< the working set of one stack of sections
};

/// @brief One evaluation, its volumes checked and aligned.
struct EvalTask {
    std::string name;  ///< for messages: "sample 2, output" or the segmentation's address
    io::VolumeUri seg, gt;
    io::VolumeInfo seg_info;  ///< the segmentation's header, read once when planning
    std::optional<io::VolumeUri> mask;
    Segmenter how;               ///< kind, channel, planar (threshold per result)
    std::vector<double> thresholds;
    std::vector<std::uint64_t> ignore;
    double quantum = 1;          ///< a map stores value · quantum (255 for uint8 maps)
    core::Box3 seg_box;          ///< the part of the segmentation scored
    core::Vec3i gt_origin;       ///< where seg_box.origin lies in the ground truth
    core::Vec3i mask_origin;     ///< and in the mask
    std::string alignment;       ///< how the two were aligned, in words
    std::int64_t stack_bytes = std::int64_t(64) << 20;  ///< EvalOptions::stack_bytes
};

/// @brief The scores at one threshold (NaN for a labelled segmentation).
struct EvalResult {
    double threshold = 0;
    Scores scores;
};

/// Checks the volumes of `--seg`/`--gt`/`--mask` and aligns them: by `options.offset`, else by the
/// segmentation's `znn_voxel_offset` (a `znn forward` output, whose ground truth is aligned with the
/// input), else voxel by voxel when the shapes agree, else centre on centre; the scored box is the
/// overlap. Throws InputError naming the volume for every problem. Reads headers only.
EvalTask plan_task(const std::string& seg, const std::string& gt, const std::optional<std::string>& mask,
                   const EvalOptions& options);

/// The tasks of a job (`znn eval -c JOB.cfg`): for every sample of `range` and every output node that
/// has a label, the `znn forward` output against that label and its mask, aligned as the job's
/// geometry says (centre convention, auto-crop). Throws InputError for every problem (a missing
/// output names the `znn forward` command that makes it).
std::vector<EvalTask> plan_job(const config::JobFiles& job, const std::set<std::int64_t>& range,
                               const EvalOptions& options);

/// Scores one task. Collective over comm.
std::vector<EvalResult> evaluate(const EvalTask& task, const dist::Comm& comm);

/// One result as a JSON object (one line).
std::string to_json(const EvalTask& task, const EvalResult& result);

}  // namespace znn::eval
