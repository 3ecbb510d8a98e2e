#include "znn/config/job_config.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>

#include "znn/config/enum_names.hpp"
#include "znn/config/values.hpp"
#include "znn/core/limits.hpp"
#include "znn/core/memory.hpp"

namespace znn::config {
namespace {

/// Sets an option from text; returns an error message, or nullopt on success. `base_dir` resolves
/// relative paths.
using Setter = std::function<std::optional<std::string>(JobConfig&, const std::string& value, const std::string& base_dir)>;
using Getter = std::function<std::string(const JobConfig&)>;

struct Option {
    std::string_view key;      ///< lower-case, as matched
    std::string_view display;  ///< as the original spelled it
    std::string_view group;    ///< heading in the reference file
    std::string_view help;
    Setter set;
    Getter get;
};

/// A legacy key: translated into canonical `key = value` settings, or ignored with a note.
struct Alias {
    std::string_view key;
    std::string_view note;
    std::function<std::optional<std::string>(const std::string& value, std::vector<std::pair<std::string, std::string>>& out)> translate;
};

std::string yes_no(bool b) { return b ? "yes" : "no"; }
std::string real_text(double v)
{
    std::ostringstream os;
    os << v;
    return os.str();
}
std::string vec_text(const core::Vec3i& v) { return core::to_string(v); }

constexpr std::pair<std::string_view, OutType> kOutTypes[] = {
    {"boundary", OutType::Boundary}, {"affinity", OutType::Affinity}, {"semantic", OutType::Semantic}};
constexpr std::pair<std::string_view, ConvMode> kConvModes[] = {
    {"fft", ConvMode::Fft}, {"direct", ConvMode::Direct}, {"optimize", ConvMode::Optimize}};
constexpr std::pair<std::string_view, ForwardDType> kForwardDTypes[] = {{"float32", ForwardDType::Float32}, {"uint8", ForwardDType::UInt8}};
constexpr std::pair<std::string_view, TtaCombine> kTtaCombine[] = {{"mean", TtaCombine::Mean}, {"min", TtaCombine::Min}, {"max", TtaCombine::Max}};

std::string tta_text(const std::vector<int>& v)
{
    if (v == std::vector<int>{0}) return "none";
    if (v.size() == 16) return "all";
    std::string s;
    for (const int i : v) s += (s.empty() ? "" : ",") + std::to_string(i);
    return s;
}

constexpr std::pair<std::string_view, CostFn> kCostFns[] = {{"auto", CostFn::Auto},
                                                            {"square_loss", CostFn::SquareLoss},
                                                            {"square-square", CostFn::SquareSquare},
                                                            {"binomial_cross_entropy", CostFn::BinomialCrossEntropy},
                                                            {"softmax_loss", CostFn::SoftmaxLoss}};
constexpr std::pair<std::string_view, Rebalance> kRebalance[] = {
    {"none", Rebalance::None}, {"global", Rebalance::Global}, {"patch", Rebalance::Patch}};
constexpr std::pair<std::string_view, OptimizerKind> kOptimizers[] = {{"sgd", OptimizerKind::Sgd}, {"adam", OptimizerKind::Adam}};
constexpr std::pair<std::string_view, LrSchedule> kSchedules[] = {{"step", LrSchedule::Step}, {"cosine", LrSchedule::Cosine}};
constexpr std::pair<std::string_view, EtaScaling> kEtaScalings[] = {
    {"none", EtaScaling::None}, {"linear", EtaScaling::Linear}, {"sqrt", EtaScaling::Sqrt}};
constexpr std::pair<std::string_view, MalisNorm> kMalisNorms[] = {{"none", MalisNorm::None},
                                                                  {"frac", MalisNorm::Frac},
                                                                  {"num", MalisNorm::Num},
                                                                  {"pair", MalisNorm::Pair},
                                                                  {"constrain", MalisNorm::Constrain}};

// ---- setter builders ------------------------------------------------------------------------------

template <class M>
Setter set_bool(M JobConfig::*field)
{
    return [field](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        const auto b = parse_bool(v);
        if (!b) return "expected yes or no, got '" + v + "'";
        c.*field = *b;
        return std::nullopt;
    };
}

Setter set_int(std::int64_t JobConfig::*field, std::int64_t min, std::int64_t max = INT64_MAX)
{
    return [=](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        const auto n = parse_int(v);
        if (!n) return "expected an integer, got '" + v + "'";
        if (*n < min || *n > max)
            return "must be " + (max == INT64_MAX ? ">= " + std::to_string(min) : "in " + std::to_string(min) + ".." + std::to_string(max)) +
                   ", got " + v;
        c.*field = *n;
        return std::nullopt;
    };
}

Setter set_real(double JobConfig::*field, double min, double max)
{
    return [=](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        const auto x = parse_real(v);
        if (!x) return "expected a number, got '" + v + "'";
        if (*x < min || *x > max) return "must be in [" + real_text(min) + ", " + real_text(max) + "], got " + v;
        c.*field = *x;
        return std::nullopt;
    };
}

Setter set_path(std::string JobConfig::*field)
{
    return [field](JobConfig& c, const std::string& v, const std::string& base) -> std::optional<std::string> {
        c.*field = resolve_path(v, base);
        return std::nullopt;
    };
}

Setter set_ranges(std::set<std::int64_t> JobConfig::*field)
{
    return [field](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        std::string error;
        const auto ids = parse_id_ranges(v, &error);
        if (!ids) return error + " (expected sample ids like 2-3,7)";
        c.*field = *ids;
        return std::nullopt;
    };
}

Setter set_size(core::Vec3i JobConfig::*field)
{
    return [field](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        const auto s = parse_vec3(v);
        if (!s) return "expected z,y,x (three integers), got '" + v + "'";
        if (s->min_component() < 1) return "every size must be positive, got " + v;
        if (s->max_component() > core::kMaxAxis) return "every size must be at most " + std::to_string(core::kMaxAxis) + ", got " + v;
        c.*field = *s;
        return std::nullopt;
    };
}

template <class E, std::size_t N>
Setter set_enum(E JobConfig::*field, const std::pair<std::string_view, E> (&names)[N])
{
    return [field, &names](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        const auto e = parse_name(v, names);
        if (!e) return "unknown value '" + v + "' (one of: " + name_list(names) + ")";
        c.*field = *e;
        return std::nullopt;
    };
}

Setter set_aug_real(double Augmentation::*field, double min, double max)
{
    return [=](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        const auto x = parse_real(v);
        if (!x) return "expected a number, got '" + v + "'";
        if (*x < min || *x > max) return "must be in [" + real_text(min) + ", " + real_text(max) + "], got " + v;
        c.augment.*field = *x;
        return std::nullopt;
    };
}

Setter set_aug_int(std::int64_t Augmentation::*field, std::int64_t min)
{
    return [=](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        const auto n = parse_int(v);
        if (!n) return "expected an integer, got '" + v + "'";
        if (*n < min) return "must be >= " + std::to_string(min) + ", got " + v;
        c.augment.*field = *n;
        return std::nullopt;
    };
}

Setter set_aug_bool(bool Augmentation::*field)
{
    return [field](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
        const auto b = parse_bool(v);
        if (!b) return "expected yes or no, got '" + v + "'";
        c.augment.*field = *b;
        return std::nullopt;
    };
}

std::string strip_h5(std::string v)
{
    if (v.size() > 3 && v.compare(v.size() - 3, 3, ".h5") == 0) v.resize(v.size() - 3);
    return v;
}

// ---- the options ------------------------------------------------------------------------------------

const std::vector<Option>& options()
{
    static const std::vector<Option> table = {
        // general
        {"fnet_spec", "fnet_spec", "general", "the network specification (.znn); required",
         set_path(&JobConfig::net_spec), [](const JobConfig& c) { return c.net_spec; }},
        {"fdata_spec", "fdata_spec", "general",
         "the sample specification (.spec); empty: the [imageN]/[labelN]/[sampleN] sections are in this file",
         set_path(&JobConfig::data_spec), [](const JobConfig& c) { return c.data_spec; }},
        {"num_threads", "num_threads", "general", "threads per MPI rank; 0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the cores of the rank's affinity mask",
         set_int(&JobConfig::num_threads, 0, 65536), [](const JobConfig& c) { return std::to_string(c.num_threads); }},
        {"dtype", "dtype", "general", "float32 (float64 is accepted; computations run in float32)",
         [](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
             if (v != "float32" && v != "float64") return "expected float32 or float64, got '" + v + "'";
             c.dtype = v;
             return std::nullopt;
         },
         [](const JobConfig& c) { return c.dtype; }},
        {"out_type", "out_type", "general",
         "network output: boundary (2 channels), affinity (3 channels: x, y, z), semantic (one-hot classes)",
         set_enum(&JobConfig::out_type, kOutTypes), [](const JobConfig& c) { return std::string(to_string(c.out_type)); }},
        {"num_classes", "num_classes", "general", "semantic output: number of classes (0: the output node's size)",
         set_int(&JobConfig::num_classes, 0), [](const JobConfig& c) { return std::to_string(c.num_classes); }},
        {"logging", "logging", "general", "also write the log and the resolved configuration next to the network files",
         set_bool(&JobConfig::logging), [](const JobConfig& c) { return yes_no(c.logging); }},
        {"seed", "seed", "general", "seed of every random stream (initialisation, sampling, augmentation)",
         [](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
             const auto n = parse_int(v);
             if (!n || *n < 0) return "expected a non-negative integer, got '" + v + "'";
             c.seed = static_cast<std::uint64_t>(*n);
             return std::nullopt;
         },
         [](const JobConfig& c) { return std::to_string(c.seed); }},
        // train
        {"train_net_prefix", "train_net_prefix", "train",
         "network files: <prefix>_<iteration>.h5, <prefix>_current.h5 (legacy: train_net, train_save_net)",
         [](JobConfig& c, const std::string& v, const std::string& base) -> std::optional<std::string> {
             c.train_net_prefix = resolve_path(strip_h5(v), base);
             return std::nullopt;
         },
         [](const JobConfig& c) { return c.train_net_prefix; }},
        {"train_seed_net", "train_seed_net", "train",
         "a new run's parameters seeded from this network file, by group name, as -s (which wins); empty: none",
         set_path(&JobConfig::train_seed_net), [](const JobConfig& c) { return c.train_seed_net; }},
        {"train_load_net", "train_load_net", "train",
         "the original's network to continue from when <train_net_prefix>_current.h5 does not exist yet (a file that "
         "does not exist is skipped, as the original did); empty: none",
         set_path(&JobConfig::train_load_net), [](const JobConfig& c) { return c.train_load_net; }},
        {"train_range", "train_range", "train", "sample ids to train on, e.g. 2-3,7", set_ranges(&JobConfig::train_range),
         [](const JobConfig& c) { return to_string(c.train_range); }},
        {"test_range", "test_range", "train", "sample ids to validate on during training", set_ranges(&JobConfig::test_range),
         [](const JobConfig& c) { return to_string(c.test_range); }},
        {"train_outsz", "train_outsz", "train", "output patch z,y,x of one training step", set_size(&JobConfig::train_outsz),
         [](const JobConfig& c) { return vec_text(c.train_outsz); }},
        {"batch_size", "batch_size", "train", "patches per training step and rank (the original: 1)",
         set_int(&JobConfig::batch_size, 1, 65536), [](const JobConfig& c) { return std::to_string(c.batch_size); }},
        {"train_conv_mode", "train_conv_mode", "train",
         "convolution: fft, direct, or optimize (time both per layer; legacy: is_train_optimize, force_fft)",
         set_enum(&JobConfig::train_conv_mode, kConvModes),
         [](const JobConfig& c) { return std::string(to_string(c.train_conv_mode)); }},
        {"cost_fn", "cost_fn", "train",
         "auto (boundary/semantic: softmax_loss, affinity: binomial_cross_entropy), square_loss, square-square, "
         "binomial_cross_entropy, softmax_loss",
         set_enum(&JobConfig::cost_fn, kCostFns), [](const JobConfig& c) { return std::string(to_string(c.cost_fn)); }},
        {"is_malis", "is_malis", "train", "weight gradients by MALIS (affinity outputs)", set_bool(&JobConfig::is_malis),
         [](const JobConfig& c) { return yes_no(c.is_malis); }},
        {"malis_norm_type", "malis_norm_type", "train", "MALIS normalisation: none, frac, num, pair, constrain",
         set_enum(&JobConfig::malis_norm_type, kMalisNorms),
         [](const JobConfig& c) { return std::string(to_string(c.malis_norm_type)); }},
        {"is_constrained_malis", "is_constrained_malis", "train", "constrained MALIS", set_bool(&JobConfig::is_constrained_malis),
         [](const JobConfig& c) { return yes_no(c.is_constrained_malis); }},
        {"eta", "eta", "train", "learning rate", set_real(&JobConfig::eta, 0, 1e6), [](const JobConfig& c) { return real_text(c.eta); }},
        {"anneal_factor", "anneal_factor", "train", "eta *= anneal_factor every Num_iter_per_annealing iterations",
         set_real(&JobConfig::anneal_factor, 0, 1), [](const JobConfig& c) { return real_text(c.anneal_factor); }},
        {"num_iter_per_annealing", "Num_iter_per_annealing", "train", "iterations between learning-rate annealings",
         set_int(&JobConfig::num_iter_per_annealing, 1), [](const JobConfig& c) { return std::to_string(c.num_iter_per_annealing); }},
        {"momentum", "momentum", "train", "momentum, 0 to 1", set_real(&JobConfig::momentum, 0, 1),
         [](const JobConfig& c) { return real_text(c.momentum); }},
        {"weight_decay", "weight_decay", "train", "L2 weight decay, 0 to 1 (adam: decoupled, as AdamW)",
         set_real(&JobConfig::weight_decay, 0, 1), [](const JobConfig& c) { return real_text(c.weight_decay); }},
        {"optimizer", "optimizer", "train", "sgd (the original's, with momentum and weight_decay) or adam",
         set_enum(&JobConfig::optimizer, kOptimizers), [](const JobConfig& c) { return std::string(to_string(c.optimizer)); }},
        {"adam_beta1", "adam_beta1", "train", "adam: decay of the first moment", set_real(&JobConfig::adam_beta1, 0, 0.999999),
         [](const JobConfig& c) { return real_text(c.adam_beta1); }},
        {"adam_beta2", "adam_beta2", "train", "adam: decay of the second moment", set_real(&JobConfig::adam_beta2, 0, 0.99999999),
         [](const JobConfig& c) { return real_text(c.adam_beta2); }},
        {"adam_epsilon", "adam_epsilon", "train", "adam: added to the root of the second moment", set_real(&JobConfig::adam_epsilon, 0, 1),
         [](const JobConfig& c) { return real_text(c.adam_epsilon); }},
        {"lr_schedule", "lr_schedule", "train",
         "step (eta *= anneal_factor every Num_iter_per_annealing, the original's) or cosine (warmup_iter linear warm-up, "
         "then a half cosine to eta_min at Max_iter)",
         set_enum(&JobConfig::lr_schedule, kSchedules), [](const JobConfig& c) { return std::string(to_string(c.lr_schedule)); }},
        {"warmup_iter", "warmup_iter", "train", "cosine: iterations of linear warm-up", set_int(&JobConfig::warmup_iter, 0),
         [](const JobConfig& c) { return std::to_string(c.warmup_iter); }},
        {"eta_min", "eta_min", "train", "cosine: the learning rate at Max_iter", set_real(&JobConfig::eta_min, 0, 1e6),
         [](const JobConfig& c) { return real_text(c.eta_min); }},
        {"eta_scaling", "eta_scaling", "train",
         "how eta follows the global batch of ranks x batch_size patches: none, linear (x ranks·batch_size) or sqrt",
         set_enum(&JobConfig::eta_scaling, kEtaScalings), [](const JobConfig& c) { return std::string(to_string(c.eta_scaling)); }},
        {"split_samples", "split_samples", "train",
         "yes: each MPI rank loads and samples only its slab of every training sample; no: every rank holds whole samples "
         "(then a run's patches depend only on ranks x batch_size)",
         set_bool(&JobConfig::split_samples), [](const JobConfig& c) { return yes_no(c.split_samples); }},
        {"grad_bucket_mb", "grad_bucket_mb", "train", "MPI: gradients are averaged in buckets of at least this many MiB",
         set_real(&JobConfig::grad_bucket_mb, 0.001, 65536), [](const JobConfig& c) { return real_text(c.grad_bucket_mb); }},
        {"grad_overlap", "grad_overlap", "train",
         "MPI: start each bucket's all-reduce as soon as backward has finished its gradients (MPI_Iallreduce; pays where the MPI "
         "progresses it asynchronously) or, no, after backward",
         set_bool(&JobConfig::grad_overlap), [](const JobConfig& c) { return yes_no(c.grad_overlap); }},
        {"conv_plan", "conv_plan", "train",
         "a network file or znn forward output whose convolution plan (each layer's algorithm and FFT tile) training and "
         "inference use instead of timing; empty: time them (a resumed run reuses its checkpoint's or its unfinished output's)",
         set_path(&JobConfig::conv_plan), [](const JobConfig& c) { return c.conv_plan; }},
        {"is_data_aug", "is_data_aug", "augmentation",
         "the original's augmentation: random z/y/x flips and xy transpose (sets aug_flips and aug_transpose)",
         [](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
             const auto b = parse_bool(v);
             if (!b) return "expected yes or no, got '" + v + "'";
             c.augment.flips = c.augment.transpose = *b;
             return std::nullopt;
         },
         [](const JobConfig& c) { return yes_no(c.augment.flips && c.augment.transpose); }},
        {"aug_flips", "aug_flips", "augmentation", "random z, y and x reflections", set_aug_bool(&Augmentation::flips),
         [](const JobConfig& c) { return yes_no(c.augment.flips); }},
        {"aug_transpose", "aug_transpose", "augmentation", "random xy transpose (square xy patches)",
         set_aug_bool(&Augmentation::transpose), [](const JobConfig& c) { return yes_no(c.augment.transpose); }},
        {"aug_rot90", "aug_rot90", "augmentation", "random in-plane rotation by k·90° (square xy patches)",
         set_aug_bool(&Augmentation::rot90), [](const JobConfig& c) { return yes_no(c.augment.rot90); }},
        {"aug_grayscale", "aug_grayscale", "augmentation", "probability of a grayscale change of the input",
         set_aug_real(&Augmentation::grayscale, 0, 1), [](const JobConfig& c) { return real_text(c.augment.grayscale); }},
        {"aug_grayscale_contrast", "aug_grayscale_contrast", "augmentation", "contrast factor drawn from 1 ± this",
         set_aug_real(&Augmentation::grayscale_contrast, 0, 1), [](const JobConfig& c) { return real_text(c.augment.grayscale_contrast); }},
        {"aug_grayscale_brightness", "aug_grayscale_brightness", "augmentation",
         "brightness shift drawn from ± this (in units of the input's standard deviation)",
         set_aug_real(&Augmentation::grayscale_brightness, 0, 10),
         [](const JobConfig& c) { return real_text(c.augment.grayscale_brightness); }},
        {"aug_grayscale_gamma", "aug_grayscale_gamma", "augmentation", "gamma drawn from 2^(± this)",
         set_aug_real(&Augmentation::grayscale_gamma, 0, 4), [](const JobConfig& c) { return real_text(c.augment.grayscale_gamma); }},
        {"aug_missing_section", "aug_missing_section", "augmentation", "probability of blanking input sections",
         set_aug_real(&Augmentation::missing_section, 0, 1), [](const JobConfig& c) { return real_text(c.augment.missing_section); }},
        {"aug_missing_sections", "aug_missing_sections", "augmentation", "how many sections to blank",
         set_aug_int(&Augmentation::missing_sections, 1), [](const JobConfig& c) { return std::to_string(c.augment.missing_sections); }},
        {"aug_misalign", "aug_misalign", "augmentation",
         "probability of shifting every section above a random one, in inputs, labels and masks",
         set_aug_real(&Augmentation::misalign, 0, 1), [](const JobConfig& c) { return real_text(c.augment.misalign); }},
        {"aug_misalign_pixels", "aug_misalign_pixels", "augmentation", "largest shift in y and x",
         set_aug_int(&Augmentation::misalign_pixels, 1), [](const JobConfig& c) { return std::to_string(c.augment.misalign_pixels); }},
        {"aug_blur", "aug_blur", "augmentation", "probability of blurring input sections (out of focus)",
         set_aug_real(&Augmentation::blur, 0, 1), [](const JobConfig& c) { return real_text(c.augment.blur); }},
        {"aug_blur_sections", "aug_blur_sections", "augmentation", "how many sections to blur",
         set_aug_int(&Augmentation::blur_sections, 1), [](const JobConfig& c) { return std::to_string(c.augment.blur_sections); }},
        {"aug_blur_sigma", "aug_blur_sigma", "augmentation", "largest Gaussian sigma in y and x (voxels)",
         set_aug_real(&Augmentation::blur_sigma, 0.1, 50), [](const JobConfig& c) { return real_text(c.augment.blur_sigma); }},
        {"is_bd_mirror", "is_bd_mirror", "train", "mirror the inputs by the field of view so every label voxel can be trained",
         set_bool(&JobConfig::is_bd_mirror), [](const JobConfig& c) { return yes_no(c.is_bd_mirror); }},
        {"rebalance_mode", "rebalance_mode", "train",
         "none, global (over the whole label volume) or patch (legacy: is_rebalance, is_patch_rebalance)",
         set_enum(&JobConfig::rebalance_mode, kRebalance),
         [](const JobConfig& c) { return std::string(to_string(c.rebalance_mode)); }},
        {"is_stdio", "is_stdio", "train", "the Seung lab standard IO layout: network and learning curve in one file",
         set_bool(&JobConfig::is_stdio), [](const JobConfig& c) { return yes_no(c.is_stdio); }},
        {"is_debug", "is_debug", "train", "debug mode: NaN checks, patches saved with the network",
         set_bool(&JobConfig::is_debug), [](const JobConfig& c) { return yes_no(c.is_debug); }},
        {"is_check", "is_check", "train", "run one iteration only (a smoke test)", set_bool(&JobConfig::is_check),
         [](const JobConfig& c) { return yes_no(c.is_check); }},
        {"is_visual", "is_visual", "train", "accepted for compatibility (live plots)", set_bool(&JobConfig::is_visual),
         [](const JobConfig& c) { return yes_no(c.is_visual); }},
        {"num_iter_per_show", "Num_iter_per_show", "train", "iterations between progress lines",
         set_int(&JobConfig::num_iter_per_show, 1), [](const JobConfig& c) { return std::to_string(c.num_iter_per_show); }},
        {"num_iter_per_test", "Num_iter_per_test", "train", "iterations between validations",
         set_int(&JobConfig::num_iter_per_test, 1), [](const JobConfig& c) { return std::to_string(c.num_iter_per_test); }},
        {"test_num", "test_num", "train", "patches per validation", set_int(&JobConfig::test_num, 1),
         [](const JobConfig& c) { return std::to_string(c.test_num); }},
        {"num_iter_per_save", "Num_iter_per_save", "train", "iterations between checkpoints",
         set_int(&JobConfig::num_iter_per_save, 1), [](const JobConfig& c) { return std::to_string(c.num_iter_per_save); }},
        {"max_iter", "Max_iter", "train", "last iteration", set_int(&JobConfig::max_iter, 1),
         [](const JobConfig& c) { return std::to_string(c.max_iter); }},
        // forward
        {"forward_range", "forward_range", "forward", "sample ids to run inference on", set_ranges(&JobConfig::forward_range),
         [](const JobConfig& c) { return to_string(c.forward_range); }},
        {"forward_net", "forward_net", "forward", "the network file (.h5) to run", set_path(&JobConfig::forward_net),
         [](const JobConfig& c) { return c.forward_net; }},
        {"forward_conv_mode", "forward_conv_mode", "forward", "fft, direct or optimize (legacy: is_forward_optimize)",
         set_enum(&JobConfig::forward_conv_mode, kConvModes),
         [](const JobConfig& c) { return std::string(to_string(c.forward_conv_mode)); }},
        {"forward_outsz", "forward_outsz", "forward", "output patch z,y,x of one inference pass (larger is faster, uses more memory)",
         set_size(&JobConfig::forward_outsz), [](const JobConfig& c) { return vec_text(c.forward_outsz); }},
        {"output_prefix", "output_prefix", "forward", "outputs: <prefix>_sample<N>_<node>.h5", set_path(&JobConfig::output_prefix),
         [](const JobConfig& c) { return c.output_prefix; }},
        {"forward_dtype", "forward_dtype", "forward",
         "float32, or uint8: round(255 * value) of outputs in [0, 1] (affinities, probabilities), 4x smaller",
         set_enum(&JobConfig::forward_dtype, kForwardDTypes), [](const JobConfig& c) { return std::string(to_string(c.forward_dtype)); }},
        {"forward_gzip", "forward_gzip", "forward", "deflate level 0-9 of the output files (0: uncompressed)",
         set_int(&JobConfig::forward_gzip, 0, 9), [](const JobConfig& c) { return std::to_string(c.forward_gzip); }},
        {"forward_tta", "forward_tta", "forward",
         "test-time augmentation: none, all (the 16 flips and xy transposes) or variants 0-15 like 0,1,8-9 (bit 0 flips x, "
         "bit 1 y, bit 2 z, bit 3 transposes y and x)",
         [](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
             std::string error;
             const auto ids = parse_tta_variants(v, &error);
             if (!ids) return error;
             c.forward_tta = *ids;
             return std::nullopt;
         },
         [](const JobConfig& c) { return tta_text(c.forward_tta); }},
        {"forward_tta_combine", "forward_tta_combine", "forward", "how the variants combine: mean, min or max",
         set_enum(&JobConfig::forward_tta_combine, kTtaCombine),
         [](const JobConfig& c) { return std::string(to_string(c.forward_tta_combine)); }},
        {"forward_memory", "forward_memory", "forward",
         "memory for the working set of each rank (network, convolution workspaces, block buffers), like 4G or "
         "512M; auto: 75% of the node's memory (or of the job's cgroup limit) shared by its ranks",
         [](JobConfig& c, const std::string& v, const std::string&) -> std::optional<std::string> {
             if (v == "auto") {
                 c.forward_memory = 0;
                 return std::nullopt;
             }
             const auto bytes = core::parse_byte_size(v);
             if (!bytes || *bytes < (std::int64_t(1) << 20))
                 return "expected auto or a size of at least 1M, like 4G or 512M, got '" + v + "'";
             c.forward_memory = *bytes;
             return std::nullopt;
         },
         [](const JobConfig& c) {
             const std::int64_t b = c.forward_memory;
             if (b == 0) return std::string("auto");
             if (b % (std::int64_t(1) << 30) == 0) return std::to_string(b >> 30) + "G";
             if (b % (std::int64_t(1) << 20) == 0) return std::to_string(b >> 20) + "M";
             return std::to_string(b);
         }},
        {"forward_tiff", "forward_tiff", "forward", "also write one TIFF stack per output channel: <prefix>_sample<N>_<node>_<c>.tif",
         set_bool(&JobConfig::forward_tiff), [](const JobConfig& c) { return yes_no(c.forward_tiff); }},
    };
    return table;
}

const std::vector<Alias>& aliases()
{
    using Out = std::vector<std::pair<std::string, std::string>>;
    static const std::vector<Alias> table = {
        {"train_net", "old name of train_net_prefix",
         [](const std::string& v, Out& out) -> std::optional<std::string> {
             out.emplace_back("train_net_prefix", v);
             return std::nullopt;
         }},
        {"train_save_net", "old name of train_net_prefix",
         [](const std::string& v, Out& out) -> std::optional<std::string> {
             out.emplace_back("train_net_prefix", v);
             return std::nullopt;
         }},
        {"is_train_optimize", "old form of train_conv_mode (yes: optimize, no: direct)",
         [](const std::string& v, Out& out) -> std::optional<std::string> {
             const auto b = parse_bool(v);
             if (!b) return "expected yes or no, got '" + v + "'";
             out.emplace_back("train_conv_mode", *b ? "optimize" : "direct");
             return std::nullopt;
         }},
        {"is_forward_optimize", "old form of forward_conv_mode (yes: optimize, no: direct)",
         [](const std::string& v, Out& out) -> std::optional<std::string> {
             const auto b = parse_bool(v);
             if (!b) return "expected yes or no, got '" + v + "'";
             out.emplace_back("forward_conv_mode", *b ? "optimize" : "direct");
             return std::nullopt;
         }},
        {"force_fft", "old switch: yes sets train_conv_mode and forward_conv_mode to fft",
         [](const std::string& v, Out& out) -> std::optional<std::string> {
             const auto b = parse_bool(v);
             if (!b) return "expected yes or no, got '" + v + "'";
             if (*b) {
                 out.emplace_back("train_conv_mode", "fft");
                 out.emplace_back("forward_conv_mode", "fft");
             }
             return std::nullopt;
         }},
        {"is_rebalance", "old form of rebalance_mode = global (the original ignored it; znn honours it)",
         [](const std::string& v, Out& out) -> std::optional<std::string> {
             const auto b = parse_bool(v);
             if (!b) return "expected yes or no, got '" + v + "'";
             if (*b) out.emplace_back("rebalance_mode", "global");
             return std::nullopt;
         }},
        {"is_patch_rebalance", "old form of rebalance_mode = patch (the original ignored it; znn honours it)",
         [](const std::string& v, Out& out) -> std::optional<std::string> {
             const auto b = parse_bool(v);
             if (!b) return "expected yes or no, got '" + v + "'";
             if (*b) out.emplace_back("rebalance_mode", "patch");
             return std::nullopt;
         }},
    };
    return table;
}

/// Keys of the original's side branches: accepted, with a warning that they do nothing.
constexpr std::string_view kIgnoredKeys[] = {"forward_grid", "forward_offset", "optimize_mode"};
const Option* find_option(std::string_view key)
{
    for (const Option& o : options())
        if (o.key == key) return &o;
    return nullptr;
}

const Alias* find_alias(std::string_view key)
{
    for (const Alias& a : aliases())
        if (a.key == key) return &a;
    return nullptr;
}

std::vector<std::string> all_known_keys()
{
    std::vector<std::string> keys;
    for (const Option& o : options()) keys.emplace_back(o.display);
    for (const Alias& a : aliases()) keys.emplace_back(a.key);
    for (std::string_view k : kIgnoredKeys) keys.emplace_back(k);
    return keys;
}

bool is_sample_section(const std::string& name)
{
    for (std::string_view prefix : {"image", "label", "sample"}) {
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string rest = name.substr(prefix.size());
        if (!rest.empty() && std::all_of(rest.begin(), rest.end(), [](unsigned char c) { return std::isdigit(c); })) return true;
    }
    return false;
}

}  // namespace

std::string_view to_string(OutType v) noexcept { return name_of(v, kOutTypes); }
std::string_view to_string(ConvMode v) noexcept { return name_of(v, kConvModes); }
std::string_view to_string(CostFn v) noexcept { return name_of(v, kCostFns); }
std::string_view to_string(Rebalance v) noexcept { return name_of(v, kRebalance); }
std::string_view to_string(MalisNorm v) noexcept { return name_of(v, kMalisNorms); }
std::string_view to_string(OptimizerKind v) noexcept { return name_of(v, kOptimizers); }
std::string_view to_string(LrSchedule v) noexcept { return name_of(v, kSchedules); }
std::string_view to_string(EtaScaling v) noexcept { return name_of(v, kEtaScalings); }
std::string_view to_string(ForwardDType v) noexcept { return name_of(v, kForwardDTypes); }
std::string_view to_string(TtaCombine v) noexcept { return name_of(v, kTtaCombine); }

std::optional<std::vector<int>> parse_tta_variants(const std::string& text, std::string* error)
{
    if (text == "none") return std::vector<int>{0};
    if (text == "all") {
        std::vector<int> all;
        for (int i = 0; i < 16; ++i) all.push_back(i);
        return all;
    }
    std::string why;
    const auto ids = parse_id_ranges(text, &why);
    if (!ids || ids->empty() || *ids->begin() < 0 || *ids->rbegin() > 15) {
        if (error) *error = "expected none, all, or variants 0-15 like 0,1,8-9, got '" + text + "'";
        return std::nullopt;
    }
    std::vector<int> variants;
    for (const std::int64_t i : *ids) variants.push_back(static_cast<int>(i));
    return variants;
}

CostFn JobConfig::resolved_cost_fn() const noexcept
{
    if (cost_fn != CostFn::Auto) return cost_fn;
    return out_type == OutType::Affinity ? CostFn::BinomialCrossEntropy : CostFn::SoftmaxLoss;
}

JobConfig JobConfig::from_ini(const IniFile& ini, const std::string& file, const std::vector<std::string>& overrides,
                              Diagnostics& diagnostics)
{
    PathBases bases(ini);
    return from_ini(ini, file, overrides, bases, diagnostics);
}

JobConfig JobConfig::from_ini(const IniFile& ini, const std::string& file, const std::vector<std::string>& overrides,
                              PathBases& bases, Diagnostics& diagnostics)
{
    JobConfig c;
    c.file = file;
    for (const IniSection& s : ini.sections())
        if (s.name != "parameters" && !is_sample_section(s.name))
            diagnostics.error(s.file, s.line,
                              "unknown section [" + s.name + "] (expected [parameters], [imageN], [labelN] or [sampleN])");

    struct Setting {
        std::string key, value, where, base_dir;
    };
    std::vector<Setting> legacy, canonical;
    std::set<std::string> seen_canonical;
    auto route = [&](const std::string& key, const std::string& value, const std::string& where, const std::string& base,
                     auto&& warn) {
        if (find_option(key)) {
            canonical.push_back({key, value, where, base});
            seen_canonical.insert(key);
            return;
        }
        if (const Alias* a = find_alias(key)) {
            std::vector<std::pair<std::string, std::string>> out;
            if (auto error = a->translate(value, out)) {
                diagnostics.error_at(where, std::string(key) + ": " + *error);
                return;
            }
            for (auto& [k, v] : out) legacy.push_back({k, v, where, base});
            return;
        }
        if (std::find(std::begin(kIgnoredKeys), std::end(kIgnoredKeys), key) != std::end(kIgnoredKeys)) {
            warn("'" + key + "' (from a side branch of the original) is accepted and ignored");
            return;
        }
        const std::string guess = closest_match(key, all_known_keys());
        diagnostics.error_at(where, "unknown key '" + key + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
    };

    const IniSection* params = ini.find("parameters");
    if (!params) diagnostics.error(file, 0, "no [parameters] section");
    if (params) {
        for (const IniEntry& e : params->entries)
            route(e.key, e.value, e.where(), bases.of(e.file).directory,
                  [&](const std::string& m) { diagnostics.warning(e.file, e.line, m); });
    }
    // Command-line overrides come last and win; relative paths there are relative to the working directory.
    std::vector<Setting> override_settings;
    for (const std::string& o : overrides) {
        const auto eq = o.find('=');
        if (eq == std::string::npos || eq == 0) {
            diagnostics.error_at("--set " + o, "expected key=value");
            continue;
        }
        std::string key = o.substr(0, eq);
        std::transform(key.begin(), key.end(), key.begin(), [](unsigned char ch) { return std::tolower(ch); });
        const std::size_t before_canonical = canonical.size(), before_legacy = legacy.size();
        route(key, o.substr(eq + 1), "--set " + key, std::filesystem::current_path().string(),
              [&](const std::string& m) { diagnostics.warning("--set " + key, 0, m); });
        // Move what this override produced to the end, so it is applied after everything from the file.
        for (std::size_t i = before_canonical; i < canonical.size(); ++i) override_settings.push_back(canonical[i]);
        for (std::size_t i = before_legacy; i < legacy.size(); ++i) override_settings.push_back(legacy[i]);
        canonical.resize(before_canonical);
        legacy.resize(before_legacy);
    }

    auto apply = [&](const Setting& s) {
        const Option* o = find_option(s.key);
        if (auto error = o->set(c, s.value, s.base_dir)) diagnostics.error_at(s.where, std::string(o->display) + ": " + *error);
        c.origin[s.key] = s.where;
    };
    for (const Setting& s : legacy) {
        if (seen_canonical.count(s.key)) {
            diagnostics.warning(s.where, 0, "ignored: '" + s.key + "' is also set under its own name, which wins");
            continue;
        }
        apply(s);
    }
    for (const Setting& s : canonical) apply(s);
    for (const Setting& s : override_settings) apply(s);

    // Checks across options.
    if (c.net_spec.empty()) diagnostics.error(file, 0, "missing required key 'fnet_spec' (the network .znn file)");
    if (c.max_iter <= c.num_iter_per_save)
        diagnostics.error(file, 0,
                          "Max_iter (" + std::to_string(c.max_iter) + ") must be larger than Num_iter_per_save (" +
                              std::to_string(c.num_iter_per_save) + ")");
    if (c.dtype == "float64") diagnostics.warning(file, 0, "dtype float64: znn computes in float32");
    return c;
}

JobConfig JobConfig::load(const std::string& path, const std::vector<std::string>& overrides)
{
    Diagnostics diagnostics;
    IniFile ini;
    ini.read(path, diagnostics);
    diagnostics.throw_if_errors();  // an unreadable file has nothing more to report
    JobConfig c = from_ini(ini, path, overrides, diagnostics);
    diagnostics.throw_if_errors();
    return c;
}

std::string JobConfig::resolved_text() const
{
    std::string text = "[parameters]\n";
    for (const Option& o : options()) text += std::string(o.display) + " = " + o.get(*this) + "\n";
    return text;
}

std::string JobConfig::reference_text()
{
    const JobConfig defaults;
    std::string text =
        "# The job options of znn, with their defaults (generated by JobConfig::reference_text(); a test keeps\n"
        "# this file current). The format is the original ZNN's .cfg: one [parameters] section; keys are\n"
        "# case-insensitive; relative paths are relative to the directory of this file. The sample sections\n"
        "# [imageN], [labelN], [sampleN] go in the file named by fdata_spec, or here.\n"
        "# Legacy keys still read: train_net, train_save_net, is_train_optimize, is_forward_optimize,\n"
        "# force_fft, is_rebalance, is_patch_rebalance.\n\n[parameters]\n";
    std::string_view group;
    for (const Option& o : options()) {
        if (o.group != group) {
            group = o.group;
            text += "\n# ---- " + std::string(group) + " ----\n";
        }
        text += "# " + std::string(o.help) + "\n" + std::string(o.display) + " = " + o.get(defaults) + "\n";
    }
    return text;
}

std::string JobConfig::where(std::string_view key) const
{
    const auto it = origin.find(std::string(key));
    return it != origin.end() ? it->second : file;
}

std::vector<std::string> JobConfig::keys()
{
    std::vector<std::string> k;
    for (const Option& o : options()) k.emplace_back(o.key);
    return k;
}

}  // namespace znn::config
