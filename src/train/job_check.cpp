#include "znn/train/job_check.hpp"

#include <filesystem>

#include "znn/core/error.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/train/loss.hpp"

namespace znn::train {
namespace {

using config::OutType;

/// Output maps `out_type` needs (0: the job's num_classes is 0, so the node decides).
std::int64_t maps_for(const config::JobConfig& c)
{
    switch (c.out_type) {
    case OutType::Boundary: return 2;
    case OutType::Affinity: return 3;
    case OutType::Semantic: return c.num_classes;
    }
    return 0;
}

}  // namespace

void check_training_network(const config::JobFiles& job, const config::NetSpec& net, config::Diagnostics& d)
{
    const config::JobConfig& c = job.config;
    // The outputs against out_type, and the cost against the outputs.
    const std::int64_t want = maps_for(c);
    const Cost cost = resolve_cost(c.cost_fn, c.out_type);
    for (const std::string& o : net.output_nodes()) {
        const config::NodeGroupSpec& n = *net.node(o);
        if (want > 0 && n.size != want)
            d.error_at(n.where("size"), "out_type " + std::string(config::to_string(c.out_type)) + " needs " + std::to_string(want) +
                                            " maps on the output node group '" + o + "', which has " + std::to_string(n.size));
        if (cost == Cost::Softmax && n.size < 2)
            d.error_at(c.where("cost_fn"), "softmax_loss needs at least 2 output maps; '" + o + "' has " + std::to_string(n.size));
        const auto f = n.options.find("function");
        const bool logistic = f != n.options.end() && (f->second == "forward_logistics" || f->second == "logistics");
        if (cost == Cost::BinomialCrossEntropy && !logistic)
            d.warning(n.where("function"), 0,
                      "binomial_cross_entropy expects probabilities: the output node '" + o + "' should be forward_logistics");
        if (cost == Cost::Softmax && f != n.options.end() && f->second == "forward_logistics")
            d.warning(n.where("function"), 0, "softmax_loss takes logits: '" + o + "' is forward_logistics (linear is usual)");
    }
}

void check_training_options(const config::JobFiles& job, const std::optional<std::string>& seed_file, config::Diagnostics& d)
{
    namespace fs = std::filesystem;
    const config::JobConfig& c = job.config;
    std::error_code ec;
    if (c.train_range.empty()) d.error(c.file, 0, "train_range names no sample: nothing to train on");
    if (c.train_net_prefix.empty()) d.error(c.file, 0, "train_range is set but train_net_prefix is not (where training saves the network)");
    else {
        try {
            io::check_creatable_location(c.train_net_prefix + "_current.h5");
        } catch (const core::Error& e) {
            d.error_at(c.where("train_net_prefix"), std::string("train_net_prefix: ") + e.what());
        }
    }
    // MALIS.
    const bool constrained = c.is_constrained_malis || c.malis_norm_type == config::MalisNorm::Constrain;
    if (c.is_malis && c.out_type != OutType::Affinity)
        d.error_at(c.where("is_malis"), "is_malis: MALIS weights affinity graphs; out_type is " + std::string(config::to_string(c.out_type)) +
                                            " (the original's boundary-map MALIS called an undefined function)");
    if (!c.is_malis && (c.is_constrained_malis || c.origin.count("malis_norm_type")))
        d.warning(c.where(c.is_constrained_malis ? "is_constrained_malis" : "malis_norm_type"), 0, "MALIS options without is_malis = yes do nothing");
    if (c.is_malis && constrained && c.malis_norm_type != config::MalisNorm::None && c.malis_norm_type != config::MalisNorm::Constrain)
        d.error_at(c.where("malis_norm_type"), "constrained MALIS normalises each pass by its own pair count: malis_norm_type must be none "
                                               "or constrain, not " + std::string(config::to_string(c.malis_norm_type)));
    // Keys of the original that only switch off what znn lacks, and combinations that do nothing.
    if (c.is_visual) d.warning(c.where("is_visual"), 0, "is_visual: znn draws no live plots; tools/plot-curve draws the learning curve");
    if (c.optimizer == config::OptimizerKind::Adam && c.momentum > 0)
        d.warning(c.where("momentum"), 0, "momentum is SGD's; adam uses adam_beta1");
    if (c.lr_schedule == config::LrSchedule::Cosine && c.warmup_iter >= c.max_iter)
        d.error_at(c.where("warmup_iter"), "warmup_iter (" + std::to_string(c.warmup_iter) + ") must be below Max_iter");
    if (c.lr_schedule == config::LrSchedule::Cosine && c.anneal_factor != 1.0)
        d.warning(c.where("anneal_factor"), 0, "anneal_factor belongs to lr_schedule = step; the cosine schedule ignores it");
    if (!c.conv_plan.empty() && !fs::is_regular_file(c.conv_plan, ec)) d.error_at(c.where("conv_plan"), "conv_plan: no such file: " + c.conv_plan);
    if (seed_file && !fs::is_regular_file(*seed_file, ec)) {
        const bool from_job = *seed_file == c.train_seed_net && c.origin.count("train_seed_net");
        d.error_at(from_job ? c.where("train_seed_net") : "-s", "no such seed network file: " + *seed_file);
    }
}

}  // namespace znn::train
