#pragma once
/// @file
/// @brief Contingency tables of a segmentation against ground truth, and the scores made from them:
/// adapted Rand error in its two published conventions and the variation of information.
///
/// A table counts voxels per pair (ground-truth label i, segmentation label j): n_ij. With
/// a_i = Σ_j n_ij (ground-truth segment sizes), b_j = Σ_i n_ij (segment sizes) and N = Σ n_ij, over
/// the voxels whose ground-truth label is not ignored (label 0 by default):
///
///  - Adapted Rand error, pair counts (SNEMI3D; `skimage.metrics.adapted_rand_error`): label 0 of the
///    segmentation is one segment like any other.
///        P = Σ n_ij(n_ij − 1),  precision = P / Σ b_j(b_j − 1),  recall = P / Σ a_i(a_i − 1),
///        error = 1 − 2·precision·recall / (precision + recall).
///    Precision is "pairs together in both / pairs together in the segmentation", as skimage's
///    documentation defines it; skimage 0.19's code returns the two the other way round (the error,
///    symmetric in them, is the same).
///  - Adapted Rand error, CREMI (cremi_python `evaluation/rand.py`): squared counts, and the voxels
///    of segmentation label 0 are counted as the published code counts them: with c = Σ_i n_i0 and n
///    every voxel of the volume (ignored ones included),
///        precision = (Σ_{j≠0} n_ij² + c/n) / (Σ_{j≠0} b_j² + c/n),  recall = (Σ_{j≠0} n_ij² + c/n) / Σ a_i².
///  - Variation of information, in bits: split = H(segmentation | ground truth) = (Σ a_i log a_i −
///    Σ n_ij log n_ij) / N (false splits), merge = H(ground truth | segmentation) = (Σ b_j log b_j −
///    Σ n_ij log n_ij) / N (false merges). Label 0 of the segmentation is a segment.
///
/// Scoring is collective and needs no rank to hold the whole table: entries are sent to the rank
/// that owns their ground-truth label (which then knows every a_i and every merged n_ij), then to the
/// rank that owns their segment label (b_j), and the sums are reduced.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "znn/dist/comm.hpp"

namespace znn::eval {

/// @brief The scores of one segmentation (definitions in the file comment). A ratio whose
/// denominator is zero (no pair of voxels) is NaN.
struct Scores {
    std::int64_t voxels = 0;       ///< scored: in the mask, ground truth not ignored (N)
    std::int64_t ignored = 0;      ///< in the mask with an ignored ground-truth label
    std::int64_t gt_segments = 0;  ///< distinct ground-truth labels among the scored voxels
    std::int64_t segments = 0;     ///< distinct segmentation labels other than 0 among them
    std::int64_t background = 0;   ///< scored voxels whose segmentation label is 0
    double rand_error = 0, rand_precision = 0, rand_recall = 0;     ///< pair counts (skimage)
    double cremi_error = 0, cremi_precision = 0, cremi_recall = 0;  ///< CREMI's squared counts
    double voi_split = 0, voi_merge = 0;                            ///< bits
};

/// @brief Voxel counts per (ground-truth label, segmentation label) pair, for the voxels of one rank.
class Contingency {
public:
    struct Entry {
        std::uint64_t gt = 0;
        std::uint64_t seg = 0;
        std::int64_t count = 0;
        friend bool operator==(const Entry&, const Entry&) = default;
    };

    void add(std::uint64_t gt, std::uint64_t seg, std::int64_t count = 1);
    /// Voxels with an ignored ground-truth label: not scored, but counted in CREMI's n.
    void add_ignored(std::int64_t count) { ignored_ += count; }
    void merge(const Contingency& other);
    /// Renames segmentation labels through `rename` (absent labels stay); pairs that become equal merge.
    void rename_segments(const std::unordered_map<std::uint64_t, std::uint64_t>& rename);

    std::int64_t voxels() const { return voxels_; }
    std::int64_t ignored() const { return ignored_; }
    std::size_t size() const { return counts_.size(); }
    /// The entries in (gt, seg) order.
    std::vector<Entry> sorted_entries() const;

private:
    struct PairHash {
        std::size_t operator()(const std::pair<std::uint64_t, std::uint64_t>& p) const noexcept;
    };
    std::unordered_map<std::pair<std::uint64_t, std::uint64_t>, std::int64_t, PairHash> counts_;
    std::int64_t voxels_ = 0;
    std::int64_t ignored_ = 0;
};

/// The scores of the table that is the sum of every rank's `local`. Collective over comm; every rank
/// gets the same scores.
Scores score(const Contingency& local, const dist::Comm& comm);

}  // namespace znn::eval
