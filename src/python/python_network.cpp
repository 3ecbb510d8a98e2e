#include "python_network.hpp"

#include "znn/config/diagnostics.hpp"
#include "znn/config/ini.hpp"
#include "znn/config/job_config.hpp"
#include "znn/core/error.hpp"
#include "znn/graph/shapes.hpp"
#include "znn/infer/memory_plan.hpp"
#include "znn/config/text_file.hpp"
#include "znn/core/build_info.hpp"
#include "znn/model/network_file.hpp"

namespace znn::python {

std::optional<ConvChoice> parse_conv_choice(const std::string& name)
{
    if (name == "stored") return ConvChoice::Stored;
    if (name == "auto") return ConvChoice::Auto;
    if (name == "direct") return ConvChoice::Direct;
    if (name == "fft") return ConvChoice::Fft;
    return std::nullopt;
}

namespace {

/// Whether the training configuration `config_text` (a network file's znn_config) has a softmax cost.
bool trained_with_softmax(const std::string& config_text, const std::string& file)
{
    if (config_text.empty()) return false;
    config::Diagnostics d;
    config::IniFile ini;
    ini.parse(config_text, file, d);
    const config::JobConfig c = config::JobConfig::from_ini(ini, file, {}, d);
    return c.resolved_cost_fn() == config::CostFn::SoftmaxLoss;
}

}  // namespace

PythonNetwork::PythonNetwork(const std::string& net, const std::string& weights, int threads, ConvChoice conv,
                             std::optional<bool> softmax, std::uint64_t seed)
    : spec_(config::NetSpec::load(net)), weights_(weights), pool_(sched::resolve_thread_count(threads)), softmax_(softmax.value_or(false))
{
    config::Diagnostics d;
    net_text_ = config::read_text_file(net, "network", d).value_or(std::string());  // NetSpec::load read it just now
    d.throw_if_errors();
    const graph::NetShapes unit = graph::NetShapes::for_output(spec_, {1, 1, 1});
    parameter_count_ = unit.parameters();
    const auto in = spec_.input_nodes();
    fov_ = unit.fov().at(in.front());
    for (const std::string& name : in)
        if (unit.fov().at(name) != fov_)
            throw core::InputError("input nodes with different fields of view cannot run as one dense network").at(spec_.file);
    options_.usage = conv::Usage::Inference;
    switch (conv) {
    case ConvChoice::Fft: options_.conv_mode = config::ConvMode::Fft; break;
    case ConvChoice::Direct:
        for (const config::EdgeGroupSpec& e : spec_.edges)
            if (e.type == config::EdgeType::Conv) options_.conv_choices[e.name] = conv::ConvAlgo::Direct;
        break;
    case ConvChoice::Auto:
    case ConvChoice::Stored: options_.conv_mode = config::ConvMode::Optimize; break;
    }
    params_ = graph::ParameterStore<float>::create(spec_, unit);
    if (weights.empty()) {
        params_->initialize(seed);
        return;
    }
    const model::NetworkFileMeta meta = model::read_network_meta(weights);
    if (conv == ConvChoice::Stored) {
        options_.conv_choices = meta.conv_choices;
        options_.fft_tiles = meta.fft_tiles;
    }
    if (!softmax) softmax_ = trained_with_softmax(meta.config, weights + ":znn_config");
    trained_config_ = meta.config;
    model::load_network(weights, spec_, *params_, model::LoadMode::Resume);
}

std::vector<std::pair<std::string, std::int64_t>> PythonNetwork::inputs() const
{
    std::vector<std::pair<std::string, std::int64_t>> r;
    for (const std::string& n : spec_.input_nodes()) r.emplace_back(n, spec_.node(n)->size);
    return r;
}

std::vector<std::pair<std::string, std::int64_t>> PythonNetwork::outputs() const
{
    std::vector<std::pair<std::string, std::int64_t>> r;
    for (const std::string& n : spec_.output_nodes()) r.emplace_back(n, spec_.node(n)->size);
    return r;
}

infer::BlockNetwork& PythonNetwork::at_block(const core::Vec3i& block)
{
    const std::array<std::int64_t, 3> key{block.z, block.y, block.x};
    auto it = nets_.find(key);
    if (it == nets_.end())
        it = nets_.emplace(key, std::make_unique<infer::BlockNetwork>(spec_, block, params_, options_, resources(), softmax_)).first;
    last_ = it->second.get();
    return *last_;
}

core::Vec3i PythonNetwork::predict_output_size(const core::Vec3i& stored, bool mirror) const
{
    const core::Vec3i out = mirror ? stored : stored - fov_ + 1;
    if (out.min_component() < 1)
        throw core::InputError("a volume of " + core::to_string(stored) + " is smaller than the field of view " + core::to_string(fov_) +
                               " (pass mirror=True to pad it)");
    return out;
}

core::Vec3i PythonNetwork::predict_block(const core::Vec3i& output, const PredictRequest& request)
{
    if (request.block != core::Vec3i{}) {
        if (request.block.min_component() < 1) throw core::UsageError("block: every axis must be at least 1, got " + core::to_string(request.block));
        core::Vec3i b = request.block;
        for (int a = 0; a < 3; ++a) b[a] = std::min(b[a], output[a]);
        return b;
    }
    core::Vec3i start = output;
    for (int a = 0; a < 3; ++a) start[a] = std::min<std::int64_t>(start[a], 128);
    const infer::BlockPass pass(request.tta);
    const auto block = infer::block_within(infer::default_forward_memory(1), start, [&](const core::Vec3i& b) {
        return infer::estimate_forward_memory(spec_, pass.network_block(b), options_, resources()).total();
    });
    if (!block) throw core::InputError("not even a block of 1,1,1 fits this process's memory").at(spec_.file);
    return *block;
}

bool PythonNetwork::predict(const std::map<std::string, RegionReader>& inputs, const core::Vec3i& stored, const PredictRequest& request,
                            const std::map<std::string, tensor::TensorView<float>>& outputs, const std::atomic<int>* stop)
{
    const core::Vec3i output = predict_output_size(stored, request.mirror);
    const core::Vec3i block = predict_block(output, request);
    const infer::BlockPass pass(request.tta);
    if (request.tta.transposes() && (block.y != block.x || fov_.y != fov_.x))
        throw core::UsageError("tta: the variants 8-15 transpose y and x, which needs a block and a field of view square in y, x (block " +
                               core::to_string(block) + ", field of view " + core::to_string(fov_) + ")");
    const infer::BlockGrid grid(output, block, fov_);
    infer::BlockNetwork& net = at_block(pass.network_block(block));
    infer::BlockOutputs results;
    for (std::int64_t i = 0; i < grid.count(); ++i) {
        if (stop && stop->load() != 0) return false;
        const infer::Block b = grid.block(i);
        infer::BlockInputs in;
        for (const auto& [node, read] : inputs) in.emplace(node, read(pass.input_region(b)));
        pass.run(net, in, block, results);
        for (const auto& [node, dst] : outputs)
            tensor::copy(results.at(node).cview().box(b.kept()), dst.box(b.owned));
    }
    return true;
}

std::map<std::string, conv::ConvAlgo> PythonNetwork::conv_choices() const
{
    return last_ ? last_->network().conv_choices() : std::map<std::string, conv::ConvAlgo>{};
}

Training& PythonNetwork::training()
{
    if (!training_) training_ = std::make_unique<Training>(spec_, params_, options_, resources());
    return *training_;
}

void PythonNetwork::save(const std::string& path) const
{
    model::NetworkFileMeta meta;
    if (last_) {
        meta.conv_choices = last_->network().conv_choices();
        meta.fft_tiles = last_->network().fft_tiles();
    }
    meta.net = net_text_;
    meta.build = core::build_info().version_string();
    meta.config = trained_config_;
    const train::Optimizer* optimizer = training_ ? training_->optimizer() : nullptr;
    meta.iteration = training_ ? training_->steps() : 0;
    model::save_network(path, spec_, *params_, meta, model::Layout::Root, optimizer ? &optimizer->state() : nullptr);
}

void PythonNetwork::set_parameter(const std::string& group, tensor::TensorView<const float> values)
{
    graph::Parameter<float>* p = params_->find(group);
    if (!p) throw core::InputError("the network has no parameter group '" + group + "'").at(spec_.file);
    if (p->values.shape() != values.shape())
        throw core::InputError("'" + group + "': expected the shape " + tensor::to_string(p->values.shape()) + ", got " +
                               tensor::to_string(values.shape()));
    tensor::copy(values, p->values.view());
    graph::ParameterStore<float>::changed(*p);
}

}  // namespace znn::python
