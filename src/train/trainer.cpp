#include "znn/train/trainer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

#include "znn/core/error.hpp"
#include "znn/core/memory.hpp"
#include "znn/data/batch_loader.hpp"
#include "znn/dist/agree.hpp"
#include "znn/graph/network.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/train/checkpoint.hpp"
#include "znn/train/grad_sync.hpp"
#include "znn/train/loss.hpp"
#include "znn/train/malis.hpp"
#include "znn/train/optimizer.hpp"
#include "znn/train/progress.hpp"
#include "znn/train/schedule.hpp"

namespace znn::train {
namespace {

using Clock = std::chrono::steady_clock;
using config::OutType;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string read_text(const std::string& path)
{
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// The value of `key = value` in a resolved configuration text, or "".
std::string resolved_value(const std::string& text, const std::string& key)
{
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(key + " = ", 0) == 0) return line.substr(key.size() + 3);
    return "";
}

/// What one iteration (or one validation patch) adds up.
enum Sum { kStop, kCost, kPixelErrors, kVoxels, kRandSum, kRandCount, kMalisCost, kMalisError, kMalisCount, kDegenerate, kPatches, kSums };
using Sums = std::array<double, kSums>;

/// Averages of the iterations since the last progress line.
struct Window {
    Sums sums{};
    std::int64_t iterations = 0;
    double step_seconds = 0;
    Clock::time_point start = Clock::now();
    std::array<double, 6> phase{};  // data, forward, loss, backward, reduce, update
};

}  // namespace

struct Trainer::Impl {
    config::JobFiles job;
    const config::JobConfig& c;
    TrainOptions options;
    TrainContext ctx;
    dist::Comm comm;
    core::Logger& log;
    TrainFiles files;
    config::NetSpec spec;
    std::string net_text;
    std::optional<graph::NetShapes> shapes_;
    const graph::NetShapes& shapes() const { return *shapes_; }
    std::vector<std::string> inputs, outputs;
    bool write_files = true;  // false for is_check
    bool lead_checked = false;  // the signal lead compared with a measured iteration
    std::int64_t batch = 1;
    std::int64_t patch_voxels = 1;  // of train_outsz: the original's ps
    Cost cost = Cost::Softmax;
    bool rand_error = false;  // affinity outputs of 3 maps
    MalisOptions malis;
    bool use_malis = false;

    std::shared_ptr<const data::PatchSource> train_source, test_source;
    std::shared_ptr<graph::ParameterStore<float>> params;
    std::unique_ptr<graph::Network<float>> net, test_net;
    model::NetworkFileMeta plan;  // conv_choices and fft_tiles
    std::unique_ptr<Optimizer> optimizer;
    Schedule schedule;
    double base_eta = 0;
    std::unique_ptr<GradientAverager> averager;
    std::unique_ptr<data::BatchLoader> loader;
    std::map<std::string, tensor::Tensor<float>> prob;  // output node -> (B·C, S)

    TrainerState state;
    LearningCurve curve;
    double last_majority_error = -1;
    DebugPatch debug_patch;
    std::int64_t start = 0;
    enum class Start { Fresh, Seeded, Resumed } how = Start::Fresh;

    Impl(const config::JobFiles& j, const TrainOptions& o, TrainContext x)
        : job(j), c(job.config), options(o), ctx(x), comm(x.comm), log(x.log), files{job.config.train_net_prefix}
    {
    }

    // ---- setting up ----------------------------------------------------------------------------------

    /// Checks the job, on rank 0 for every rank: nothing is read or written after a problem.
    void check()
    {
        dist::root_decides(comm, [&] {
            for (const auto& w : job.warnings) log.warn(w.where, ": ", w.message);
            config::Diagnostics d;
            check_training_options(job, seed_file(), d);
            const config::NetSpec n = config::NetSpec::read(c.net_spec, d);
            if (!d.has_errors()) check_training_network(job, n, d);
            if (!d.has_errors())
                if (const auto s = graph::NetShapes::from_output(n, c.train_outsz, d)) {
                    data::PatchGeometry g{s->input_sizes(), s->output_sizes()};
                    const auto in = n.input_nodes(), out = n.output_nodes();
                    const std::set<std::string> in_set(in.begin(), in.end()), out_set(out.begin(), out.end());
                    const data::SampleOptions so = data::SampleOptions::from_job(c, g, n.node(out.front())->size);
                    for (const auto* range : {&c.train_range, &c.test_range})
                        for (const std::int64_t id : *range) {
                            if (!job.samples.samples.count(id)) {
                                d.error_at(c.where(range == &c.train_range ? "train_range" : "test_range"),
                                           "names sample " + std::to_string(id) + ", but there is no [sample" + std::to_string(id) + "]");
                                continue;
                            }
                            if (const auto r = job.samples.resolve(id, in_set, out_set, true, d)) data::SamplePlan::make(*r, so, d);
                        }
                }
            for (const auto& w : d.warnings()) log.warn(w.where, ": ", w.message);
            d.throw_if_errors();
            if (seed_file()) check_seed(n);
            if (!c.conv_plan.empty()) model::read_network_meta(c.conv_plan);  // a readable network file
        });
    }

    /// The seed of a new run: -s, else the job's train_seed_net.
    std::optional<std::string> seed_file() const
    {
        if (options.seed_file) return options.seed_file;
        if (!c.train_seed_net.empty()) return c.train_seed_net;
        return std::nullopt;
    }

    /// The network file a run continues from: <prefix>_current.h5, else the original's
    /// train_load_net when that file exists (the original skipped one that did not); empty: a new run.
    std::string resume_file() const
    {
        std::error_code ec;
        if (std::filesystem::exists(files.current(), ec)) return files.current();
        if (!c.train_load_net.empty() && std::filesystem::exists(c.train_load_net, ec)) return c.train_load_net;
        return {};
    }

    /// A seed must share groups with the network, of the same shapes (load_network checks them).
    void check_seed(const config::NetSpec& n) const
    {
        if (!resume_file().empty()) return;  // resuming: the seed is not used
        const std::string seed = *seed_file();
        auto scratch = graph::ParameterStore<float>::create(n, graph::NetShapes::for_output(n, c.train_outsz));
        const model::LoadReport r = model::load_network(seed, n, *scratch, model::LoadMode::Seed);
        if (r.loaded.empty() && r.skipped.empty())
            throw core::InputError("shares no parameter group with " + n.file + " (not a seed for this network)").at(seed);
    }

    std::vector<data::SampleData> load_samples(const std::set<std::int64_t>& range, bool split)
    {
        const std::set<std::string> in(inputs.begin(), inputs.end()), out(outputs.begin(), outputs.end());
        data::SampleOptions so = data::SampleOptions::from_job(c, {shapes().input_sizes(), shapes().output_sizes()}, spec.node(outputs.front())->size);
        so.split_over_ranks = split;
        std::vector<data::SampleData> samples;
        for (const std::int64_t id : range) {
            config::Diagnostics d;
            const auto r = job.samples.resolve(id, in, out, true, d);
            d.throw_if_errors();
            samples.push_back(data::SampleData::load(*r, so, comm));
            log.info(samples.back().describe());
        }
        return samples;
    }

    /// Parameters and trainer state: resumed, seeded or new.
    void start_parameters()
    {
        params = graph::ParameterStore<float>::create(spec, shapes());
        optimizer = std::make_unique<Optimizer>(
            OptimizerOptions{c.optimizer, c.momentum, c.weight_decay, c.adam_beta1, c.adam_beta2, c.adam_epsilon}, *params);
        // Rank 0 looks; every rank continues from the same file (0: none, 1: <prefix>_current.h5, 2: train_load_net).
        const std::string found = comm.is_root() ? resume_file() : std::string();
        const int which = comm.broadcast_value<int>(found.empty() ? 0 : found == files.current() ? 1 : 2);
        const std::optional<std::string> seed = seed_file();
        if (which != 0) {
            const std::string from = which == 1 ? files.current() : c.train_load_net;
            if (seed) log.warn(options.seed_file ? "-s " : "train_seed_net ", *seed, " ignored: resuming from ", from, " (a new run needs a new prefix)");
            if (which == 2) log.info("continuing from train_load_net ", from, " (", files.current(), " does not exist yet)");
            how = Start::Resumed;
            const LoadedCheckpoint loaded = read_checkpoint(from, spec, *params);
            optimizer->restore(loaded.optimizer);
            optimizer->set_steps(loaded.state.optimizer_steps);
            state = loaded.state;
            curve = loaded.curve;
            plan.conv_choices = loaded.meta.conv_choices;
            plan.fft_tiles = loaded.meta.fft_tiles;
            if (!loaded.meta.net.empty() && loaded.meta.net != net_text)
                log.warn(from, " was trained with another version of ", spec.file, " (the parameters' shapes match)");
            const bool by_znn = loaded.meta.format_version > 0 && loaded.meta.eta.has_value();
            resume_schedule(by_znn ? loaded.meta.config : "", by_znn);
            if (state.ranks != comm.size() || state.batch_size != batch)
                log.warn("resumed with ", comm.size(), " rank(s) x ", batch, " patch(es), the checkpoint's run had ", state.ranks, " x ",
                         state.batch_size, ": the global batch, and so each update's average, changes (eta_scaling = ",
                         config::to_string(c.eta_scaling), ")");
            log.info("resumed from ", from, " at iteration ", state.iteration, ", learning rate ", schedule.at(state.iteration + 1));
        } else {
            params->initialize(c.seed);
            if (seed) {
                how = Start::Seeded;
                const model::LoadReport r = model::load_network(*seed, spec, *params, model::LoadMode::Seed);
                if (r.loaded.empty())
                    throw core::InputError("shares no parameter group with " + spec.file + " (not a seed for this network)")
                        .at(*seed)
                        .scope(core::ErrorScope::AllRanks);
                log.info("seeded ", r.loaded.size(), " group(s) from ", *seed);
                if (!r.skipped.empty()) log.info("  not seeded (seeding 0): ", join(r.skipped));
                if (!r.missing.empty()) log.warn("  not in the seed file, initialised: ", join(r.missing));
                if (!r.unused.empty()) log.warn("  in the seed file but not in the network, unused: ", join(r.unused));
            }
            // Rank 0's parameters for everyone (they are equal by construction: this makes sure).
            for (auto& p : params->all()) {
                comm.broadcast(p.values.span());
                graph::ParameterStore<float>::changed(p);
            }
        }
        start = state.iteration;
    }

    static std::string join(const std::vector<std::string>& v)
    {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s;
    }

    /// The schedule: the job's, with eta scaled for the global batch; continued from a checkpoint's rate.
    void resume_schedule(const std::string& stored_config, bool stored_rate)
    {
        if (!stored_rate || state.iteration == 0) return;
        // A learning rate the user changed since the checkpoint is taken as the new start.
        const std::string before = resolved_value(stored_config, "eta"), now = resolved_value(c.resolved_text(), "eta");
        if (!before.empty() && before != now) {
            log.info("eta changed from ", before, " to ", now, " since the checkpoint: continuing at ", base_eta);
            schedule = schedule.resumed(state.iteration, base_eta);
            return;
        }
        schedule = schedule.resumed(state.iteration, state.eta);
    }

    void make_schedule()
    {
        const double global = double(comm.size()) * double(batch);
        const double scale = c.eta_scaling == config::EtaScaling::Linear ? global : c.eta_scaling == config::EtaScaling::Sqrt ? std::sqrt(global) : 1.0;
        base_eta = c.eta * scale;
        schedule.kind = c.lr_schedule;
        schedule.eta = base_eta;
        schedule.anneal_factor = c.anneal_factor;
        schedule.anneal_every = c.num_iter_per_annealing;
        schedule.warmup = c.warmup_iter;
        schedule.eta_min = c.eta_min * scale;
        schedule.max_iter = c.max_iter;
    }

    /// The convolution plan: the checkpoint's, the conv_plan file's, or timed by rank 0; every rank runs it.
    void make_networks()
    {
        if (plan.conv_choices.empty() && !c.conv_plan.empty()) {
            const model::NetworkFileMeta from = model::read_network_meta(c.conv_plan);
            plan.conv_choices = from.conv_choices;
            plan.fft_tiles = from.fft_tiles;
            log.info("convolution plan from ", c.conv_plan);
        }
        graph::NetworkOptions o;
        o.batch = batch;
        o.conv_mode = c.train_conv_mode;
        o.usage = conv::Usage::Training;
        o.seed = c.seed;
        o.rank = comm.rank();
        const graph::NetworkResources resources{ctx.threads, ctx.engines, nullptr, &log};
        const auto start_time = Clock::now();
        std::string text;
        if (comm.is_root()) {
            o.conv_choices = plan.conv_choices;
            o.fft_tiles = plan.fft_tiles;
            net = std::make_unique<graph::Network<float>>(spec, shapes(), o, resources, params);
            plan.conv_choices = net->conv_choices();
            plan.fft_tiles = net->fft_tiles();
            text = model::conv_plan_text(plan);
        }
        comm.broadcast(text);
        if (!comm.is_root()) {
            plan = {};
            model::parse_conv_plan(text, plan);
            o.conv_choices = plan.conv_choices;
            o.fft_tiles = plan.fft_tiles;
            net = std::make_unique<graph::Network<float>>(spec, shapes(), o, resources, params);
        }
        net->set_phase(graph::Phase::Train);
        log.info("convolution plan (", fixed(since(start_time), 1), " s):");
        for (const graph::GroupTime& g : net->timings())
            if (!g.how.empty()) log.info("  ", g.group, ": ", g.how);
        if (!test_source) return;
        graph::NetworkOptions t = o;
        t.batch = 1;
        t.usage = conv::Usage::Inference;
        t.conv_choices = plan.conv_choices;
        t.fft_tiles = plan.fft_tiles;
        test_net = std::make_unique<graph::Network<float>>(spec, shapes(), t, resources, params);
        test_net->set_phase(graph::Phase::Test);
    }

    void setup()
    {
        check();
        spec = config::NetSpec::load(c.net_spec);
        net_text = read_text(c.net_spec);
        shapes_ = graph::NetShapes::for_output(spec, c.train_outsz);
        write_files = !c.is_check;
        inputs = spec.input_nodes();
        outputs = spec.output_nodes();
        batch = c.batch_size;
        patch_voxels = c.train_outsz.product();
        cost = resolve_cost(c.cost_fn, c.out_type);
        rand_error = c.out_type == OutType::Affinity;
        use_malis = c.is_malis;
        malis.constrained = c.is_constrained_malis || c.malis_norm_type == config::MalisNorm::Constrain;
        malis.norm = malis.constrained ? config::MalisNorm::None : c.malis_norm_type;
        make_schedule();
        log.info("network ", spec.file, ": output ", core::to_string(c.train_outsz), ", field of view ",
                 core::to_string(shapes().fov().begin()->second), ", ", shapes().parameters(), " parameters; ", comm.size(), " rank(s) x ",
                 ctx.threads.threads(), " thread(s) x ", batch, " patch(es); cost ", to_string(cost), use_malis ? " with MALIS" : "");

        // Output directories, as the original made them.
        if (!c.is_check)
            dist::root_decides(comm, [&] {
                io::create_parent_directories(files.current());
                if (const int n = io::remove_stale_temporaries(files.prefix)) log.info("removed ", n, " temporary file(s) of killed writes");
            });

        train_source = std::make_shared<data::PatchSource>(load_samples(c.train_range, c.split_samples), c.augment, true);
        if (!c.test_range.empty()) test_source = std::make_shared<data::PatchSource>(load_samples(c.test_range, false), config::Augmentation{}, false);

        start_parameters();
        make_networks();
        averager = std::make_unique<GradientAverager>(
            comm, *params, GradientAveragerOptions{static_cast<std::size_t>(c.grad_bucket_mb * double(1 << 20)), c.grad_overlap});
        net->set_gradient_ready([this](std::size_t k) { averager->ready(k); });
        for (const std::string& o : outputs) prob[o] = tensor::Tensor<float>(batch * spec.node(o)->size, shapes().output_sizes().at(o));
        loader = std::make_unique<data::BatchLoader>(
            train_source, data::BatchLoaderOptions{batch, c.seed, comm.rank(), data::kTrainStream, start + 1, options.loader_threads, 2});
        state.ranks = comm.size();
        state.batch_size = batch;
        log.info("memory: network ", core::bytes_text(double(net->memory_bytes())), (test_net ? ", validation network " + core::bytes_text(double(test_net->memory_bytes())) : ""));
        if (!c.is_check) {
            rewrite_curve_file();
            if (how != Start::Resumed) write_checkpoint_file(files.init(), false);
            const double per_iteration = state.window_iterations > 0 ? state.window_seconds / double(state.window_iterations)
                                         : state.iteration > 0      ? state.elapsed / double(state.iteration)
                                                                    : 0;
            lead_checked = check_signal_lead(per_iteration);
        }
    }

    // ---- one iteration ---------------------------------------------------------------------------------

    void copy_inputs(graph::Network<float>& n, const std::vector<data::Patch>& patches)
    {
        for (const std::string& in : inputs) {
            const std::int64_t maps = spec.node(in)->size;
            const auto view = n.input(in);
            for (std::size_t b = 0; b < patches.size(); ++b)
                tensor::copy(patches[b].inputs.at(in).cview(), view.channels(static_cast<std::int64_t>(b) * maps, maps));
        }
    }

    /// The cost and its gradients of every output of `n` for `patches`, MALIS weights applied.
    Sums evaluate(graph::Network<float>& n, const std::vector<data::Patch>& patches, MaskUse masks, bool gradients)
    {
        Sums s{};
        const auto B = static_cast<std::int64_t>(patches.size());
        s[kPatches] = double(B);
        for (const std::string& o : outputs) {
            const std::int64_t C = spec.node(o)->size;
            const auto out = n.output(o);
            const tensor::TensorView<float> grad = gradients ? n.output_gradient(o) : tensor::TensorView<float>();
            const auto p = prob.at(o).view().channels(0, B * C);
            for (std::int64_t b = 0; b < B; ++b) {
                const LossSums l = evaluate_loss(cost, out.channels(b * C, C), patches[static_cast<std::size_t>(b)].outputs.at(o), masks,
                                                 p.channels(b * C, C), gradients ? grad.channels(b * C, C) : tensor::TensorView<float>(),
                                                 ctx.threads);
                s[kCost] += l.cost;
                s[kPixelErrors] += l.pixel_errors;
                s[kVoxels] += l.voxels;
            }
            if (!rand_error || C != 3) continue;
            std::vector<Sums> per(static_cast<std::size_t>(B), Sums{});
            auto rand = [&](std::int64_t b) {
                Sums& r = per[static_cast<std::size_t>(b)];
                r[kRandSum] = affinity_pair_counts(p.channels(b * C, C), patches[static_cast<std::size_t>(b)].outputs.at(o).target.cview()).rand_error();
                r[kRandCount] = 1;
            };
            auto weigh = [&](std::int64_t b, core::ParallelFor& threads) {
                const data::PatchTarget& t = patches[static_cast<std::size_t>(b)].outputs.at(o);
                const auto pb = p.channels(b * C, C);
                Sums& r = per[static_cast<std::size_t>(b)];
                const tensor::TensorView<const float> mask = masks == MaskUse::Apply ? t.mask.cview() : tensor::TensorView<const float>();
                const MalisResult m = malis_weights(pb, t.target.cview(), mask, malis, threads);
                r[kDegenerate] = m.degenerate ? 1 : 0;
                const MalisMetrics mm = malis_metrics(pb, t.target.cview(), m.weights.cview());
                r[kMalisCost] = mm.weighted_cost;
                r[kMalisError] = mm.weighted_error;
                r[kMalisCount] = 1;
                if (gradients) {
                    const auto g = grad.channels(b * C, C);
                    const float* w = m.weights.data();
                    for (std::int64_t i = 0; i < g.count(); ++i) g.data()[i] *= w[i];
                }
                if (c.is_debug && b == 0) debug_patch["malis_weights"][o] = m.weights;
            };
            core::SerialFor serial;
            if (B == 1 && use_malis && malis.constrained) {  // the two constrained passes take the threads
                rand(0);
                weigh(0, ctx.threads);
            } else if (B == 1 && use_malis) {  // the rand error beside the MALIS weights
                ctx.threads.run(2, 1, [&](std::int64_t begin, std::int64_t end, int) {
                    for (std::int64_t k = begin; k < end; ++k) k == 0 ? rand(0) : weigh(0, serial);
                });
            } else {
                ctx.threads.run(B, 1, [&](std::int64_t begin, std::int64_t end, int) {
                    for (std::int64_t b = begin; b < end; ++b) {
                        rand(b);
                        if (use_malis) weigh(b, serial);
                    }
                });
            }
            for (const Sums& r : per)
                for (int k = kRandSum; k < kSums; ++k)
                    if (k != kPatches) s[static_cast<std::size_t>(k)] += r[static_cast<std::size_t>(k)];
        }
        return s;
    }

    /// The first node group whose values are not finite, or "".
    std::string first_nonfinite_group(const graph::Network<float>& n) const
    {
        for (const config::NodeGroupSpec& g : spec.nodes) {
            const auto v = n.values(g.name);
            for (std::int64_t i = 0; i < v.count(); ++i)
                if (!std::isfinite(v.data()[i])) return g.name;
        }
        return "";
    }

    bool gradients_finite()
    {
        bool ok = true;
        for (const auto& p : params->all()) {
            const float* g = p.gradient.data();
            for (std::int64_t i = 0; i < p.gradient.count(); ++i) ok = ok && std::isfinite(g[i]);
        }
        return ok;
    }

    void keep_debug_patch(const data::Patch& p)
    {
        for (const auto& [node, t] : p.inputs) debug_patch["inputs"][node] = t;
        for (const std::string& o : outputs) {
            const std::int64_t C = spec.node(o)->size;
            debug_patch["props"][o] = copy_of(prob.at(o).cview().channels(0, C));
            debug_patch["lbls"][o] = p.outputs.at(o).target;
            if (!p.outputs.at(o).weight.empty()) debug_patch["weights"][o] = p.outputs.at(o).weight;
            debug_patch["grdts"][o] = copy_of(net->output_gradient(o).channels(0, C));
        }
    }

    static tensor::Tensor<float> copy_of(tensor::TensorView<const float> v)
    {
        tensor::Tensor<float> t(v.shape(), core::Init::Uninitialized);
        tensor::copy(v, t.view());
        return t;
    }

    [[noreturn]] void diverged(std::int64_t iteration, const std::string& what)
    {
        std::string where;
        if (c.is_debug) {
            dist::root_decides(comm, [&] { write_debug_patch(files.diverged(iteration), debug_patch); });
            where = "; its patch is in " + files.diverged(iteration);
        }
        const std::string last = how == Start::Fresh && state.iteration == 0 ? files.init() : files.current();
        throw core::NumericError("iteration " + std::to_string(iteration) + ": " + what + " (training diverged: a smaller eta may help)" +
                                 where + "; the last good state is " + last + " (iteration " + std::to_string(state.iteration) + ")")
            .scope(core::ErrorScope::AllRanks);
    }

    // ---- what the loop reports and writes -----------------------------------------------------------

    void rewrite_curve_file()
    {
        dist::root_decides(comm, [&] {
            io::AtomicFile atomic(files.curve());
            {
                std::ofstream out(atomic.temp_path());
                out << curve.csv();
                if (!out.flush()) throw core::IoError("cannot write the learning curve").at(files.curve());
            }
            atomic.commit();
        });
    }

    void append_curve(CurvePhase phase, const CurvePoint& p)
    {
        (phase == CurvePhase::Train ? curve.train : curve.test).push_back(p);
        if (!comm.is_root() || !write_files) return;
        std::ofstream out(files.curve(), std::ios::app);
        out << LearningCurve::csv_line(phase, p) << std::flush;
        if (!out) log.warn(files.curve(), ": cannot append to the learning curve (the checkpoint keeps it)");
    }

    void write_checkpoint_file(const std::string& path, bool publish, const Window* window = nullptr)
    {
        if (window) {
            state.window_iterations = window->iterations;
            state.window_seconds = window->step_seconds;
            state.window_sums.assign(window->sums.begin(), window->sums.end());
        } else {
            state.window_iterations = 0;
            state.window_seconds = 0;
            state.window_sums.clear();
        }
        model::NetworkFileMeta meta = plan;
        meta.config = c.resolved_text();
        meta.net = net_text;
        state.optimizer_steps = optimizer->steps();
        const CheckpointContent content{spec,
                                        *params,
                                        *optimizer,
                                        state,
                                        curve,
                                        meta,
                                        c.is_stdio ? model::Layout::Stdio : model::Layout::Root,
                                        rand_error,
                                        use_malis,
                                        c.is_debug ? &debug_patch : nullptr};
        const auto t = Clock::now();
        dist::root_decides(comm, [&] {
            train::write_checkpoint(path, content);
            if (publish) io::publish_copy(path, files.current());
        });
        state.checkpoint_seconds = since(t);
        log.debug("wrote ", path, " in ", fixed(state.checkpoint_seconds, 3), " s");
    }

    /// Compares the batch system's signal lead (TrainOptions::signal_lead) with what a stop takes: the
    /// iteration under way, then a checkpoint, plus a margin for the all-reduce that agrees on the
    /// stop and for the batch system's own delays. `iteration_seconds` 0: not measured yet. Returns
    /// whether a verdict with a measured iteration was given.
    bool check_signal_lead(double iteration_seconds)
    {
        if (options.signal_lead <= 0 || !write_files) return true;
        constexpr double kMarginSeconds = 30;
        const double need = iteration_seconds + state.checkpoint_seconds + kMarginSeconds;
        const std::string parts = "one iteration " + (iteration_seconds > 0 ? fixed(iteration_seconds, 2) + " s" : std::string("(not measured yet)")) +
                                  " + a checkpoint " + fixed(state.checkpoint_seconds, 2) + " s + " + fixed(kMarginSeconds, 0) + " s margin";
        if (options.signal_lead < need)
            log.warn("the stop signal comes ", fixed(options.signal_lead, 0), " s before the kill, but a stop needs about ", fixed(need, 0), " s (", parts,
                     "): the job may be killed before its checkpoint is written; ask for an earlier signal (sbatch --signal=USR1@",
                     static_cast<long long>(std::ceil(2 * need)), ")");
        else if (iteration_seconds > 0)
            log.info("stop signal lead ", fixed(options.signal_lead, 0), " s: enough (", parts, ")");
        return iteration_seconds > 0;
    }

    void check_ranks_agree(std::int64_t iteration)
    {
        if (comm.size() == 1) return;
        const std::vector<std::uint64_t> all = comm.allgather(params->fingerprint());
        for (std::size_t r = 1; r < all.size(); ++r)
            if (all[r] != all[0]) {
                std::ostringstream os;
                os << "iteration " << iteration << ": the weights of rank " << r << " differ from rank 0's (fingerprints " << std::hex
                   << all[0] << " and " << all[r] << "): the ranks no longer train one network";
                throw core::InternalError(os.str()).scope(core::ErrorScope::AllRanks);
            }
    }

    double mean(const Sums& s, Sum num, Sum den) const
    {
        return s[static_cast<std::size_t>(den)] > 0 ? s[static_cast<std::size_t>(num)] / s[static_cast<std::size_t>(den)]
                                                     : std::numeric_limits<double>::quiet_NaN();
    }

    /// The progress line of a window. `seconds_per_iteration` is this run's wall time per iteration so far,
    /// validations and checkpoints included, for the ETA (a window's own time swings with them).
    void show(std::int64_t iteration, Window& w, double rate, double seconds_per_iteration)
    {
        const double wall = since(w.start);
        CurvePoint p;
        p.iteration = iteration;
        p.cost = mean(w.sums, kCost, kVoxels);
        p.pixel_error = mean(w.sums, kPixelErrors, kVoxels);
        if (rand_error) p.rand_error = mean(w.sums, kRandSum, kRandCount);
        if (use_malis) {
            p.malis_cost = mean(w.sums, kMalisCost, kMalisCount);
            p.malis_error = mean(w.sums, kMalisError, kMalisCount);
        }
        p.eta = rate;
        p.seconds_per_iteration = w.step_seconds / double(w.iterations);
        p.voxels_per_second = double(comm.size() * batch * patch_voxels) / p.seconds_per_iteration;
        p.elapsed = state.elapsed;
        append_curve(CurvePhase::Train, p);
        const double peak = comm.max(double(core::peak_resident_bytes()));
        const double per_iteration = seconds_per_iteration > 0 ? seconds_per_iteration : wall / double(w.iterations);
        const double eta_s = per_iteration * double(c.max_iter - iteration);
        std::ostringstream line;
        line << "update " << iteration << "/" << c.max_iter << ", cost: " << fixed(p.cost, 4) << ", pixel error: " << fixed(p.pixel_error, 4);
        if (rand_error) line << ", rand error: " << fixed(p.rand_error, 4);
        if (use_malis) line << ", me: " << fixed(p.malis_cost, 4) << ", mc: " << fixed(p.malis_error, 4);
        line << ", elapsed: " << std::setprecision(3) << p.seconds_per_iteration << " s/iter, " << p.voxels_per_second
             << " voxels/s, learning rate: " << std::setprecision(5) << rate << ", ETA " << duration_text(eta_s) << ", peak memory "
             << core::bytes_text(peak);
        log.info(line.str());
        const double n = double(w.iterations);
        log.debug("  per iteration: data ", fixed(w.phase[0] / n, 4), " s, forward ", fixed(w.phase[1] / n, 4), " s, cost ",
                  fixed(w.phase[2] / n, 4), " s, backward ", fixed(w.phase[3] / n, 4), " s, all-reduce wait ", fixed(w.phase[4] / n, 4),
                  " s, update ", fixed(w.phase[5] / n, 4), " s");
        w = Window{};
    }

    /// test_num patches of the validation samples, each rank its share, summed in patch order.
    double validate(std::int64_t iteration)
    {
        const std::int64_t v = state.validations++;
        const std::int64_t n = c.test_num;
        std::vector<double> per(static_cast<std::size_t>(n * kSums), 0.0);
        // Targets above and at most 0.5 per output channel: the error of always predicting each
        // channel's majority (a constant network), for comparison.
        std::int64_t channels = 0;
        for (const std::string& o : outputs) channels += spec.node(o)->size;
        std::vector<double> classes(static_cast<std::size_t>(2 * channels), 0.0);
        for (std::int64_t k = comm.rank(); k < n; k += comm.size()) {
            const std::vector<data::Patch> patch = data::BatchLoader::make_batch(
                *test_source, {.batch_size = 1, .seed = c.seed, .rank = 0, .stream_base = data::kValidationStream + std::uint64_t(v * n)}, k);
            copy_inputs(*test_net, patch);
            test_net->forward();
            const Sums s = evaluate(*test_net, patch, MaskUse::Ignore, false);
            std::copy(s.begin(), s.end(), per.begin() + k * kSums);
            std::size_t at = 0;
            for (const std::string& o : outputs) {
                const data::ClassCounts counts = data::ClassCounts::of(patch.front().outputs.at(o).target.cview(), nullptr);
                for (std::size_t ch = 0; ch < counts.positives.size(); ++ch, at += 2) {
                    classes[at] += double(counts.positives[ch]);
                    classes[at + 1] += double(counts.zeros[ch]);
                }
            }
        }
        comm.allreduce_sum(std::span<double>(per));
        comm.allreduce_sum(std::span<double>(classes));
        double majority_errors = 0, values = 0;
        for (std::size_t at = 0; at < classes.size(); at += 2) {
            majority_errors += std::min(classes[at], classes[at + 1]);
            values += classes[at] + classes[at + 1];
        }
        last_majority_error = values > 0 ? majority_errors / values : 0;
        Sums total{};
        for (std::int64_t k = 0; k < n; ++k)
            for (int j = 0; j < kSums; ++j) total[static_cast<std::size_t>(j)] += per[static_cast<std::size_t>(k * kSums + j)];
        CurvePoint p;
        p.iteration = iteration;
        p.cost = mean(total, kCost, kVoxels);
        p.pixel_error = mean(total, kPixelErrors, kVoxels);
        if (rand_error) p.rand_error = mean(total, kRandSum, kRandCount);
        if (use_malis) {
            p.malis_cost = mean(total, kMalisCost, kMalisCount);
            p.malis_error = mean(total, kMalisError, kMalisCount);
        }
        p.elapsed = state.elapsed;
        p.majority_error = last_majority_error;
        append_curve(CurvePhase::Test, p);
        std::ostringstream line;
        line << "test iter: " << iteration << "/" << c.max_iter << ", cost: " << fixed(p.cost, 4) << ", pixel error: " << fixed(p.pixel_error, 4)
             << " (majority class: " << fixed(last_majority_error, 4) << ")";
        if (rand_error) line << ", rand error: " << fixed(p.rand_error, 4);
        if (use_malis) line << ", me: " << fixed(p.malis_cost, 4) << ", mc: " << fixed(p.malis_error, 4);
        log.info(line.str());
        return p.pixel_error;
    }

    // ---- the loop ---------------------------------------------------------------------------------------

    TrainResult run()
    {
        TrainResult result;
        result.curve = files.curve();
        result.iteration = state.iteration;
        if (state.iteration >= c.max_iter) {
            log.info("nothing to do: iteration ", state.iteration, " of Max_iter ", c.max_iter, " is done");
            result.network = files.current();
            return result;
        }
        const double scale = 1.0 / (double(batch) * double(patch_voxels));
        Window window;
        auto loop_start = Clock::now();
        double data_wait = 0, reduce_wait = 0, step_total = 0;
        if (state.window_iterations > 0 && state.window_sums.size() == window.sums.size()) {
            window.iterations = state.window_iterations;
            window.step_seconds = state.window_seconds;
            std::copy(state.window_sums.begin(), state.window_sums.end(), window.sums.begin());
        }
        const std::int64_t last = options.iterations > 0 ? std::min(c.max_iter, state.iteration + options.iterations) : c.max_iter;
        std::vector<double> steps;
        const std::int64_t first = state.iteration + 1;
        for (std::int64_t it = first; it <= last; ++it) {
            const auto t0 = Clock::now();
            const std::vector<data::Patch> patches = loader->next();
            const auto t1 = Clock::now();
            copy_inputs(*net, patches);
            net->set_iteration(static_cast<std::uint64_t>(it));
            net->forward();
            const auto t2 = Clock::now();
            std::string bad_group = c.is_debug ? first_nonfinite_group(*net) : "";
            Sums s = evaluate(*net, patches, MaskUse::Apply, true);
            if (c.is_debug) keep_debug_patch(patches.front());
            const auto t3 = Clock::now();
            averager->begin();
            net->backward();
            const auto t4 = Clock::now();
            averager->finish();
            const auto t5 = Clock::now();
            const int signal = ctx.stop_signal ? ctx.stop_signal->load() : 0;
            s[kStop] = signal;
            comm.allreduce_sum(std::span<double>(s));  // every rank sees the same sums and flags
            if (!std::isfinite(s[kCost])) diverged(it, "the cost is " + std::string(std::isnan(s[kCost]) ? "NaN" : "infinite") +
                                                           (bad_group.empty() ? "" : " (node group '" + bad_group + "' is the first not finite)"));
            if (!gradients_finite()) diverged(it, "a parameter gradient is NaN or infinite");
            const double rate = schedule.at(it);
            if (!(use_malis && s[kDegenerate] == s[kPatches]))
                optimizer->step(*params, {rate, base_eta > 0 ? rate / base_eta : 1.0}, scale, ctx.threads);
            else
                log.debug("iteration ", it, ": every patch's MALIS weights are 0 (fewer than 2 non-boundary voxels): no update");
            const auto t6 = Clock::now();
            if (it == first) loop_start = t6;  // the loop's time from the second iteration: the first warms up
            state.iteration = it;
            state.eta = rate;
            const double step = std::chrono::duration<double>(t6 - t0).count();
            if (!lead_checked && it == first + 1) lead_checked = check_signal_lead(step);
            steps.push_back(step);
            step_total += step;
            data_wait += std::chrono::duration<double>(t1 - t0).count();
            reduce_wait += std::chrono::duration<double>(t5 - t4).count();
            window.step_seconds += step;
            window.iterations += 1;
            for (int k = 0; k < kSums; ++k) window.sums[static_cast<std::size_t>(k)] += s[static_cast<std::size_t>(k)];
            const std::array<Clock::time_point, 7> marks{t0, t1, t2, t3, t4, t5, t6};
            for (std::size_t k = 0; k < 6; ++k) window.phase[k] += std::chrono::duration<double>(marks[k + 1] - marks[k]).count();
            // The run's time per iteration from the end of the first (which warms up) to now.
            const double run_per_iteration = it > first ? since(loop_start) / double(it - first) : 0;
            if (c.is_check) {
                show(it, window, rate, run_per_iteration);
                log.info("is_check: iteration ", it, " ran (input ", core::to_string(shapes().input_sizes().begin()->second), ", output ",
                         core::to_string(c.train_outsz), ", field of view ", core::to_string(shapes().fov().begin()->second),
                         "); nothing was written");
                result.outcome = TrainOutcome::Checked;
                break;
            }
            if (it % c.num_iter_per_show == 0) show(it, window, rate, run_per_iteration);
            if (test_net && it % c.num_iter_per_test == 0) {
                result.last_test_pixel_error = validate(it);
                result.last_test_majority_error = last_majority_error;
            }
            state.elapsed += since(t0);
            const bool stop = s[kStop] > 0 || (it == last && last < c.max_iter);
            const bool save = it % c.num_iter_per_save == 0 || it == c.max_iter || stop;
            if (save || it % (10 * c.num_iter_per_show) == 0) check_ranks_agree(it);
            if (save) {
                write_checkpoint_file(files.at(it), true, &window);
                result.network = files.current();
            }
            result.iteration = it;
            if (stop) {
                result.outcome = TrainOutcome::Stopped;
                result.signal = static_cast<int>(comm.max<double>(signal));  // every rank agreed to stop: all call this
                if (result.signal > 0) log.info("stopped at iteration ", it, " on request (signal ", result.signal, "); resume with the same command");
                else log.info("stopped at iteration ", it, " after the ", options.iterations, " iteration(s) asked; resume with the same command");
                break;
            }
        }
        result.loop_seconds = steps.size() > 1 ? since(loop_start) / double(steps.size() - 1) : 0;
        if (!steps.empty()) {
            std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(steps.size() / 2), steps.end());
            result.seconds_per_iteration = steps[steps.size() / 2];
            result.voxels_per_second = double(comm.size() * batch * patch_voxels) / result.seconds_per_iteration;
            result.data_wait_share = data_wait / step_total;
            result.reduce_wait_share = reduce_wait / step_total;
            log.info(steps.size(), " iteration(s): median step ", std::setprecision(4), result.seconds_per_iteration,
                     " s, after the first ", std::setprecision(4), result.loop_seconds, " s per iteration with everything, ", std::setprecision(4), result.voxels_per_second, " voxels/s; of the steps, ",
                     fixed(100 * result.data_wait_share, 2), "% waiting for data, ", fixed(100 * result.reduce_wait_share, 2),
                     "% waiting for the gradients' all-reduce");
        }
        return result;
    }
};

Trainer::Trainer(const config::JobFiles& job, const TrainOptions& options, TrainContext context)
    : impl_(std::make_unique<Impl>(job, options, context))
{
    impl_->setup();
}

Trainer::~Trainer() = default;

TrainResult Trainer::run() { return impl_->run(); }

std::int64_t Trainer::start_iteration() const noexcept { return impl_->start; }

}  // namespace znn::train
