#pragma once
/// @file
/// @brief MALIS (Turaga et al. 2009, "Maximin affinity learning of image segmentation") and the
/// rand error of affinity outputs (reference §5.7).
///
/// Affinities are (3, S) in the original's channel order x, y, z: channel a at voxel q is the edge
/// between q and q − e_a (an edge whose other end lies outside the patch does not exist).
///
/// The true segmentation is the connected components of the true affinity graph (edges with
/// target > 0.5); a component of one voxel is boundary (ID 0), as in the original. Predicted edges
/// (affinity clipped at `high`, kept when > `low`) are sorted by decreasing affinity — ties by
/// increasing edge index (a·|S| + voxel), so results never depend on the platform's sort — and
/// merged in Kruskal order with union-find; each region keeps a bag of its true-segment counts
/// (boundary excluded). The edge that first joins two regions A and B is the maximin edge of every
/// pair (i ∈ A, j ∈ B); it receives
///
///     splitter weight  Σ_k a_k·b_k            (pairs of one segment: they should be joined)
///     merger weight    |A|·|B| − Σ_k a_k·b_k  (pairs of different segments: they should not)
///
/// counted in 64 bits. The weight of an edge is merger + splitter, normalised by `norm`:
///   none  the pair counts;   num  ÷ N;   pair  ÷ N·(N − 1)   (N: non-boundary voxels);
///   frac  every pair (i, j) counts 1/(|seg(i)|·|seg(j)|) instead of 1.
/// (The original's `pair` mode added the merger count to the splitter weight, and its `frac` mode
/// added nothing at all; both are fixed here.)
///
/// Constrained MALIS (Funke et al. 2019) runs two passes: a merger pass with the prediction set to
/// `high` on true edges (target > 0.5), keeping its merger weights, and a splitter pass with the
/// prediction set to 0 on false edges, keeping its splitter weights; each pass is divided by its
/// own total, the number of different-segment pairs (FP + TN) or of same-segment pairs (TP + FN).
///
/// Masks: an edge whose mask is 0 keeps its predicted affinity (unconstrained) and gets weight 0.
/// A patch with fewer than two non-boundary voxels is degenerate: every weight is 0.
///
/// Rand error: the fraction of non-boundary voxel pairs that the prediction thresholded at 0.5
/// classifies wrongly (a pair is joined iff its maximin affinity > 0.5, i.e. iff the two voxels are
/// connected by edges > 0.5), over N·(N − 1)/2 pairs.

#include <cstdint>

#include "znn/config/job_config.hpp"
#include "znn/core/parallel_for.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::train {

/// @brief Pair counts of a prediction against a true segmentation (non-boundary voxels only).
struct PairCounts {
    std::uint64_t true_positive = 0;   ///< same segment, joined
    std::uint64_t true_negative = 0;   ///< different segments, apart
    std::uint64_t false_positive = 0;  ///< different segments, joined (a merge)
    std::uint64_t false_negative = 0;  ///< same segment, apart (a split)
    std::uint64_t pairs() const { return true_positive + true_negative + false_positive + false_negative; }
    /// (FP + FN) / pairs, or 0 without pairs.
    double rand_error() const;
};

/// @brief How MALIS weights are made.
struct MalisOptions {
    config::MalisNorm norm = config::MalisNorm::None;  ///< none, frac, num or pair
    bool constrained = false;
    float high = 1.0f;  ///< predictions are clipped at this
    float low = 0.0f;   ///< edges at or below this are left out
    /// Also sum merger and splitter weights apart (MalisResult::merger, splitter). The weight of an
    /// unconstrained edge is their sum, the product of the two regions' non-boundary voxels, which
    /// needs no per-segment bookkeeping; the split does (the constrained passes always keep it).
    bool split_sums = false;
};

/// @brief MALIS weights of one patch.
struct MalisResult {
    tensor::Tensor<float> weights;  ///< (3, S)
    double merger = 0, splitter = 0;  ///< sums of the (normalised) merger and splitter weights (split_sums, constrained)
    std::int64_t boundary_free = 0;   ///< N: non-boundary voxels of the true segmentation
    std::int64_t segments = 0;        ///< true segments
    bool degenerate = false;          ///< N < 2: every weight is 0
};

/// The true segmentation of `target` (3, S) as IDs 1.. (0: boundary), (1, S).
tensor::Tensor<std::uint32_t> true_segmentation(tensor::TensorView<const float> target);

/// MALIS weights of `affinity` (3, S) against `target` (3, S); `mask` (3, S) may be empty. Runs the
/// two constrained passes on `threads` when it has more than one thread.
MalisResult malis_weights(tensor::TensorView<const float> affinity, tensor::TensorView<const float> target,
                          tensor::TensorView<const float> mask, const MalisOptions& options, core::ParallelFor& threads);

/// The same weights (unconstrained, norm none or frac, no mask) by brute force: edges are added in
/// the same order, and after each one the components are found again from scratch and the pairs
/// across the two it joins counted voxel by voxel — O(E·(N + E)). A baseline for benchmarks and a
/// check for tests; far too slow for training.
tensor::Tensor<float> malis_weights_reference(tensor::TensorView<const float> affinity, tensor::TensorView<const float> target,
                                              const MalisOptions& options);

/// Pair counts of `affinity` thresholded at 0.5 against the true segmentation of `target`.
PairCounts affinity_pair_counts(tensor::TensorView<const float> affinity, tensor::TensorView<const float> target);

/// @brief The original's MALIS-weighted metrics of one patch.
struct MalisMetrics {
    double weighted_cost = 0;   ///< "me": Σ w·binomial cross-entropy / Σ w
    double weighted_error = 0;  ///< "mc": Σ w·[(p > 0.5) ≠ (l > 0.5)] / Σ w
};
MalisMetrics malis_metrics(tensor::TensorView<const float> prob, tensor::TensorView<const float> target,
                           tensor::TensorView<const float> weights);

}  // namespace znn::train
