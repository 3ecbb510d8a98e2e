#include "znn/infer/forward.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <iomanip>
#include <map>
#include <memory>
#include <sstream>

#include "znn/config/net_spec.hpp"
#include "znn/core/build_info.hpp"
#include "znn/core/error.hpp"
#include "znn/core/hash.hpp"
#include "znn/core/memory.hpp"
#include "znn/data/preprocess.hpp"
#include "znn/data/region.hpp"
#include "znn/data/volume_check.hpp"
#include "znn/dist/agree.hpp"
#include "znn/dist/work_counter.hpp"
#include "znn/infer/block_grid.hpp"
#include "znn/infer/block_network.hpp"
#include "znn/infer/block_pass.hpp"
#include "znn/infer/block_store.hpp"
#include "znn/infer/memory_plan.hpp"
#include "znn/infer/tta.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/io/tiff.hpp"
#include "znn/model/network_file.hpp"

namespace znn::infer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kIdentity = "znn_forward_identity";
constexpr const char* kNetworkFile = "znn_network";
constexpr const char* kNetworkHash = "znn_network_hash";
constexpr const char* kConfig = "znn_config";
constexpr const char* kVersion = "znn_version";
constexpr const char* kPlan = "znn_conv";
constexpr const char* kPartialSuffix = ".partial";

double since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string hash_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw core::InputError("cannot read the network file").at(path);
    core::Hash64 h;
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        h.add(buffer.data(), static_cast<std::size_t>(in.gcount()));
    }
    return h.hex();
}

std::string duration_text(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const auto s = static_cast<std::int64_t>(std::llround(seconds));
    std::ostringstream os;
    if (s >= 3600)
        os << s / 3600 << "h" << (s % 3600) / 60 << "m";
    else if (s >= 60)
        os << s / 60 << "m" << s % 60 << "s";
    else
        os << s << "s";
    return os.str();
}

/// The first line where two identity texts differ, for the error message.
std::string first_difference(const std::string& stored, const std::string& now)
{
    std::istringstream a(stored), b(now);
    std::string la, lb;
    while (true) {
        const bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
        if (!ga && !gb) return "";
        if (!ga) la = "(nothing)";
        if (!gb) lb = "(nothing)";
        if (la != lb) return "it was made with '" + la + "', this job has '" + lb + "'";
    }
}

/// One input node of a sample: its volumes (channels stacked) seen through the mirror padding.
struct InputVolumes {
    std::string node;
    std::int64_t channels = 0;
    std::vector<data::MirroredVolume> files;
    std::vector<config::Preprocess> preprocess;  ///< one per file
    std::vector<data::VolumeStatistics> stats;   ///< one per file (preprocessed files only)
};

/// One sample to run: where its inputs are and what its grid is.
struct SamplePlan {
    std::int64_t id = 0;
    std::vector<InputVolumes> inputs;
    Vec3i output;                                ///< output volume size (= stored size with mirroring)
    std::map<std::string, std::string> outputs;  ///< output node -> final path
    std::string identity;
};

class ForwardRun {
public:
    ForwardRun(const config::JobFiles& job, const ForwardOptions& options, const ForwardResources& r)
        : job_(job), c_(job.config), options_(options), r_(r), comm_(r.comm), log_(r.log)
    {
    }

    std::vector<SampleOutcome> run();

private:
    void check_and_plan();
    std::optional<SamplePlan> plan_sample(std::int64_t id, config::Diagnostics& d) const;
    std::string identity_of(const SamplePlan& s) const;
    /// Rank 0: is this sample's output finished (true), absent or resumable (false)? Throws if it
    /// belongs to another job.
    bool check_existing(const SamplePlan& s, std::string* stored_plan) const;
    void make_network(const std::string& stored_plan);
    /// The working set of a rank against forward_memory (an error in `d` if it does not fit).
    void check_memory(config::Diagnostics& d);
    /// A warning when forward_outsz makes every block recompute much more input than it outputs.
    template <class F> void suggest_larger_blocks(F&& working_set) const;
    /// The statistics pass reads in rounds of this many bytes (as floats; the read itself and the
    /// I/O library's buffers about as much again) within what the network leaves of the budget.
    std::int64_t statistics_round_bytes() const
    {
        return std::clamp<std::int64_t>((budget_ - working_set_) / 3, std::int64_t(1) << 20, std::int64_t(64) << 20);
    }
    SampleOutcome run_sample(SamplePlan& s);
    BlockInputs read_inputs(const SamplePlan& s, const Block& b) const;
    /// The TIFF stacks of a finished sample that are missing (forward_tiff), from its HDF5 outputs,
    /// a section at a time. Rank 0 writes them; collective.
    void write_tiffs(const SamplePlan& s, bool replace) const;
    Attributes attributes_of(const SamplePlan& s) const;
    /// The block the network computes: forward_outsz, one voxel larger for affinities under flips.
    Vec3i network_block() const { return pass_.network_block(c_.forward_outsz); }
    /// Where the output lies in the input: `znn_voxel_offset` (voxels of the first input file), and
    /// the input's CREMI-style `resolution` and `offset` carried over when it has them.
    std::map<std::string, std::vector<double>> geometry_of(const SamplePlan& s) const;

    const config::JobFiles& job_;
    const config::JobConfig& c_;
    const ForwardOptions& options_;
    const ForwardResources& r_;
    const dist::Comm& comm_;
    core::Logger& log_;

    std::unique_ptr<config::NetSpec> spec_;
    std::string network_file_, network_hash_, net_hash_;
    std::set<std::int64_t> range_;
    bool softmax_ = false;
    OutputType type_ = OutputType::Float32;
    BlockPass pass_;  // the network part of a block, with the test-time augmentation
    Vec3i fov_;
    std::vector<SamplePlan> samples_;
    std::set<std::int64_t> done_;  // samples whose outputs are finished
    std::string plan_text_;        // the convolution plan every rank runs
    std::int64_t budget_ = 0;      // forward_memory, resolved
    std::string memory_text_;      // the working set's estimate (rank 0)
    std::int64_t working_set_ = 0;  // its bytes (every rank)
    std::shared_ptr<graph::ParameterStore<float>> params_;
    std::unique_ptr<BlockNetwork> net_;
};

std::optional<SamplePlan> ForwardRun::plan_sample(std::int64_t id, config::Diagnostics& d) const
{
    const std::vector<std::string> in_nodes = spec_->input_nodes(), out_nodes = spec_->output_nodes();
    const auto resolved =
        job_.samples.resolve(id, {in_nodes.begin(), in_nodes.end()}, {out_nodes.begin(), out_nodes.end()}, false, d);
    if (!resolved) return std::nullopt;
    SamplePlan s;
    s.id = id;
    std::optional<Vec3i> stored;
    for (const auto& [node, image] : resolved->inputs) {
        const auto checked = data::check_image(*image, d);
        if (!checked) return std::nullopt;
        InputVolumes in;
        in.node = node;
        in.channels = checked->channels;
        const std::int64_t maps = spec_->node(node)->size;
        if (in.channels != maps) {
            d.error_at(image->where, "[image" + std::to_string(image->id) + "] has " + std::to_string(in.channels) +
                                         " channel(s); the input node '" + node + "' takes " + std::to_string(maps));
            return std::nullopt;
        }
        if (stored && *stored != checked->shape) {
            d.error_at(image->where, "the inputs of sample " + std::to_string(id) + " differ in size (" +
                                         core::to_string(*stored) + ", " + core::to_string(checked->shape) + ")");
            return std::nullopt;
        }
        stored = checked->shape;
        const Vec3i low = c_.is_bd_mirror ? (fov_ - 1) / Vec3i::all(2) : Vec3i{};
        const Vec3i high = c_.is_bd_mirror ? fov_ / Vec3i::all(2) : Vec3i{};
        for (std::size_t i = 0; i < checked->files.size(); ++i) {
            const data::CheckedVolume& f = checked->files[i];
            in.files.push_back({f.uri, checked->shape, data::crop_offset(f.info.shape.zyx, checked->shape), low, high,
                                f.info.shape.c});
            in.preprocess.push_back(image->preprocess[std::min(i, image->preprocess.size() - 1)]);
        }
        s.inputs.push_back(std::move(in));
    }
    const Vec3i padded = s.inputs.front().files.front().size();
    s.output = padded - fov_ + 1;
    for (int a = 0; a < 3; ++a)
        if (s.output[a] < c_.forward_outsz[a]) {
            d.error_at(c_.where("forward_outsz"),
                       "sample " + std::to_string(id) + ": its input " + s.inputs.front().files.front().uri.str() + " of " +
                           core::to_string(*stored) +
                           (c_.is_bd_mirror ? " (mirrored: " + core::to_string(padded) + ")" : std::string()) +
                           " gives an output of " + core::to_string(s.output) +
                           ", smaller than one block, forward_outsz " + core::to_string(c_.forward_outsz) +
                           " (the input must be at least forward_outsz + field of view " + core::to_string(fov_) +
                           " - 1 = " + core::to_string(c_.forward_outsz + fov_ - 1) +
                           (c_.is_bd_mirror ? "" : "; or set is_bd_mirror = yes") + ")");
            return std::nullopt;
        }
    for (const std::string& node : out_nodes)
        s.outputs[node] = output_path(c_.output_prefix, id, node);
    s.identity = identity_of(s);
    return s;
}

std::string ForwardRun::identity_of(const SamplePlan& s) const
{
    std::ostringstream os;
    os << "network " << network_hash_ << "\n";
    os << "net " << net_hash_ << "\n";
    os << "forward_outsz " << core::to_string(c_.forward_outsz) << "\n";
    os << "is_bd_mirror " << (c_.is_bd_mirror ? "yes" : "no") << "\n";
    os << "softmax " << (softmax_ ? "yes" : "no") << "\n";
    os << "forward_dtype " << config::to_string(c_.forward_dtype) << "\n";
    if (!pass_.tta().is_identity()) {
        os << "forward_tta";
        for (const int v : pass_.tta().variants)
            os << " " << v;
        os << " " << config::to_string(pass_.tta().combine) << "\n";
    }
    for (const InputVolumes& in : s.inputs)
        for (std::size_t i = 0; i < in.files.size(); ++i)
            os << "input " << in.node << " " << in.files[i].uri.str() << " " << core::to_string(in.files[i].stored)
               << " " << config::to_string(in.preprocess[i]) << "\n";
    return os.str();
}

bool ForwardRun::check_existing(const SamplePlan& s, std::string* stored_plan) const
{
    bool all_final = true;
    for (const auto& [node, output_path] : s.outputs) {
        const std::string& path = output_path;  // a plain reference: lambdas cannot capture structured bindings in clang 14
        const std::string partial = path + kPartialSuffix;
        for (const std::string& p : {path, partial}) {
            std::error_code ec;
            if (!fs::exists(p, ec)) {
                if (p == path) all_final = false;
                continue;
            }
            if (options_.overwrite) {
                io::check_writable_location(p);
                if (p == path) all_final = false;
                continue;
            }
            std::optional<std::string> identity, plan;
            try {
                const io::Hdf5File f = io::Hdf5File::open(p, io::FileMode::Read);
                identity = f.string_attribute(kIdentity);
                plan = f.string_attribute(kPlan);
            } catch (const core::Error& e) {
                throw core::InputError("exists and is not an output of znn forward (" + std::string(e.what()) +
                                       "): remove it, or run with --overwrite")
                    .at(p);
            }
            if (!identity)
                throw core::InputError("exists and is not an output of znn forward (no " + std::string(kIdentity) +
                                       " attribute): remove it, or run with --overwrite")
                    .at(p);
            if (*identity != s.identity)
                throw core::InputError(
                    "belongs to another network or configuration: " + first_difference(*identity, s.identity) +
                    "; use another output_prefix, or --overwrite")
                    .at(p);
            if (p == partial && plan && stored_plan->empty()) *stored_plan = *plan;
        }
    }
    return all_final;
}

void ForwardRun::check_and_plan()
{
    log_.debug("resident memory at start: ", core::bytes_text(double(core::resident_bytes())));
    spec_ = std::make_unique<config::NetSpec>(config::NetSpec::load(c_.net_spec));
    network_file_ = c_.forward_net;
    range_ = c_.forward_range;
    softmax_ = c_.resolved_cost_fn() == config::CostFn::SoftmaxLoss;
    pass_ = BlockPass(TtaPlan{c_.forward_tta, c_.forward_tta_combine, c_.out_type == config::OutType::Affinity});
    type_ = c_.forward_dtype == config::ForwardDType::UInt8 ? OutputType::UInt8 : OutputType::Float32;
    std::string stored_plan;
    const int node_ranks = comm_.ranks_on_node();
    budget_ = comm_.min(c_.forward_memory > 0 ? c_.forward_memory : default_forward_memory(node_ranks));
    dist::root_decides(comm_, [&] {
        for (const auto& w : job_.warnings) log_.warn(w.where, ": ", w.message);
        config::Diagnostics d;
        if (network_file_.empty())
            d.error(c_.file, 0, "no network to run: set forward_net, or give -n NET.h5");
        else if (!fs::is_regular_file(network_file_))
            d.error_at(c_.where("forward_net"), "no such network file: " + network_file_);
        if (range_.empty()) d.error(c_.file, 0, "forward_range names no sample: nothing to run (or give -r)");
        if (c_.output_prefix.empty())
            d.error(c_.file, 0, "output_prefix is not set (outputs are <output_prefix>_sample<N>_<node>.h5)");
        if (!c_.conv_plan.empty() && !fs::is_regular_file(c_.conv_plan))
            d.error_at(c_.where("conv_plan"), "conv_plan: no such file: " + c_.conv_plan);
        d.throw_if_errors();
        if (type_ == OutputType::UInt8 && softmax_ == false && c_.out_type != config::OutType::Affinity)
            log_.warn(
                "forward_dtype = uint8 stores round(255 * clamp(value, 0, 1)): the outputs of this net should lie in "
                "[0, 1]");
        network_hash_ = hash_file(network_file_);
        net_hash_ = hash_file(c_.net_spec);
        // The network file against the .znn (every group, every shape); rank 0 keeps what it loaded.
        params_ = graph::ParameterStore<float>::create(*spec_, graph::NetShapes::for_output(*spec_, {1, 1, 1}));
        model::load_network(network_file_, *spec_, *params_, model::LoadMode::Resume);
        fov_ = graph::NetShapes::for_output(*spec_, {1, 1, 1}).fov().begin()->second;
        if (pass_.tta().transposes() && (c_.forward_outsz.y != c_.forward_outsz.x || fov_.y != fov_.x))
            d.error_at(c_.where("forward_tta"),
                       "forward_tta: the variants 8-15 transpose y and x, which needs a block square in y, x "
                       "(forward_outsz " +
                           core::to_string(c_.forward_outsz) +
                           ") and a field of view "
                           "square in y, x (" +
                           core::to_string(fov_) + ")");
        for (const std::int64_t id : range_) {
            auto s = plan_sample(id, d);
            if (!s) continue;
            for (const auto& [node, path] : s->outputs) {
                try {
                    io::check_creatable_location(path);
                } catch (const core::Error& e) {
                    d.error_at(c_.where("output_prefix"), std::string("output_prefix: ") + e.what());
                }
            }
            samples_.push_back(std::move(*s));
        }
        d.throw_if_errors();
        check_memory(d);
        d.throw_if_errors();
        for (const SamplePlan& s : samples_)
            if (check_existing(s, &stored_plan)) done_.insert(s.id);
    });
    working_set_ = comm_.broadcast_value(working_set_);
    log_.info("memory per rank: about ", memory_text_, " of forward_memory ", core::bytes_text(double(budget_)),
              c_.forward_memory > 0 ? std::string() : " (auto: 75% of this node's memory over its ranks)");
    comm_.broadcast(network_hash_);
    comm_.broadcast(net_hash_);
    comm_.broadcast(stored_plan);
    std::string done_text;
    for (const std::int64_t id : done_)
        done_text += std::to_string(id) + " ";
    comm_.broadcast(done_text);
    if (!comm_.is_root()) {
        // The same plans from the headers (cheap); a failure now can only be this rank's view.
        try {
            fov_ = graph::NetShapes::for_output(*spec_, {1, 1, 1}).fov().begin()->second;
            config::Diagnostics d;
            for (const std::int64_t id : range_)
                if (auto s = plan_sample(id, d)) samples_.push_back(std::move(*s));
            d.throw_if_errors();
            std::istringstream is(done_text);
            for (std::int64_t id; is >> id;)
                done_.insert(id);
        } catch (core::Error& e) {
            e.scope(core::ErrorScope::ThisRank).on_rank(comm_.rank());
            throw;
        }
    }
    // Every rank loads the parameters itself (the file was checked on rank 0).
    if (!params_) {
        params_ = graph::ParameterStore<float>::create(*spec_, graph::NetShapes::for_output(*spec_, {1, 1, 1}));
        model::load_network(network_file_, *spec_, *params_, model::LoadMode::Resume);
    }
    const bool any_to_run =
        std::any_of(samples_.begin(), samples_.end(), [&](const SamplePlan& s) { return !done_.count(s.id); });
    if (any_to_run) make_network(stored_plan);
}

template <class F> void ForwardRun::suggest_larger_blocks(F&& working_set) const
{
    // Each block computes its whole input region: forward_outsz + field of view - 1 per output block.
    const auto input_per_output = [&](const Vec3i& b) { return double((b + fov_ - 1).product()) / double(b.product()); };
    Vec3i target = c_.forward_outsz;
    for (int a = 0; a < 3; ++a) {
        if (fov_[a] == 1) continue;  // no overlap along this axis
        std::int64_t extent = 128;
        for (const SamplePlan& s : samples_) extent = std::min(extent, s.output[a]);
        target[a] = std::max(target[a], extent);
    }
    const std::optional<Vec3i> better = block_within(budget_, target, working_set);
    const double now = input_per_output(c_.forward_outsz);
    if (!better || now < 4 || now < 2 * input_per_output(*better)) return;
    std::ostringstream os;
    os << std::setprecision(3) << "forward_outsz " << core::to_string(c_.forward_outsz) << " is small for a field of view of "
       << core::to_string(fov_) << ": each block computes " << now << " input voxels per output voxel; blocks of "
       << core::to_string(*better) << " (within forward_memory) compute " << input_per_output(*better)
       << ", so far less work per voxel";
    log_.warn(c_.where("forward_outsz"), ": ", os.str());
}

void ForwardRun::check_memory(config::Diagnostics& d)
{
    graph::NetworkOptions o;
    o.conv_mode = c_.forward_conv_mode;
    o.usage = conv::Usage::Inference;
    const graph::NetworkResources resources{r_.threads, r_.engines, nullptr, &log_};
    const Vec3i extra = network_block() - c_.forward_outsz;
    const auto working_set = [&](const Vec3i& outsz) {
        return estimate_forward_memory(*spec_, outsz + extra, o, resources).total();
    };
    const ForwardMemory m = estimate_forward_memory(*spec_, network_block(), o, resources);
    memory_text_ = m.text();
    working_set_ = m.total();
    if (c_.forward_tiff)
        for (const SamplePlan& s : samples_) {
            // write_tiffs holds one section of one channel, as read and as written.
            const std::int64_t section = 2 * s.output.y * s.output.x * std::int64_t(sizeof(float));
            if (section > budget_)
                d.error_at(c_.where("forward_tiff"),
                           "forward_tiff writes whole sections: sample " + std::to_string(s.id) + "'s sections of " +
                               std::to_string(s.output.y) + " x " + std::to_string(s.output.x) + " need " +
                               core::bytes_text(double(section)) + ", more than forward_memory " +
                               core::bytes_text(double(budget_)) + " (set forward_tiff = no, or raise forward_memory)");
        }
    if (m.total() <= budget_) {
        suggest_larger_blocks(working_set);
        return;
    }
    const std::optional<Vec3i> fits = block_within(budget_, c_.forward_outsz, working_set);
    const std::string where = c_.forward_memory > 0 ? c_.where("forward_memory") : c_.where("forward_outsz");
    d.error_at(where, "blocks of forward_outsz " + core::to_string(c_.forward_outsz) + " need about " + m.text() +
                          " per rank; forward_memory is " + core::bytes_text(double(budget_)) +
                          (c_.forward_memory > 0 ? std::string() : " (auto: 75% of this node's memory over its ranks)") +
                          (fits ? ": blocks of " + core::to_string(*fits) + " fit (set forward_outsz), or raise forward_memory"
                                : ": not even blocks of 1,1,1 fit; raise forward_memory"));
}

void ForwardRun::make_network(const std::string& stored_plan)
{
    graph::NetworkOptions o;
    o.conv_mode = c_.forward_conv_mode;
    o.usage = conv::Usage::Inference;
    const graph::NetworkResources resources{r_.threads, r_.engines, nullptr, &log_};
    const auto start = Clock::now();
    model::NetworkFileMeta plan;
    std::string text = stored_plan;
    std::string source = stored_plan.empty() ? "" : " of the unfinished output";
    if (text.empty() && !c_.conv_plan.empty()) {
        dist::root_decides(comm_, [&] {
            text = model::conv_plan_text(model::read_network_meta(c_.conv_plan));
            if (text.empty())
                throw core::InputError("conv_plan: the file holds no convolution plan (znn_conv)").at(c_.conv_plan);
        });
        comm_.broadcast(text);
        source = " of " + c_.conv_plan;
    }
    if (text.empty() && comm_.is_root()) {
        net_ = std::make_unique<BlockNetwork>(*spec_, network_block(), params_, o, resources, softmax_);
        plan.conv_choices = net_->network().conv_choices();
        plan.fft_tiles = net_->network().fft_tiles();
        text = model::conv_plan_text(plan);
    }
    comm_.broadcast(text);
    if (!net_) {
        plan = {};
        model::parse_conv_plan(text, plan);
        o.conv_choices = plan.conv_choices;
        o.fft_tiles = plan.fft_tiles;
        net_ = std::make_unique<BlockNetwork>(*spec_, network_block(), params_, o, resources, softmax_);
    }
    plan_text_ = text;
    log_.debug("resident memory with the network built: ", core::bytes_text(double(core::resident_bytes())), ", peak ",
               core::bytes_text(double(core::peak_resident_bytes())));
    // One pass on the zero input before any block: the engines' one-time work (oneDNN's generated kernels
    // and the kernels' first spectra) is done here, not in the first blocks.
    net_->run();
    log_.info("network ", c_.net_spec, " for blocks of ", core::to_string(c_.forward_outsz), " (input ",
              core::to_string(c_.forward_outsz + fov_ - 1), ", field of view ", core::to_string(fov_),
              "), convolution plan", source, " (", since(start), " s):");
    for (const graph::GroupTime& g : net_->network().timings())
        if (!g.how.empty()) log_.info("  ", g.group, ": ", g.how);
}

Attributes ForwardRun::attributes_of(const SamplePlan& s) const
{
    return {{kIdentity, s.identity},
            {kNetworkFile, fs::absolute(network_file_).string()},
            {kNetworkHash, network_hash_},
            {kConfig, c_.resolved_text()},
            {kVersion, core::build_info().version_string()},
            {kPlan, plan_text_}};
}

std::map<std::string, std::vector<double>> ForwardRun::geometry_of(const SamplePlan& s) const
{
    const data::MirroredVolume& v = s.inputs.front().files.front();
    // Output voxel o is centred on padded input voxel o + (F - 1) / 2, stored voxel o + (F - 1) / 2 - pad_low.
    const Vec3i shift = v.offset + (fov_ - 1) / Vec3i::all(2) - v.pad_low;
    std::map<std::string, std::vector<double>> g{
        {"znn_voxel_offset", {double(shift.z), double(shift.y), double(shift.x)}}};
    if (v.uri.format != io::FileFormat::Hdf5) return g;
    std::optional<std::vector<double>> resolution, offset;
    try {
        const io::Hdf5File f = io::Hdf5File::open(v.uri.path, io::FileMode::Read);
        const io::Hdf5Dataset d = io::Hdf5Dataset::open(f, v.uri.dataset);
        resolution = d.numeric_attribute("resolution");
        offset = d.numeric_attribute("offset");
    } catch (const core::Error&) {
        return g;  // the attributes are a courtesy; the volume itself was read already
    }
    if (resolution && resolution->size() == 3) {
        g["resolution"] = *resolution;
        std::vector<double> o = offset && offset->size() == 3 ? *offset : std::vector<double>{0, 0, 0};
        for (int a = 0; a < 3; ++a)
            o[static_cast<std::size_t>(a)] += double(shift[a]) * (*resolution)[static_cast<std::size_t>(a)];
        g["offset"] = o;
    }
    return g;
}

BlockInputs ForwardRun::read_inputs(const SamplePlan& s, const Block& b) const
{
    BlockInputs inputs;
    for (const InputVolumes& in : s.inputs) {
        const Box3 box = pass_.input_region(b);
        tensor::Tensor<float> t(in.channels, box.size, core::Init::Uninitialized);
        std::int64_t first = 0;
        for (std::size_t i = 0; i < in.files.size(); ++i) {
            const data::MirroredVolume& v = in.files[i];
            tensor::Tensor<float> part = v.read_float(box, dist::Comm::serial());
            for (std::int64_t k = 0; k < part.count(); ++k)
                if (!std::isfinite(part.data()[k]))
                    throw core::InputError("holds NaN or infinite values (in the input of block " +
                                           std::to_string(b.index) + ", region " + core::to_string(box) + " of the " +
                                           (c_.is_bd_mirror ? "mirrored " : "") + "volume)")
                        .at(v.uri.str());
            data::preprocess_region(part.view(), box.origin, v, in.preprocess[i], in.stats[i]);
            tensor::copy(part.cview(), t.view().channels(first, v.channels));
            first += v.channels;
        }
        inputs.emplace(in.node, std::move(t));
    }
    return inputs;
}

SampleOutcome ForwardRun::run_sample(SamplePlan& s)
{
    SampleOutcome outcome;
    outcome.sample = s.id;
    for (const auto& [node, path] : s.outputs)
        outcome.outputs.push_back(path);
    const auto start = Clock::now();

    // Whole-volume statistics of every preprocessed input (collective).
    for (InputVolumes& in : s.inputs) {
        in.stats.assign(in.files.size(), {});
        for (std::size_t i = 0; i < in.files.size(); ++i) {
            if (in.preprocess[i] == config::Preprocess::None) continue;
            in.stats[i] = data::stored_statistics(in.files[i], comm_, statistics_round_bytes());
            for (std::int64_t ch = 0; ch < in.files[i].channels; ++ch)
                if (!std::isfinite(in.stats[i].channel(ch).sum_sq))
                    throw core::InputError("the volume holds NaN or infinite values")
                        .at(in.files[i].uri.str())
                        .scope(core::ErrorScope::AllRanks);
        }
    }

    outcome.statistics_seconds = since(start);
    log_.debug("resident memory after the statistics: ", core::bytes_text(double(core::resident_bytes())), ", peak ",
               core::bytes_text(double(core::peak_resident_bytes())));
    const BlockGrid grid(s.output, c_.forward_outsz, fov_);
    outcome.blocks = grid.count();
    std::vector<BlockStore> stores;
    const Attributes attributes = attributes_of(s);
    const NumericAttributes geometry = geometry_of(s);
    std::vector<std::string> names;
    for (const auto& [name, value] : attributes)
        names.push_back(name);
    for (const auto& [node, output_path] : s.outputs) {
        const std::string& path = output_path;  // a plain reference: lambdas cannot capture structured bindings in clang 14
        const std::string partial = path + kPartialSuffix;
        const std::int64_t channels = spec_->node(node)->size;
        bool resume = false;
        dist::root_decides(comm_, [&] {
            io::create_parent_directories(path);
            io::remove_stale_temporaries(path);
            std::error_code ec;
            if (options_.overwrite) fs::remove(partial, ec);
            resume = fs::exists(partial, ec);
        });
        resume = comm_.broadcast_value<int>(resume ? 1 : 0) != 0;
        stores.push_back(resume ? BlockStore::open(partial, grid, channels, type_, names, comm_)
                                : BlockStore::create(partial, grid, channels, type_, attributes, comm_, geometry));
        // Another run created the store first (concurrent shards): its blocks were, or are being,
        // computed with its plan, so this run takes that plan too.
        const auto stored = stores.back().attributes().find(kPlan);
        if (!stores.back().created() && stored != stores.back().attributes().end() && stored->second != plan_text_) {
            log_.info("sample ", s.id, ": ", partial, " was created by another run: using its convolution plan");
            make_network(stored->second);
        }
    }
    // A block is to do if any output misses it (and, for a shard, it is the shard's).
    const auto [first, last] = options_.shard ? shard_blocks(grid.count(), *options_.shard)
                                              : std::pair<std::int64_t, std::int64_t>{0, grid.count()};
    std::set<std::int64_t> todo_set;
    for (const BlockStore& st : stores)
        for (const std::int64_t i : st.missing())
            if (i >= first && i < last) todo_set.insert(i);
    const std::vector<std::int64_t> todo(todo_set.begin(), todo_set.end());
    const std::int64_t already = (last - first) - static_cast<std::int64_t>(todo.size());
    const std::string part = options_.shard ? "shard " + std::to_string(options_.shard->index) + "/" +
                                                  std::to_string(options_.shard->count) + ": blocks " +
                                                  std::to_string(first) + "-" + std::to_string(last - 1) + " of "
                                            : std::string();
    log_.info("sample ", s.id, ": output ", core::to_string(s.output), " in ", part, grid.count(), " blocks (",
              core::to_string(grid.blocks()), ")",
              already > 0 ? ", " + std::to_string(already) + " finished before" : std::string(), "; ", todo.size(),
              " to compute on ", comm_.size(), " rank(s)");

    auto owned_voxels = [&](std::int64_t i) {
        const Box3 o = grid.block(i).owned;
        return double(o.size.z) * double(o.size.y) * double(o.size.x);
    };
    double todo_voxels = 0;
    for (const std::int64_t i : todo)
        todo_voxels += owned_voxels(i);

    {
        comm_.barrier();
        dist::WorkCounter counter(comm_);
        const auto loop_start = Clock::now();
        auto last_line = loop_start;
        const std::int64_t n = static_cast<std::int64_t>(todo.size());
        const std::int64_t line_every = std::max<std::int64_t>(1, n / 20);
        auto take = [&]() -> std::optional<Block> {
            if (r_.stop_signal && r_.stop_signal->load() != 0) return std::nullopt;  // asked to stop: no new block
            const std::int64_t k = counter.next();
            if (k >= n) return std::nullopt;
            if (comm_.is_root() && k > 0 && (k % line_every == 0 || since(last_line) > 30)) {
                last_line = Clock::now();
                const double elapsed = since(loop_start);
                const double done_fraction = double(k) / double(n);
                const double rate = todo_voxels * done_fraction / std::max(elapsed, 1e-9);
                log_.info("sample ", s.id, ": block ", k, "/", n, " (", std::lround(100 * done_fraction), "%), ",
                          rate / 1e6, " Mvoxel/s, ETA ", duration_text(elapsed / done_fraction * (1 - done_fraction)));
            }
            return grid.block(todo[static_cast<std::size_t>(k)]);
        };
        // Declared before the futures: an exception unwinding this scope destroys the futures first,
        // which wait for their tasks, and only then the buffers those tasks use.
        BlockOutputs out_buffers;
        std::optional<Block> current = take();
        std::future<BlockInputs> reading;
        if (current) reading = std::async(std::launch::async, [&, b = *current] { return read_inputs(s, b); });
        std::future<void> writing;
        std::int64_t computed = 0;
        while (current) {
            BlockInputs inputs = reading.get();
            std::optional<Block> next = take();
            if (next) reading = std::async(std::launch::async, [&, b = *next] { return read_inputs(s, b); });
            // The previous block's write must be done before its buffers are reused.
            pass_.run(*net_, inputs, c_.forward_outsz, out_buffers, [&] {
                if (writing.valid()) writing.get();
            });
            writing = std::async(std::launch::async, [&, b = *current] {
                std::size_t k = 0;
                for (const auto& [node, path] : s.outputs)
                    stores[k++].write_block(b, out_buffers.at(node).cview());
            });
            ++computed;
            current = next;
        }
        if (writing.valid()) writing.get();
        outcome.computed = comm_.sum(computed);
        outcome.stopped = comm_.max(r_.stop_signal ? r_.stop_signal->load() : 0);
        comm_.barrier();
        outcome.blocks_seconds = since(loop_start);
    }
    outcome.voxels_per_second = todo_voxels / std::max(outcome.blocks_seconds, 1e-9);
    log_.debug("resident memory after the blocks: ", core::bytes_text(double(core::resident_bytes())), ", peak ",
               core::bytes_text(double(core::peak_resident_bytes())));
    const auto finish_start = Clock::now();
    if (options_.shard || outcome.stopped) {
        // What every shard has stored so far, read again from the files.
        std::int64_t finished = grid.count();
        std::size_t k = 0;
        for (const auto& [node, path] : s.outputs)
            finished = std::min(finished, BlockStore::open(stores[k++].path(), grid, spec_->node(node)->size, type_, {}, comm_)
                                              .finished_count());
        outcome.finished = finished;
        outcome.left_unfinished = true;
        outcome.seconds = since(start);
        outcome.peak_memory = comm_.max(core::peak_resident_bytes());
        return outcome;
    }

    // The output files, from the stores (collective).
    io::Hdf5WriteOptions hdf5;
    hdf5.gzip_level = static_cast<int>(c_.forward_gzip);
    std::size_t k = 0;
    for (const auto& [node, path] : s.outputs)
        stores[k++].finish(path, hdf5, attributes, geometry);
    outcome.finish_seconds = since(finish_start);
    outcome.seconds = since(start);
    outcome.peak_memory = comm_.max(core::peak_resident_bytes());
    return outcome;
}

void ForwardRun::write_tiffs(const SamplePlan& s, bool replace) const
{
    if (!c_.forward_tiff) return;
    dist::root_decides(comm_, [&] {
        for (const auto& [node, path] : s.outputs) {
            const io::Hdf5File f = io::Hdf5File::open(path, io::FileMode::Read);
            const io::Hdf5Dataset main = io::Hdf5Dataset::open(f, "/main");
            const tensor::Shape4 shape = main.info().shape;
            for (std::int64_t ch = 0; ch < shape.c; ++ch) {
                const std::string tif = tiff_path(path, ch);
                if (!replace && fs::exists(tif)) continue;
                io::TiffStackWriter writer(tif, main.info().dtype, {1, shape.zyx});
                for (std::int64_t z = 0; z < shape.zyx.z; ++z) {
                    const Box3 section{{z, 0, 0}, {1, shape.zyx.y, shape.zyx.x}};
                    if (main.info().dtype == core::DType::UInt8) {
                        tensor::Tensor<std::uint8_t> t(1, section.size, core::Init::Uninitialized);
                        main.read(section, t.view(), io::Transfer::Independent, ch);
                        writer.write_page(t.data());
                    } else {
                        tensor::Tensor<float> t(1, section.size, core::Init::Uninitialized);
                        main.read(section, t.view(), io::Transfer::Independent, ch);
                        writer.write_page(t.data());
                    }
                }
                writer.commit();
            }
        }
    });
}

std::vector<SampleOutcome> ForwardRun::run()
{
    check_and_plan();
    std::vector<SampleOutcome> outcomes;
    for (SamplePlan& s : samples_) {
        if (done_.count(s.id)) {
            SampleOutcome o;
            o.sample = s.id;
            o.already_done = true;
            for (const auto& [node, path] : s.outputs)
                o.outputs.push_back(path);
            log_.info("sample ", s.id, ": finished before (", o.outputs.front(),
                      "); nothing to do (--overwrite recomputes it)");
            write_tiffs(s, false);
            outcomes.push_back(std::move(o));
            continue;
        }
        outcomes.push_back(run_sample(s));
        const SampleOutcome& o = outcomes.back();
        if (o.stopped) {
            log_.info("sample ", s.id, ": stopped on request (signal ", o.stopped, ") after ", o.computed, " block(s); the store holds ",
                      o.finished, " of ", o.blocks, " blocks; the same command continues");
            break;
        }
        if (o.left_unfinished) {
            log_.info("sample ", s.id, ": ", o.computed, " block(s) of this shard computed in ", duration_text(o.seconds), ", ",
                      o.voxels_per_second / 1e6, " Mvoxel/s; the store holds ", o.finished, " of ", o.blocks, " blocks",
                      o.finished == o.blocks ? ": every shard is done; run znn forward without --shard to write the output"
                                             : "; the output is written by a run without --shard once every shard is done");
            continue;
        }
        write_tiffs(s, true);
        std::ostringstream split;
        split.precision(4);
        split << " (statistics " << o.statistics_seconds << " s, blocks " << o.blocks_seconds << " s, output file "
              << o.finish_seconds << " s)";
        log_.info("sample ", s.id, ": ", o.computed, " of ", o.blocks, " blocks computed in ", duration_text(o.seconds),
                  split.str(), ", ", o.voxels_per_second / 1e6, " Mvoxel/s, peak memory ",
                  core::bytes_text(double(o.peak_memory)), " -> ", o.outputs.front(), o.outputs.size() > 1 ? " ..." : "");
    }
    return outcomes;
}

}  // namespace

std::string output_path(const std::string& prefix, std::int64_t sample, const std::string& node)
{
    return prefix + "_sample" + std::to_string(sample) + "_" + node + ".h5";
}

std::string tiff_path(const std::string& output, std::int64_t channel)
{
    const std::string stem =
        output.size() > 3 && output.ends_with(".h5") ? output.substr(0, output.size() - 3) : output;
    return stem + "_" + std::to_string(channel) + ".tif";
}

std::vector<SampleOutcome> run_forward(const config::JobFiles& job, const ForwardOptions& options,
                                       const ForwardResources& resources)
{
    ForwardRun run(job, options, resources);
    return run.run();
}

}  // namespace znn::infer
