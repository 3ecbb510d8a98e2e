// znn bench conv: times one convolution layer and prints one JSON line per run.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "znn/conv/engine.hpp"
#include "znn/conv/pool.hpp"
#include "znn/conv/select.hpp"
#include "znn/core/error.hpp"
#include "znn/core/memory.hpp"
#include "znn/core/rng.hpp"
#include "znn/sched/thread_pool.hpp"

namespace znn::app {
namespace {

enum class Pass { Forward, BackwardData, BackwardWeights, All };

struct Timing {
    double median = 0, min = 0, max = 0;
};

Timing summarize(std::vector<double> seconds)
{
    std::sort(seconds.begin(), seconds.end());
    return {seconds[seconds.size() / 2], seconds.front(), seconds.back()};
}

tensor::Tensor<float> random_tensor(const tensor::Shape4& shape, core::Rng& rng)
{
    tensor::Tensor<float> t(shape, core::Init::Uninitialized);
    for (float& v : t.span()) v = rng.uniform_float() * 2.0f - 1.0f;
    return t;
}

double max_relative_error(const tensor::Tensor<float>& a, const tensor::Tensor<float>& b)
{
    double worst = 0, scale = 1e-30;
    for (std::size_t i = 0; i < a.span().size(); ++i) {
        worst = std::max(worst, std::abs(double(a.span()[i]) - double(b.span()[i])));
        scale = std::max(scale, std::abs(double(b.span()[i])));
    }
    return worst / scale;
}

using core::Vec3i;

std::string json_vec(const core::Vec3i& v) { return "[" + std::to_string(v.z) + "," + std::to_string(v.y) + "," + std::to_string(v.x) + "]"; }

int bench_conv(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"bench conv", "--in C,Z,Y,X --out F --kernel z,y,x [options]",
                    "Times one convolution layer (F_in = C input maps of Z×Y×X, F output maps) and prints one JSON\n"
                    "line: the median, fastest and slowest iteration, direct-equivalent GFLOP/s\n"
                    "(2·F_in·F_out·|kernel|·|output|·batch per pass), the bytes the engine caches, and with --check\n"
                    "the largest error relative to the naive oracle. --pass all is one training step: forward, both\n"
                    "gradients, and a weight update (so cached kernel transforms are redone every iteration).",
                    po::options_description("Options"), {}};
    cli.options.add_options()
        ("in", po::value<std::string>()->required(), "input maps and size: C,Z,Y,X")
        ("out", po::value<std::int64_t>()->required(), "output maps F")
        ("kernel", po::value<std::string>()->required(), "kernel size z,y,x")
        ("dilation", po::value<std::string>()->default_value("1,1,1"), "tap spacing z,y,x")
        ("batch", po::value<std::int64_t>()->default_value(1), "patches per batch")
        ("algo", po::value<std::string>()->default_value("auto"), "naive, direct, fft or auto")
        ("pass", po::value<std::string>()->default_value("all"), "fwd, bwd_data, bwd_weights or all")
        ("threads", po::value<int>()->default_value(0), "threads (0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the affinity mask)")
        ("iters", po::value<int>()->default_value(5), "timed iterations (after one untimed warm-up)")
        ("check", po::bool_switch(), "also compare every pass with the naive oracle; exit 1 above --tolerance")
        ("tolerance", po::value<double>()->default_value(1e-4), "--check: the largest relative error accepted")
        ("plan", po::value<std::string>()->default_value("measure"), "the FFT engine's tiling: estimate (its cost model) or measure (the model's best three timed)")
        ("fft-tile", po::value<std::string>(), "fft: output tile z,y,x instead of the engine's measured choice");
    add_common_options(cli.options);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);

    conv::ConvProblem p;
    std::tie(p.in_channels, p.in_size) = parse_maps_and_size_option("in", (*vm)["in"].as<std::string>());
    p.out_channels = (*vm)["out"].as<std::int64_t>();
    p.kernel = parse_vec3_option("kernel", (*vm)["kernel"].as<std::string>());
    p.dilation = parse_vec3_option("dilation", (*vm)["dilation"].as<std::string>());
    p.batch = (*vm)["batch"].as<std::int64_t>();
    if (p.out_channels < 1) usage_error("out", "must be positive");
    if (p.batch < 1) usage_error("batch", "must be positive");
    if (auto reason = p.invalid_reason()) usage_error("kernel", *reason);
    const auto algo = conv::parse_conv_algo((*vm)["algo"].as<std::string>());
    if (!algo) usage_error("algo", "unknown algorithm '" + (*vm)["algo"].as<std::string>() + "'");
    const std::string pass_name = (*vm)["pass"].as<std::string>();
    const Pass pass = pass_name == "fwd" ? Pass::Forward
                      : pass_name == "bwd_data" ? Pass::BackwardData
                      : pass_name == "bwd_weights" ? Pass::BackwardWeights
                      : pass_name == "all" ? Pass::All
                                           : (usage_error("pass", "unknown pass '" + pass_name + "'"), Pass::All);
    const int iters = (*vm)["iters"].as<int>();
    if (iters < 1) usage_error("iters", "must be positive");
    const std::string plan_name = (*vm)["plan"].as<std::string>();
    const std::optional<conv::Tuning> tuning = conv::parse_tuning(plan_name);
    if (!tuning) usage_error("plan", "unknown '" + plan_name + "' (estimate or measure)");

    sched::ThreadPool pool(thread_count(*vm, 0, *log));
    conv::EngineOptions engines = context.engines;
    engines.tuning = *tuning;
    conv::ConvContext ctx{pool, engines};
    if (pass == Pass::Forward) ctx.usage = conv::Usage::Inference;
    if (vm->count("fft-tile")) ctx.fft_tile = parse_vec3_option("fft-tile", (*vm)["fft-tile"].as<std::string>());
    {  // Refuse before allocating: the tensors below, and the engine's workspace.
        const double tensors = 4.0 * 2.0 *
                               (double(p.batch * p.in_channels) * double(p.in_size.product()) +
                                double(p.batch * p.out_channels) * double(p.out_size().product()) +
                                double(p.in_channels * p.out_channels) * double(p.kernel.product()));
        try {
            core::require_memory(tensors, "this benchmark's tensors");
            core::require_memory(tensors + double(conv::workspace_estimate(*algo, p, ctx)), "this benchmark");
        } catch (const core::InputError& e) {
            usage_error("in", e.message());
        }
    }
    conv::ConvAlgo chosen = *algo;
    std::string choice_note;
    const auto build_start = std::chrono::steady_clock::now();  // choice and tuning (tiles, transforms)
    std::unique_ptr<conv::ConvEngine> engine;
    if (chosen == conv::ConvAlgo::Auto) {  // the engine the selector timed, for this pass's use
        conv::ConvSelector selector(ctx, log.get());
        conv::Selection s = selector.choose(p, ctx.usage);
        chosen = s.algo;
        choice_note = s.summary;
        engine = std::move(s.engine);
    } else {
        engine = conv::make_engine(chosen, p, ctx);
    }
    const double build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();

    core::Rng rng = core::Rng::stream(1, 0, core::RngPurpose::Test);
    const tensor::Tensor<float> in = random_tensor({p.batch * p.in_channels, p.in_size}, rng);
    tensor::Tensor<float> w = random_tensor({p.out_channels * p.in_channels, p.kernel}, rng);
    const tensor::Tensor<float> gout = random_tensor({p.batch * p.out_channels, p.out_size()}, rng);
    tensor::Tensor<float> out(p.batch * p.out_channels, p.out_size());
    tensor::Tensor<float> gin(in.shape()), gw(w.shape());
    std::uint64_t version = 1;

    auto step = [&] {
        const conv::Weights weights{w.view(), version};
        if (pass == Pass::Forward || pass == Pass::All) engine->forward(in.view(), weights, out.view(), conv::Accumulate::Overwrite);
        if (pass == Pass::All) {
            engine->backward(in.view(), gout.view(), weights, {gin.view(), gw.view()}, conv::Accumulate::Overwrite);
            w.span()[0] += 1e-3f;  // a weight update: the next step sees new weights
            ++version;
        }
        if (pass == Pass::BackwardData) engine->backward(in.view(), gout.view(), weights, {gin.view(), {}}, conv::Accumulate::Overwrite);
        if (pass == Pass::BackwardWeights)
            engine->backward(in.view(), gout.view(), weights, {{}, gw.view()}, conv::Accumulate::Overwrite);
    };
    step();  // warm-up: plans, first allocations, caches
    const auto phases_before = engine->phase_seconds();
    std::vector<double> seconds;
    for (int i = 0; i < iters; ++i) {
        const auto start = std::chrono::steady_clock::now();
        step();
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    const Timing t = summarize(seconds);
    const double passes = pass == Pass::All ? 3.0 : 1.0;
    const double gflops = passes * p.flops_per_pass() / t.median / 1e9;

    std::ostringstream os;
    os.precision(6);
    os << "{\"bench\":\"conv\",\"problem\":\"" << p.to_string() << "\",\"algo\":\"" << conv::to_string(chosen) << "\""
       << ",\"requested\":\"" << conv::to_string(*algo) << "\",\"pass\":\"" << pass_name << "\",\"batch\":" << p.batch
       << ",\"in_channels\":" << p.in_channels << ",\"out_channels\":" << p.out_channels << ",\"in_size\":" << json_vec(p.in_size)
       << ",\"out_size\":" << json_vec(p.out_size()) << ",\"kernel\":" << json_vec(p.kernel)
       << ",\"dilation\":" << json_vec(p.dilation) << ",\"threads\":" << pool.threads() << ",\"simd\":\"" << core::to_string(ctx.simd) << "\",\"iters\":" << iters
       << ",\"median_s\":" << t.median << ",\"min_s\":" << t.min << ",\"max_s\":" << t.max << ",\"gflops\":" << gflops
       << ",\"engine\":\"" << engine->describe() << "\",\"cached_bytes\":" << engine->cached_bytes() << ",\"build_s\":" << build_seconds;
    if (!choice_note.empty()) os << ",\"auto\":\"" << choice_note << "\"";
    const auto phases_after = engine->phase_seconds();
    if (!phases_after.empty()) {
        os << ",\"phases_s\":{";
        for (std::size_t i = 0; i < phases_after.size(); ++i) {
            const double before = i < phases_before.size() ? phases_before[i].second : 0.0;
            os << (i ? "," : "") << "\"" << phases_after[i].first << "\":" << (phases_after[i].second - before) / iters;
        }
        os << "}";
    }

    bool failed = false;
    const double tolerance = (*vm)["tolerance"].as<double>();
    const std::string chosen_name(conv::to_string(chosen));
    if ((*vm)["check"].as<bool>()) {
        auto oracle = conv::make_engine(conv::ConvAlgo::Naive, p, ctx);
        const conv::Weights weights{w.view(), version};
        double worst = 0;
        tensor::Tensor<float> a(out.shape()), b(out.shape());
        engine->forward(in.view(), weights, a.view(), conv::Accumulate::Overwrite);
        oracle->forward(in.view(), weights, b.view(), conv::Accumulate::Overwrite);
        worst = std::max(worst, max_relative_error(a, b));
        tensor::Tensor<float> gi(gin.shape()), gi_ref(gin.shape()), gww(gw.shape()), gw_ref(gw.shape());
        engine->backward(in.view(), gout.view(), weights, {gi.view(), gww.view()}, conv::Accumulate::Overwrite);
        oracle->backward(in.view(), gout.view(), weights, {gi_ref.view(), gw_ref.view()}, conv::Accumulate::Overwrite);
        worst = std::max({worst, max_relative_error(gi, gi_ref), max_relative_error(gww, gw_ref)});
        os << ",\"max_rel_error\":" << worst << ",\"tolerance\":" << tolerance << ",\"check\":\"" << (worst <= tolerance ? "pass" : "fail")
           << "\"";
        failed = !(worst <= tolerance);
    }
    os << "}";
    if (context.comm.is_root()) std::cout << os.str() << std::endl;
    if (failed) {
        if (context.comm.is_root())
            std::cerr << "znn: error: " << chosen_name << " differs from the naive oracle by more than --tolerance " << tolerance << "\n";
        return 1;
    }
    return 0;
}

int bench_pool(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"bench pool", "--in C,Z,Y,X --window z,y,x [options]",
                    "Times max-filtering (a dense sliding window, taps --dilation apart) or, with --pool,\n"
                    "non-overlapping max-pooling, and prints one JSON line with the memory traffic rate: bytes\n"
                    "read and written (input, output and the int32 argmax) per second.",
                    po::options_description("Options"), {}};
    cli.options.add_options()
        ("in", po::value<std::string>()->required(), "maps and size: C,Z,Y,X")
        ("window", po::value<std::string>()->required(), "window z,y,x")
        ("dilation", po::value<std::string>()->default_value("1,1,1"), "tap spacing z,y,x (max-filter)")
        ("pool", po::bool_switch(), "max-pooling (stride = window) instead of max-filtering")
        ("pass", po::value<std::string>()->default_value("fwd"), "fwd or bwd")
        ("threads", po::value<int>()->default_value(0), "threads (0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the affinity mask)")
        ("iters", po::value<int>()->default_value(9), "timed iterations (after one untimed warm-up)");
    add_common_options(cli.options);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);
    const auto [c, in_size] = parse_maps_and_size_option("in", (*vm)["in"].as<std::string>());
    const Vec3i window = parse_vec3_option("window", (*vm)["window"].as<std::string>());
    const conv::MaxWindow w = (*vm)["pool"].as<bool>()
                                  ? conv::MaxWindow::pool(window)
                                  : conv::MaxWindow::filter(window, parse_vec3_option("dilation", (*vm)["dilation"].as<std::string>()));
    Vec3i out_size;
    try {
        out_size = w.out_size(in_size);
    } catch (const core::Error& e) {
        usage_error("window", e.message());
    }
    const std::string pass = (*vm)["pass"].as<std::string>();
    if (pass != "fwd" && pass != "bwd") usage_error("pass", "unknown pass '" + pass + "' (fwd, bwd)");
    const int iters = (*vm)["iters"].as<int>();
    if (iters < 1) usage_error("iters", "must be positive");

    sched::ThreadPool pool(thread_count(*vm, 0, *log));
    core::Rng rng = core::Rng::stream(1, 0, core::RngPurpose::Test);
    const tensor::Tensor<float> in = random_tensor({c, in_size}, rng);
    tensor::Tensor<float> out(c, out_size), grad_in(in.shape());
    tensor::Tensor<std::int32_t> argmax(c, out_size);
    auto step = [&] {
        if (pass == "fwd")
            conv::max_forward(in.view(), w, out.view(), argmax.view(), pool, context.engines.simd);
        else
            conv::max_backward(out.view(), argmax.view(), grad_in.view(), conv::Accumulate::Overwrite, pool);
    };
    conv::max_forward(in.view(), w, out.view(), argmax.view(), pool, context.engines.simd);
    step();
    std::vector<double> seconds;
    for (int i = 0; i < iters; ++i) {
        const auto start = std::chrono::steady_clock::now();
        step();
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    const Timing t = summarize(seconds);
    // fwd reads the input and writes values and indices; bwd reads values and indices and writes the input gradient.
    const double bytes = 4.0 * static_cast<double>(in.count()) + 8.0 * static_cast<double>(out.count());
    std::ostringstream os;
    os.precision(6);
    os << "{\"bench\":\"pool\",\"op\":\"" << ((*vm)["pool"].as<bool>() ? "max_pool" : "max_filter") << "\",\"pass\":\""
       << pass << "\",\"channels\":" << c << ",\"in_size\":" << json_vec(in_size) << ",\"out_size\":" << json_vec(out_size)
       << ",\"window\":" << json_vec(w.window) << ",\"dilation\":" << json_vec(w.dilation) << ",\"threads\":" << pool.threads() << ",\"simd\":\"" << core::to_string(context.engines.simd) << "\""
       << ",\"iters\":" << iters << ",\"median_s\":" << t.median << ",\"min_s\":" << t.min << ",\"max_s\":" << t.max
       << ",\"bytes\":" << bytes << ",\"gbytes_per_s\":" << bytes / t.median / 1e9 << "}";
    if (context.comm.is_root()) std::cout << os.str() << std::endl;
    return 0;
}

}  // namespace

int run_bench(const std::vector<std::string>& args, Context& context)
{
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        if (context.comm.is_root())
            std::cout << "usage: znn bench conv|pool|net|data [options]   (znn bench conv --help)\n\n"
                         "Benchmarks; each prints one JSON line per run on stdout.\n"
                         "  conv    one convolution layer: naive, direct, fft or auto\n"
                         "  pool    max-filtering or max-pooling\n"
                         "  net     a whole network: training steps or forward passes\n"
                         "  data    making one training patch (sampling, augmentation, targets)\n"
                         "  malis   MALIS weights of one affinity patch, and the brute-force baseline\n"
                         "  allreduce  the gradients' all-reduce over MPI ranks, at given sizes\n";
        if (args.empty()) throw core::UsageError("bench needs a benchmark name (conv, pool, net, data, malis, allreduce)").scope(core::ErrorScope::AllRanks);
        return 0;
    }
    if (args[0] == "conv") return bench_conv(std::vector<std::string>(args.begin() + 1, args.end()), context);
    if (args[0] == "pool") return bench_pool(std::vector<std::string>(args.begin() + 1, args.end()), context);
    if (args[0] == "net") return bench_net(std::vector<std::string>(args.begin() + 1, args.end()), context);
    if (args[0] == "data") return bench_data(std::vector<std::string>(args.begin() + 1, args.end()), context);
    if (args[0] == "malis") return bench_malis(std::vector<std::string>(args.begin() + 1, args.end()), context);
    if (args[0] == "allreduce") return bench_allreduce(std::vector<std::string>(args.begin() + 1, args.end()), context);
    throw core::UsageError("unknown benchmark '" + args[0] + "' (benchmarks: conv, pool, net, data, malis, allreduce)")
        .scope(core::ErrorScope::AllRanks);
}

}  // namespace znn::app
