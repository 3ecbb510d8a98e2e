#pragma once
/// @file
/// @brief ConvProblem: the shape of one convolution layer, and its canonical text form.
///
/// The convolution is the original ZNN's (reference §7.6): valid-mode **true** convolution (the kernel
/// is flipped), per-axis dilation ("sparsity") s, fully connected between F_in input and F_out output
/// maps, over a batch of B patches:
///
///     out[b][o](p) = Σ_i Σ_k in[b][i](p + (K − 1 − k)·s) · W[o][i](k)        (per axis, p, k ∈ z,y,x)
///
/// so the output is smaller than the input by (K − 1)·s per axis. Memory layouts (all C order):
///  - input  (B·F_in,  I.z, I.y, I.x), channel index b·F_in + i;
///  - output (B·F_out, O.z, O.y, O.x), channel index b·F_out + o;
///  - kernel (F_out·F_in, K.z, K.y, K.x), channel index o·F_in + i.
///
/// Canonical text (used by benchmarks, logs and saved algorithm choices):
/// `b1_i40x34x34x34_o40_k7x7x7_d1x1x1` = batch 1, 40 input maps of 34³, 40 output maps, 7³ kernel,
/// no dilation.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "znn/core/vec3.hpp"

namespace znn::conv {

using core::Vec3i;

/// @brief One convolution layer's shapes.
struct ConvProblem {
    std::int64_t batch = 1;
    std::int64_t in_channels = 1;   ///< F_in
    std::int64_t out_channels = 1;  ///< F_out
    Vec3i in_size{1, 1, 1};         ///< input spatial size (z, y, x)
    Vec3i kernel{1, 1, 1};          ///< kernel size (z, y, x)
    Vec3i dilation{1, 1, 1};        ///< tap spacing (z, y, x), >= 1

    /// The extent a kernel covers: (K − 1)·s + 1 per axis.
    Vec3i kernel_extent() const { return (kernel - 1) * dilation + 1; }
    Vec3i out_size() const { return in_size - kernel_extent() + 1; }
    /// Direct-equivalent FLOPs of one pass: 2·F_in·F_out·|K|·|O|·B.
    double flops_per_pass() const;
    /// Why the shapes are invalid (non-positive sizes, kernel larger than its input), or nullopt.
    std::optional<std::string> invalid_reason() const;

    std::string to_string() const;
    /// Parses the canonical text; nullopt when malformed.
    static std::optional<ConvProblem> parse(std::string_view text);

    friend bool operator==(const ConvProblem&, const ConvProblem&) = default;
};

/// How an engine combines its result with what the output buffer holds.
enum class Accumulate { Overwrite, Add };

}  // namespace znn::conv
