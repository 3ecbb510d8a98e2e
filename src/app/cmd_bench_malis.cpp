// znn bench malis: times MALIS weights on one affinity patch, and the brute-force baseline.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/data/synth.hpp"
#include "znn/data/targets.hpp"
#include "znn/sched/thread_pool.hpp"
#include "znn/train/malis.hpp"

namespace znn::app {
namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F> double seconds_of(F&& f)
{
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int bench_malis(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"bench malis", "--size z,y,x [options]",
                    "Times the MALIS weights of one 3-channel affinity patch: true affinities from a synthetic EM\n"
                    "label volume (znn synth's cells), predictions from them with noise (so the maximin forest is\n"
                    "realistic). With --reference, also the brute-force baseline (components found again after\n"
                    "every edge, O(E·(N+E))). Prints one JSON line: median seconds and nanoseconds per voxel.",
                    po::options_description("Options"), {}};
    cli.options.add_options()
        ("size", po::value<std::string>()->required(), "the affinity patch z,y,x")
        ("norm", po::value<std::string>()->default_value("none"), "none, frac, num or pair")
        ("constrained", po::bool_switch(), "the constrained two-pass variant")
        ("threads", po::value<int>()->default_value(0), "threads (0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the affinity mask); the constrained passes run in parallel")
        ("iters", po::value<int>()->default_value(7), "timed runs (after one untimed)")
        ("reference", po::bool_switch(), "also time the brute-force baseline (slow: keep --size small)");
    add_common_options(cli.options);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);
    const core::Vec3i size = parse_vec3_option("size", (*vm)["size"].as<std::string>());
    const std::string norm_name = (*vm)["norm"].as<std::string>();
    train::MalisOptions options;
    options.constrained = (*vm)["constrained"].as<bool>();
    if (norm_name == "frac") options.norm = config::MalisNorm::Frac;
    else if (norm_name == "num") options.norm = config::MalisNorm::Num;
    else if (norm_name == "pair") options.norm = config::MalisNorm::Pair;
    else if (norm_name != "none") usage_error("norm", "none, frac, num or pair, got '" + norm_name + "'");
    const int iters = (*vm)["iters"].as<int>();
    if (iters < 1) usage_error("iters", "must be positive");
    const bool reference = (*vm)["reference"].as<bool>();
    if (reference && (options.constrained || options.norm == config::MalisNorm::Num || options.norm == config::MalisNorm::Pair))
        usage_error("reference", "the baseline computes unconstrained weights with norm none or frac");

    // Labels of synthetic cells, one voxel larger per axis, and their affinities.
    data::SynthParams p;
    p.shape = size + 1;
    p.cell_spacing = std::max(6.0, double(std::min(size.y, size.x)) / 4);
    const data::SynthVolume v = data::synthesize(p, 7, 0);
    tensor::Tensor<float> target(3, size), affinity(3, size);
    data::affinity_targets(v.labels.cview(), target.view());
    core::Rng rng(3);
    for (std::int64_t i = 0; i < target.count(); ++i)
        affinity.data()[i] = static_cast<float>(std::clamp(0.1 + 0.8 * target.data()[i] + rng.normal(0.0, 0.15), 0.001, 0.999));

    sched::ThreadPool pool(thread_count(*vm, 0, *log));
    std::vector<double> runs;
    train::MalisResult result;
    for (int i = -1; i < iters; ++i) {
        const double s = seconds_of([&] { result = train::malis_weights(affinity.cview(), target.cview(), {}, options, pool); });
        if (i >= 0) runs.push_back(s);
    }
    const double voxels = double(size.product());
    std::ostringstream os;
    os.precision(6);
    os << "{\"bench\":\"malis\",\"size\":[" << size.z << "," << size.y << "," << size.x << "],\"voxels\":" << size.product()
       << ",\"norm\":\"" << norm_name << "\",\"constrained\":" << (options.constrained ? "true" : "false") << ",\"threads\":" << pool.threads()
       << ",\"segments\":" << result.segments << ",\"boundary_free\":" << result.boundary_free << ",\"median_s\":" << median(runs)
       << ",\"min_s\":" << *std::min_element(runs.begin(), runs.end()) << ",\"ns_per_voxel\":" << median(runs) / voxels * 1e9;
    if (reference) {
        std::vector<double> slow;
        tensor::Tensor<float> w;
        for (int i = 0; i < std::min(iters, 3); ++i)
            slow.push_back(seconds_of([&] { w = train::malis_weights_reference(affinity.cview(), target.cview(), options); }));
        double diff = 0;
        for (std::int64_t i = 0; i < w.count(); ++i)
            diff = std::max(diff, std::abs(double(w.data()[i]) - result.weights.data()[i]) / std::max(1.0, std::abs(double(w.data()[i]))));
        os << ",\"reference_s\":" << median(slow) << ",\"reference_ns_per_voxel\":" << median(slow) / voxels * 1e9
           << ",\"speedup\":" << median(slow) / median(runs) << ",\"max_rel_difference\":" << diff;
    }
    os << "}";
    if (context.comm.is_root()) std::cout << os.str() << std::endl;
    return 0;
}

}  // namespace znn::app
