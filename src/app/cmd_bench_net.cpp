// znn bench net: times training steps or forward passes of a whole network, with per-group times.

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/graph/network.hpp"
#include "znn/model/network_file.hpp"
#include "znn/sched/thread_pool.hpp"
#include "znn/sched/trace.hpp"
#include "znn/train/optimizer.hpp"

namespace znn::app {
namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::string json_escape(const std::string& s)
{
    std::string out;
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

int bench_net(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"bench net", "NET.znn --outsz z,y,x [options]",
                    "Times a whole network on random data: training steps (forward, backward and the weight\n"
                    "update) or forward passes, and prints one JSON line: the median, fastest and slowest\n"
                    "iteration, output voxels per second, the median time of every node and edge group with the\n"
                    "convolution each conv group uses (for FFT layers with the mean seconds per iteration of\n"
                    "each phase: transforms, products, inverses), and the share of an iteration spent outside\n"
                    "them (scheduling and bookkeeping).",
                    po::options_description("Options"), {}};
    cli.options.add_options()
        ("net", po::value<std::string>()->required(), "the network (.znn, positional)")
        ("outsz", po::value<std::string>()->required(), "output patch z,y,x")
        ("mode", po::value<std::string>()->default_value("train"), "train or forward")
        ("batch", po::value<int>()->default_value(1), "patches per iteration")
        ("conv", po::value<std::string>()->default_value("auto"), "fft, direct, or auto (time both per group)")
        ("threads", po::value<int>()->default_value(0), "threads (0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the affinity mask)")
        ("plan", po::value<std::string>(), "a network file whose convolution plan (each layer's algorithm and FFT tile)\n"
                                           "to run instead of choosing one, e.g. a training run's _init.h5")
        ("iters", po::value<int>()->default_value(5), "timed iterations (after one untimed warm-up)")
        ("simulate-cores", po::value<std::string>(), "also record one iteration's work and print the speedup a greedy\n"
                                                      "schedule of it would reach on these core counts, e.g. 4,8,16,32,64,144");
    add_common_options(cli.options);
    cli.positional.add("net", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);
    const core::Vec3i outsz = parse_vec3_option("outsz", (*vm)["outsz"].as<std::string>());
    const std::string mode = (*vm)["mode"].as<std::string>(), conv_name = (*vm)["conv"].as<std::string>();
    if (mode != "train" && mode != "forward") usage_error("mode", "train or forward, got '" + mode + "'");
    const int batch = (*vm)["batch"].as<int>(), iters = (*vm)["iters"].as<int>();
    if (batch < 1) usage_error("batch", "must be positive");
    if (iters < 1) usage_error("iters", "must be positive");
    const config::NetSpec spec = config::NetSpec::load((*vm)["net"].as<std::string>());
    const graph::NetShapes shapes = graph::NetShapes::for_output(spec, outsz);
    graph::NetworkOptions options = network_options(conv_name, spec);
    if (vm->count("plan")) {
        const model::NetworkFileMeta plan = model::read_network_meta((*vm)["plan"].as<std::string>());
        options.conv_choices = plan.conv_choices;
        options.fft_tiles = plan.fft_tiles;
    }
    options.batch = batch;
    options.usage = mode == "train" ? conv::Usage::Training : conv::Usage::Inference;

    std::vector<int> simulate;
    if (vm->count("simulate-cores")) {
        std::istringstream list((*vm)["simulate-cores"].as<std::string>());
        for (std::string item; std::getline(list, item, ',');) {
            const int n = std::atoi(item.c_str());
            if (n < 1) usage_error("simulate-cores", "expected positive core counts like 4,8,16, got '" + item + "'");
            simulate.push_back(n);
        }
    }
    sched::ThreadPool pool(thread_count(*vm, 0, *log));
    sched::TracingFor tracing(pool);
    const auto build_start = std::chrono::steady_clock::now();
    core::ParallelFor& threads = simulate.empty() ? static_cast<core::ParallelFor&>(pool) : tracing;
    require_network_memory(spec, shapes, options, {threads, context.engines, nullptr, log.get()}, "outsz");
    graph::Network<float> net(spec, shapes, options, {threads, context.engines, nullptr, log.get()});
    const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
    net.initialize(1);
    net.set_phase(mode == "train" ? graph::Phase::Train : graph::Phase::Test);
    core::Rng rng = core::Rng::stream(1, 0, core::RngPurpose::Test);
    for (const std::string& in : spec.input_nodes()) net.input(in).for_each([&](float& v) { v = rng.uniform_float() * 2 - 1; });
    std::map<std::string, tensor::Tensor<float>> gradients;
    for (const auto& [name, size] : shapes.output_sizes()) {
        gradients[name] = tensor::Tensor<float>(batch * spec.node(name)->size, size);
        gradients[name].view().for_each([&](float& v) { v = (rng.uniform_float() - 0.5f) * 1e-3f; });
    }
    std::int64_t out_voxels = 0;
    for (const auto& [name, size] : shapes.output_sizes()) out_voxels += size.product() * batch;
    // The training step's update: the original's SGD with momentum (train::Optimizer).
    train::Optimizer optimizer({.kind = train::OptimizerKind::Sgd, .momentum = 0.9}, *net.parameter_store());
    const auto update = [&] {
        if (tracing.recording()) tracing.set_label("update");
        optimizer.step(*net.parameter_store(), {1e-6, 1}, 1.0 / double(out_voxels), threads);
    };

    std::vector<double> seconds, updates;
    std::map<std::string, std::vector<double>> group_fwd, group_bwd;
    std::map<std::string, std::string> how;
    // Engine phases: seconds so far after the warm-up, and after the last timed iteration.
    std::map<std::string, std::map<std::string, double>> phases_before;
    std::map<std::string, std::vector<std::pair<std::string, double>>> phases_after;
    std::vector<std::string> order;
    for (int i = -1; i < iters; ++i) {
        const auto start = std::chrono::steady_clock::now();
        net.set_iteration(static_cast<std::uint64_t>(i + 1));
        net.forward();
        double update_s = 0;
        if (mode == "train") {
            for (auto& [name, g] : gradients) tensor::copy(g.cview(), net.output_gradient(name));
            net.backward();
            const auto u = std::chrono::steady_clock::now();
            update();
            update_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - u).count();
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (i < 0) {
            for (const graph::GroupTime& t : net.timings())
                for (const auto& [phase, seconds_so_far] : t.engine_phases) phases_before[t.group][phase] = seconds_so_far;
            continue;
        }
        seconds.push_back(s);
        updates.push_back(update_s);
        for (const graph::GroupTime& t : net.timings()) {
            if (i == 0) order.push_back(t.group);
            group_fwd[t.group].push_back(t.forward_s);
            group_bwd[t.group].push_back(t.backward_s);
            how[t.group] = t.how;
            phases_after[t.group] = t.engine_phases;
        }
    }
    // Bookkeeping: what an iteration spends outside every group's work and the update.
    std::vector<double> outside;
    for (int i = 0; i < iters; ++i) {
        double inside = updates[static_cast<std::size_t>(i)];
        for (const std::string& g : order) inside += group_fwd[g][static_cast<std::size_t>(i)] + group_bwd[g][static_cast<std::size_t>(i)];
        outside.push_back(std::max(0.0, seconds[static_cast<std::size_t>(i)] - inside) / seconds[static_cast<std::size_t>(i)]);
    }
    const double med = median(seconds);
    // One more iteration, recorded, replayed on more cores.
    std::string simulated;
    if (!simulate.empty()) {
        tracing.clear();
        tracing.set_recording(true);
        net.forward();
        if (mode == "train") {
            for (auto& [name, g] : gradients) tensor::copy(g.cview(), net.output_gradient(name));
            net.backward();
            update();
        }
        const auto& segments = tracing.segments();
        tracing.set_recording(false);
        std::ostringstream sim;
        sim.precision(4);
        sim << ",\"simulated_one_core_s\":" << sched::simulate(segments, 1) << ",\"simulated_speedup\":{";
        for (std::size_t k = 0; k < simulate.size(); ++k) sim << (k ? "," : "") << "\"" << simulate[k] << "\":" << sched::speedup(segments, simulate[k]);
        sim << "}";
        simulated = sim.str();
    }
    std::ostringstream os;
    os.precision(6);
    os << "{\"bench\":\"net\",\"net\":\"" << json_escape(spec.file) << "\",\"mode\":\"" << mode << "\",\"conv\":\"" << conv_name
       << "\",\"batch\":" << batch << ",\"threads\":" << pool.threads() << ",\"simd\":\"" << core::to_string(context.engines.simd) << "\",\"outsz\":[" << outsz.z << "," << outsz.y << "," << outsz.x
       << "],\"iters\":" << iters << ",\"median_s\":" << med << ",\"min_s\":" << *std::min_element(seconds.begin(), seconds.end())
       << ",\"max_s\":" << *std::max_element(seconds.begin(), seconds.end()) << ",\"out_voxels_per_s\":" << double(out_voxels) / med
       << ",\"update_s\":" << median(updates) << ",\"bookkeeping_fraction\":" << median(outside) << ",\"build_s\":" << build_s
       << ",\"memory_bytes\":" << net.memory_bytes() << simulated << ",\"groups\":[";
    for (std::size_t k = 0; k < order.size(); ++k) {
        const std::string& g = order[k];
        os << (k ? "," : "") << "{\"group\":\"" << json_escape(g) << "\",\"forward_s\":" << median(group_fwd[g])
           << ",\"backward_s\":" << median(group_bwd[g]);
        if (!how[g].empty()) os << ",\"conv\":\"" << json_escape(how[g]) << "\"";
        if (!phases_after[g].empty()) {
            os << ",\"phases_s\":{";
            for (std::size_t q = 0; q < phases_after[g].size(); ++q) {
                const auto& [phase, total] = phases_after[g][q];
                os << (q ? "," : "") << "\"" << json_escape(phase) << "\":" << (total - phases_before[g][phase]) / iters;
            }
            os << "}";
        }
        os << "}";
    }
    os << "]}";
    if (context.comm.is_root()) std::cout << os.str() << std::endl;
    return 0;
}

}  // namespace znn::app
