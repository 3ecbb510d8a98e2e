#pragma once
/// @file
/// @brief Cost functions of the original ZNN (reference §5.2), with masks and rebalance weights.
///
/// For one patch's output `out` (C, S) and its targets l:
///
///   square          out and l masked first; grad = 2(p − l); cost = Σ (p − l)²
///   square-square   the same, differences with |p − l| ≤ 0.2 set to 0 (a margin)
///   binomial        p = out (the output node is `forward_logistics`): grad = p − l;
///                   cost = Σ −l·log p − (1 − l)·log(1 − p), p clamped to [1e-7, 1 − 1e-7] in the log
///   softmax         p = softmax over channels at every voxel (max subtracted); grad = p − l with
///                   respect to the logits; cost = −Σ l·log p, from the log-softmax
///   auto            boundary and semantic → softmax, affinity → binomial
///
/// Then, as the original's loop: the gradient is multiplied by the mask and by the rebalance
/// weights (MALIS weights, when used, multiply it afterwards). The cost is that of the unweighted
/// (masked) outputs. The gradient is not divided by the number of voxels: the optimizer's gradient
/// scale does that (optimizer.hpp).
///
/// The reported numbers are sums, averaged by the caller over iterations and voxels: the voxel
/// count is C·|S|, or the number of masked-in values when a mask is used. The pixel error counts
/// (p > 0.5) ≠ (l > 0.5). Validation evaluates without masks, as the original did (MaskUse::Ignore).

#include <string_view>

#include "znn/config/job_config.hpp"
#include "znn/core/parallel_for.hpp"
#include "znn/data/patch.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::train {

enum class Cost { Square, SquareSquare, BinomialCrossEntropy, Softmax };

std::string_view to_string(Cost cost) noexcept;
/// The cost of `cost_fn`, with `auto` resolved for `out_type`.
Cost resolve_cost(config::CostFn cost_fn, config::OutType out_type) noexcept;

/// Whether the targets' mask counts (training) or not (validation, as the original).
enum class MaskUse { Apply, Ignore };

/// @brief Sums over the values evaluated.
struct LossSums {
    double cost = 0;
    double pixel_errors = 0;
    double voxels = 0;  ///< values counted: C·|S|, or the masked-in ones

    void add(const LossSums& o)
    {
        cost += o.cost;
        pixel_errors += o.pixel_errors;
        voxels += o.voxels;
    }
};

/// Evaluates `cost` on one patch: `prob` (C, S) receives the output as a probability (the softmax,
/// or the output itself), `grad` (C, S; may be empty) the gradient of the cost with respect to
/// `out`, masked and weighted. Splits over `threads` by voxels; the sums do not depend on the
/// thread count.
LossSums evaluate_loss(Cost cost, tensor::TensorView<const float> out, const data::PatchTarget& target, MaskUse masks,
                       tensor::TensorView<float> prob, tensor::TensorView<float> grad, core::ParallelFor& threads);

}  // namespace znn::train
