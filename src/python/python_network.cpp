#include "python_network.hpp"

#include "znn/core/error.hpp"
#include "znn/graph/shapes.hpp"
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

PythonNetwork::PythonNetwork(const std::string& net, const std::string& weights, int threads, ConvChoice conv, bool softmax,
                             std::uint64_t seed)
    : spec_(config::NetSpec::load(net)), weights_(weights), pool_(sched::resolve_thread_count(threads)), softmax_(softmax)
{
    const graph::NetShapes unit = graph::NetShapes::for_output(spec_, {1, 1, 1});
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
    if (conv == ConvChoice::Stored) {
        const model::NetworkFileMeta meta = model::read_network_meta(weights);
        options_.conv_choices = meta.conv_choices;
        options_.fft_tiles = meta.fft_tiles;
    }
    model::load_network(weights, spec_, *params_, model::LoadMode::Resume);
}

std::int64_t PythonNetwork::parameter_count() const { return graph::NetShapes::for_output(spec_, {1, 1, 1}).parameters(); }

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
        it = nets_.emplace(key, std::make_unique<infer::BlockNetwork>(spec_, block, params_, options_,
                                                                      graph::NetworkResources{pool_, engines_, nullptr, nullptr},
                                                                      softmax_))
                 .first;
    last_ = it->second.get();
    return *last_;
}

std::map<std::string, conv::ConvAlgo> PythonNetwork::conv_choices() const
{
    return last_ ? last_->network().conv_choices() : std::map<std::string, conv::ConvAlgo>{};
}

}  // namespace znn::python
