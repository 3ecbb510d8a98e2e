#pragma once
/// @file
/// @brief JobConfig: the `[parameters]` section of the original ZNN's `.cfg` job files, validated.
///
/// Every option of the original (reference §4) is read with its default and its legacy aliases,
/// including those the original silently dropped (`is_rebalance`, `is_patch_rebalance` are honoured).
/// Options znn adds (seed, batch size, augmentation, semantic classes) follow the same rules. One
/// table (job_config.cpp) declares every option: key, aliases, default, help; parsing, validation,
/// the resolved-configuration text and the commented reference file (configs/reference.cfg) all
/// come from it.
///
/// Rules:
///  - an unknown key is an error naming the closest valid key;
///  - every value is checked, and every problem is reported, with `file:line`;
///  - `overrides` (`--set key=value` on the command line) replace any key after the file;
///  - relative paths are resolved against the directory of the file that names them (the original
///    used the working directory; see README, "Differences from the original ZNN");
///  - the resolved configuration (every option, defaults included) is available as text, for the
///    start-up log, checkpoints and outputs.
///
/// Example:
/// @code
///   JobConfig job = JobConfig::load("jobs/n4/train.cfg", {"eta=0.001"});
///   std::cout << job.resolved_text();
/// @endcode

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "znn/config/diagnostics.hpp"
#include "znn/config/ini.hpp"
#include "znn/config/path_base.hpp"
#include "znn/core/vec3.hpp"

namespace znn::config {

enum class OutType { Boundary, Affinity, Semantic };
enum class ConvMode { Fft, Direct, Optimize };
enum class CostFn { Auto, SquareLoss, SquareSquare, BinomialCrossEntropy, SoftmaxLoss };
enum class Rebalance { None, Global, Patch };
enum class MalisNorm { None, Frac, Num, Pair, Constrain };
enum class OptimizerKind { Sgd, Adam };
enum class LrSchedule { Step, Cosine };
/// How the learning rate follows the job's global batch of R ranks × B patches.
enum class EtaScaling { None, Linear, Sqrt };
/// How inference stores its outputs.
enum class ForwardDType { Float32, UInt8 };
/// How test-time augmentation combines its variants.
enum class TtaCombine { Mean, Min, Max };

std::string_view to_string(OutType v) noexcept;
std::string_view to_string(ConvMode v) noexcept;
std::string_view to_string(CostFn v) noexcept;
std::string_view to_string(Rebalance v) noexcept;
std::string_view to_string(MalisNorm v) noexcept;
std::string_view to_string(OptimizerKind v) noexcept;
std::string_view to_string(LrSchedule v) noexcept;
std::string_view to_string(EtaScaling v) noexcept;
std::string_view to_string(ForwardDType v) noexcept;
std::string_view to_string(TtaCombine v) noexcept;

/// Test-time augmentation variants from text: "none" (just 0, the identity), "all" (0-15), or ids and
/// ranges like "0,1,8-9"; nullopt (with `error`) otherwise. Variant v: bit 0 flips x, bit 1 y, bit 2 z,
/// bit 3 transposes y and x.
std::optional<std::vector<int>> parse_tta_variants(const std::string& text, std::string* error = nullptr);

/// @brief Data augmentation of training patches (reference §5.5, plus the EM set of PyTorch
/// Connectomics). Spatial transforms apply identically to inputs, labels and masks; intensity
/// transforms to inputs only.
struct Augmentation {
    bool flips = false;      ///< random z, y and x reflections (`is_data_aug`, the original's)
    bool transpose = false;  ///< random xy transpose (`is_data_aug`); needs square xy patches
    bool rot90 = false;      ///< random in-plane rotation by a multiple of 90°; needs square xy patches
    double grayscale = 0;    ///< probability of a contrast/brightness/gamma change of the input
    double grayscale_contrast = 0.3;
    double grayscale_brightness = 0.3;
    double grayscale_gamma = 0.3;
    double missing_section = 0;  ///< probability of blanking input sections
    std::int64_t missing_sections = 1;
    double misalign = 0;  ///< probability of shifting all sections above a random one (input and labels)
    std::int64_t misalign_pixels = 8;
    double blur = 0;  ///< probability of blurring input sections (out of focus)
    std::int64_t blur_sections = 1;
    double blur_sigma = 2.0;

    /// Extra margin (y, x) a patch needs for the misalignment shift.
    std::int64_t margin() const { return misalign > 0 ? misalign_pixels : 0; }
};

/// @brief The resolved `[parameters]` of a job. Paths are absolute (or as given when absolute).
struct JobConfig {
    std::string file;  ///< the .cfg the job was read from

    // general
    std::string net_spec;   ///< fnet_spec: the network (.znn)
    std::string data_spec;  ///< fdata_spec: the sample spec (.spec); empty when the sections are in the .cfg
    std::int64_t num_threads = 0;
    std::string dtype = "float32";
    OutType out_type = OutType::Boundary;
    bool logging = false;
    std::uint64_t seed = 1;
    std::int64_t num_classes = 0;  ///< semantic: classes (0: the output node's size)

    // training
    std::string train_net_prefix;
    std::string train_seed_net;  ///< the original's seed network (as -s); empty: none
    std::string train_load_net;  ///< the original's network to continue from, when <prefix>_current.h5 does not exist
    std::set<std::int64_t> train_range;
    std::set<std::int64_t> test_range;
    core::Vec3i train_outsz{1, 100, 100};
    std::int64_t batch_size = 1;
    ConvMode train_conv_mode = ConvMode::Optimize;
    CostFn cost_fn = CostFn::Auto;
    bool is_malis = false;
    MalisNorm malis_norm_type = MalisNorm::None;
    bool is_constrained_malis = false;
    double eta = 0.01;
    double anneal_factor = 1.0;
    std::int64_t num_iter_per_annealing = 100;
    double momentum = 0;
    double weight_decay = 0;
    OptimizerKind optimizer = OptimizerKind::Sgd;
    double adam_beta1 = 0.9;
    double adam_beta2 = 0.999;
    double adam_epsilon = 1e-8;
    LrSchedule lr_schedule = LrSchedule::Step;
    std::int64_t warmup_iter = 0;
    double eta_min = 0;
    EtaScaling eta_scaling = EtaScaling::None;
    bool split_samples = true;  ///< each rank loads and samples only its slab of the training samples
    std::string conv_plan;      ///< a network file whose convolution plan training uses instead of timing
    double grad_bucket_mb = 4;  ///< gradients are all-reduced in buckets of at least this many MiB
    bool grad_overlap = false;  ///< start a bucket's all-reduce while backward still runs
    Augmentation augment;
    bool is_bd_mirror = false;
    Rebalance rebalance_mode = Rebalance::None;
    bool is_stdio = false;
    bool is_debug = false;
    bool is_check = false;
    bool is_visual = false;
    std::int64_t num_iter_per_show = 100;
    std::int64_t num_iter_per_test = 500;
    std::int64_t test_num = 10;
    std::int64_t num_iter_per_save = 1000;
    std::int64_t max_iter = 400000;

    // forward (inference)
    std::set<std::int64_t> forward_range;
    std::string forward_net;
    ConvMode forward_conv_mode = ConvMode::Optimize;
    core::Vec3i forward_outsz{1, 100, 100};
    std::string output_prefix;
    ForwardDType forward_dtype = ForwardDType::Float32;
    std::int64_t forward_gzip = 1;    ///< deflate level of the outputs, 0: uncompressed
    bool forward_tiff = false;        ///< also one TIFF stack per output channel
    std::int64_t forward_memory = 0;  ///< bytes for each rank's working set; 0: auto (from the node's memory)
    std::vector<int> forward_tta{0};  ///< test-time augmentation variants (0: the identity only)
    TtaCombine forward_tta_combine = TtaCombine::Mean;

    /// Where each option set explicitly came from (canonical key -> `file:line` or `--set key`).
    std::map<std::string, std::string> origin;
    /// `file:line` of an option, or the job file when it kept its default.
    std::string where(std::string_view key) const;

    /// The `[parameters]` of `ini` (already read, with its sample sections) plus `overrides`
    /// (`key=value`); every problem goes to `diagnostics`.
    static JobConfig from_ini(const IniFile& ini, const std::string& file, const std::vector<std::string>& overrides,
                              Diagnostics& diagnostics);
    /// The same, with the directories each file's relative paths are read from decided by `bases`
    /// (shared with the SampleSpec read from the same `ini`, so each file is decided once).
    static JobConfig from_ini(const IniFile& ini, const std::string& file, const std::vector<std::string>& overrides,
                              PathBases& bases, Diagnostics& diagnostics);
    /// Reads `path`, applies `overrides`, validates; throws one InputError listing every problem.
    static JobConfig load(const std::string& path, const std::vector<std::string>& overrides = {});

    /// cost_fn with `auto` resolved as the original did: affinity -> binomial_cross_entropy, boundary
    /// and semantic -> softmax_loss (whose nets inference ends with a softmax over the channels).
    CostFn resolved_cost_fn() const noexcept;

    /// Every option with its effective value, as a `[parameters]` section.
    std::string resolved_text() const;
    /// Every option, documented, with its default: the reference `.cfg`.
    static std::string reference_text();
    /// Canonical keys of every option (for "did you mean" and tests).
    static std::vector<std::string> keys();
};

}  // namespace znn::config
