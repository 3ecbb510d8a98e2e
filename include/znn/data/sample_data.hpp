#pragma once
/// @file
/// @brief SampleData: one `[sampleN]` loaded for training, and the patches cut from it.
///
/// Loading (collective over the communicator: every rank loads the same samples in the same order):
///  1. every volume is checked (exists, is readable, has a usable shape; files of one section agree
///     or are auto-cropped; a mask matches its label), every problem reported at once;
///  2. the candidate deviations D (geometry.hpp) are computed for the network's patch sizes;
///  3. D is split into one slab per rank, along the axis that minimises what a rank reads, and each
///     rank reads (parallel HDF5, collective) only the regions its slab's patches cover: inputs
///     through their mirrored padding, labels and masks as stored. With one rank, or a D too thin to
///     split, every rank holds everything it needs;
///  4. statistics for preprocessing and global rebalancing are those of the whole stored volumes:
///     taken from memory when a rank holds them entirely, otherwise gathered from disjoint sections
///     on every rank and reduced, so results never depend on the number of ranks;
///  5. inputs are preprocessed in memory; candidates are thinned by the label masks.
///
/// Extraction (extract(), const and thread-safe) cuts a patch at a deviation, applies a spatial
/// transform to every volume, optionally a misalignment, computes targets, masks and rebalance
/// weights from the transformed labels, and applies intensity augmentation to the inputs.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "znn/config/job_config.hpp"
#include "znn/config/sample_spec.hpp"
#include "znn/core/rng.hpp"
#include "znn/data/candidates.hpp"
#include "znn/data/geometry.hpp"
#include "znn/data/patch.hpp"
#include "znn/data/region.hpp"
#include "znn/data/targets.hpp"
#include "znn/data/volume_check.hpp"
#include "znn/dist/comm.hpp"

namespace znn::data {

/// @brief How samples are loaded and patches made.
struct SampleOptions {
    PatchGeometry geometry;
    config::OutType out_type = config::OutType::Boundary;
    config::Augmentation augment;  ///< decides fetch margins; applied by extract() when given an rng
    bool mirror = false;           ///< is_bd_mirror
    config::Rebalance rebalance = config::Rebalance::None;
    std::int64_t num_classes = 0;  ///< semantic outputs
    bool split_over_ranks = true;  ///< false: every rank holds every candidate (validation sets)

    static SampleOptions from_job(const config::JobConfig& job, PatchGeometry geometry, std::int64_t num_classes = 0);
};

/// @brief What loading a sample reads: its checked volumes and its candidate positions. Made
/// without MPI and without reading voxels, so `znn check` can make it too.
struct SamplePlan {
    struct Input {
        std::string node;
        CheckedImage image;
        std::vector<config::Preprocess> preprocess;  ///< one per file (or one for all)
        Vec3i patch;                                 ///< network input patch size
        Vec3i pad_low, pad_high;                     ///< mirroring (is_bd_mirror), else 0
        Vec3i padded() const { return image.shape + pad_low + pad_high; }
    };
    struct Output {
        std::string node;
        CheckedLabel label;
        Vec3i patch;  ///< network output patch size
    };

    std::int64_t id = 0;
    FetchRule rule;
    std::vector<Input> inputs;
    std::vector<Output> outputs;
    core::Box3 deviations;  ///< candidate deviations before masks (not empty)

    /// Checks the sample's volumes and finds where patches fit. Problems go to `diagnostics`
    /// (nullopt then), located at the sections that name the volumes.
    static std::optional<SamplePlan> make(const config::ResolvedSample& sample, const SampleOptions& options,
                                          config::Diagnostics& diagnostics);
};

/// @brief A region of a volume held in memory, in the volume's (padded) coordinates.
template <class T> struct HeldRegion {
    tensor::Tensor<T> data;
    core::Box3 region;

    /// The part of `data` for `box` (which must lie inside `region`).
    tensor::TensorView<const T> view(const core::Box3& box) const;
};

/// @brief One sample, loaded on this rank.
class SampleData {
public:
    /// Loads `sample` (collective over `comm`). Throws InputError listing every problem found.
    static SampleData load(const config::ResolvedSample& sample, const SampleOptions& options, const dist::Comm& comm);

    std::int64_t id() const noexcept { return id_; }
    /// The candidate deviations this rank samples from.
    const CandidateSet& candidates() const noexcept { return candidates_; }
    /// Every candidate deviation of the sample (all ranks).
    const core::Box3& deviations() const noexcept { return deviations_; }

    /// The patch at deviation `d` (one of candidates()), transformed by `t`. With `augment`, the
    /// configured misalignment and intensity augmentations are drawn from it.
    Patch extract(const core::Vec3i& d, const SpatialTransform& t, core::Rng* augment) const;

    /// One line: volumes, shapes, candidates, memory held.
    std::string describe() const;
    /// Bytes of volume data held in memory.
    std::int64_t bytes_held() const;

private:
    struct Input {
        std::string node;
        Vec3i patch;          ///< network input patch size
        Vec3i padded;         ///< shape of the (mirrored) volume
        HeldRegion<float> held;
    };
    struct Output {
        std::string node;
        std::string file;
        Vec3i patch;          ///< output patch size
        Vec3i shape;          ///< label volume shape
        HeldRegion<std::uint32_t> label;
        HeldRegion<std::uint8_t> mask;  ///< empty data: no mask
        std::vector<ClassWeights> global_weights;  ///< per target channel (global rebalancing)
        std::vector<double> global_class_weights;  ///< semantic, global rebalancing
    };

    std::int64_t id_ = 0;
    SampleOptions options_;
    FetchRule rule_;
    core::Box3 deviations_;
    CandidateSet candidates_;
    std::vector<Input> inputs_;
    std::vector<Output> outputs_;

    /// The target (and mask) of output `out` from its cut label and mask patches.
    PatchTarget target_of(const Output& out, const tensor::Tensor<std::uint32_t>& label, const tensor::Tensor<std::uint8_t>& mask,
                          const core::Vec3i& d) const;
    /// The class weights of `target`, as the rebalancing option says.
    void weigh(const Output& out, PatchTarget& target) const;

    class Loader;  // sample_data.cpp
};

}  // namespace znn::data
