#pragma once
/// @file
/// @brief ConvEngine: one layer's convolution, by one of several algorithms, behind one interface.
///
/// As in oneDNN, the implementations form one ordered list (`conv_implementations`): each says whether
/// it supports a problem, and why not, how much memory it needs before it runs, and builds a per-layer
/// engine. `make_engine` builds one of a given algorithm; `conv::choose_engine` (select.hpp) is the one
/// place an algorithm is chosen for a layer (a given one, or `auto` by timing). Engines are per layer because
/// some keep state between calls: the FFT engine caches its kernels' spectra (refreshed when the
/// weights' version changes) and the spectra of the last forward input (reused by the weight
/// gradient). The three passes:
///
///   forward:          out = conv(in, W)                       (see problem.hpp for the formula)
///   backward data:    grad_in[b][i](q) = Σ_o Σ_k grad_out[b][o](q − (K−1−k)·s) · W[o][i](k)
///   backward weights: grad_W[o][i](k) = Σ_b Σ_p grad_out[b][o](p) · in[b][i](p + (K−1−k)·s)
///
/// Threads: an engine runs its work on the ParallelFor it was created with; one engine must not be
/// used from two threads at once (it owns scratch memory), different engines may.
///
/// Example:
/// @code
///   ConvContext ctx{pool};  // measured tiling, the widest SIMD path this CPU runs
///   auto engine = make_engine(ConvAlgo::Fft, problem, ctx);
///   engine->forward(in.view(), {w.view(), version}, out.view(), Accumulate::Overwrite);
///   engine->backward(in.view(), gout.view(), {w.view(), version}, {gin.view(), gw.view()}, Accumulate::Overwrite);
/// @endcode

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "znn/conv/problem.hpp"
#include "znn/core/parallel_for.hpp"
#include "znn/core/simd_path.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::conv {

using tensor::TensorView;

/// The convolution algorithms. Auto is resolved to one of the others by ConvSelector.
enum class ConvAlgo { Naive, Direct, Fft, Auto };

std::string_view to_string(ConvAlgo a) noexcept;
std::optional<ConvAlgo> parse_conv_algo(std::string_view name) noexcept;

/// @brief Kernel weights plus a version number that changes whenever the values change.
struct Weights {
    TensorView<const float> values;  ///< (F_out·F_in, K.z, K.y, K.x)
    std::uint64_t version = 0;
};

/// @brief Where backward() writes; an empty view skips that gradient.
struct Gradients {
    TensorView<float> input;    ///< (B·F_in, I): gradient with respect to the input
    TensorView<float> weights;  ///< (F_out·F_in, K): gradient with respect to the kernels
};

/// What a layer will be used for: the time that matters is a forward pass or a training step.
enum class Usage { Inference, Training };

std::string_view to_string(Usage u) noexcept;

/// How an engine chooses among its own ways to run a problem (the FFT engine: its tiling). Estimate:
/// its cost model decides. Measure: the model's best few are timed on the real shapes (one step
/// each, as the usage says) and the fastest is kept.
enum class Tuning { Estimate, Measure };

std::string_view to_string(Tuning t) noexcept;
std::optional<Tuning> parse_tuning(std::string_view name) noexcept;

/// @brief How engines are chosen and run, whatever the layer: one value a program sets once (from its
/// options) and hands to every network and engine it builds.
struct EngineOptions {
    Tuning tuning = Tuning::Measure;
    /// The kernels the FFT engine and the max-filter run: by default the widest this CPU runs; a
    /// narrower one can be forced (tests, `ZNN_SIMD=avx2`); one this CPU cannot run is an InputError.
    core::SimdPath simd = core::host_simd_path();
};

/// @brief What engines are built with: the threads to use, how to tune, the use, the SIMD path.
struct ConvContext {
    explicit ConvContext(core::ParallelFor& threads_, const EngineOptions& options = {}, Usage usage_ = Usage::Training)
        : threads(threads_), tuning(options.tuning), usage(usage_), simd(options.simd)
    {
    }

    core::ParallelFor& threads;
    Tuning tuning = Tuning::Measure;
    Usage usage = Usage::Training;
    core::SimdPath simd;
    /// FFT tile size (output voxels per tile, z,y,x, in the dilated problem's dense grid), instead of
    /// the engine's own choice; for experiments. Clamped to the output.
    std::optional<Vec3i> fft_tile;
};

/// @brief One layer's convolution by one algorithm.
class ConvEngine {
public:
    explicit ConvEngine(const ConvProblem& problem) : problem_(problem) {}
    virtual ~ConvEngine() = default;
    ConvEngine(const ConvEngine&) = delete;
    ConvEngine& operator=(const ConvEngine&) = delete;

    virtual ConvAlgo algo() const noexcept = 0;
    const ConvProblem& problem() const noexcept { return problem_; }

    /// out (B·F_out, O) = conv(in (B·F_in, I), W), written or added.
    virtual void forward(TensorView<const float> in, const Weights& w, TensorView<float> out, Accumulate mode) = 0;
    /// Both gradients (either may be skipped) from the forward input and the output gradient.
    /// Gradients are written or added, as `mode` says, to both outputs.
    virtual void backward(TensorView<const float> in, TensorView<const float> grad_out, const Weights& w,
                          const Gradients& grads, Accumulate mode) = 0;

    /// How the engine runs this problem, for logs and benchmarks (e.g. "tiles 14,14,14 in 20,20,20
    /// transforms, 8 tiles").
    virtual std::string describe() const { return std::string(to_string(algo())); }

    /// Seconds spent in each phase of the work so far (e.g. "kernel fft", "products"), in the order
    /// the phases run, for benchmarks and profiles; empty for engines that do not keep them.
    virtual std::vector<std::pair<std::string, double>> phase_seconds() const { return {}; }

    /// The FFT engine's tile (output voxels per tile of the dense sub-grid, as ConvContext::fft_tile
    /// takes it), so that another engine can be built with the same transforms; nullopt for others.
    virtual std::optional<Vec3i> fft_tile() const { return std::nullopt; }

    /// Bytes the engine holds while it runs (spectra, reordered layouts, scratch) for the usage it was
    /// built for: known once it is built, before it runs, so a block size can be chosen for a memory
    /// budget. cached_bytes() is what it holds at the moment.
    virtual std::size_t workspace_bytes() const { return 0; }
    /// Bytes of cached state (kernel spectra, ...), for memory reports.
    virtual std::size_t cached_bytes() const { return 0; }
    /// Drops cached state (e.g. before the input buffer is reused for something else).
    virtual void release_cache() {}

protected:
    /// Throws InternalError unless the views have the problem's shapes.
    void check_shapes(TensorView<const float> in, TensorView<const float> out_or_grad, const Weights& w) const;

private:
    ConvProblem problem_;
};

/// @brief One convolution implementation in the ordered list.
struct ConvImplementation {
    ConvAlgo algo;
    /// Why it cannot run a (valid) problem, or nullopt when it can.
    std::optional<std::string> (*unsupported)(const ConvProblem& problem);
    std::unique_ptr<ConvEngine> (*make)(const ConvProblem& problem, const ConvContext& context);
    /// The most its engine holds while it is built and runs (ConvEngine::workspace_bytes, or more while
    /// it tunes itself), known before it runs.
    std::size_t (*workspace_bound)(const ConvProblem& problem, const ConvContext& context);
    /// Whether `auto` times it (naive, the tests' oracle, is never chosen).
    bool timed_by_auto;
};

/// Every implementation, in the order `auto` times them and a log lists them: direct, fft, naive.
const std::vector<ConvImplementation>& conv_implementations();
/// The implementation of `algo` (not Auto).
const ConvImplementation& conv_implementation(ConvAlgo algo);

/// Why `algo` cannot run `problem`, or nullopt when it can. Invalid shapes are never supported.
std::optional<std::string> unsupported_reason(ConvAlgo algo, const ConvProblem& problem);

/// An engine of `algo` (not Auto) for `problem`; throws InputError with the reason if unsupported.
std::unique_ptr<ConvEngine> make_engine(ConvAlgo algo, const ConvProblem& problem, const ConvContext& context);

/// The most an engine of `algo` would hold while running `problem` (ConvEngine::workspace_bytes),
/// without running one: for fft with measured tuning, what it holds while it times its candidate
/// tilings side by side (all of them and the timing data); for auto, fft and direct together (the
/// selector builds and times both). Throws InputError like make_engine for an unsupported algo.
std::size_t workspace_estimate(ConvAlgo algo, const ConvProblem& problem, const ConvContext& context);

/// The oneDNN library the direct engine runs on, and how its OpenMP threads wait when idle
/// (e.g. "3.0.0 (OpenMP threads: wait policy passive)").
std::string onednn_version();

/// Keeps oneDNN (the direct engine) to the kernels of `path` too, when a narrower path than the
/// CPU's is forced: then a whole run uses AVX2 code only, as on an AVX2 node. Call before any engine
/// is built (oneDNN fixes its choice on first use).
void limit_onednn_isa(core::SimdPath path);

}  // namespace znn::conv
