#include "python_training.hpp"

#include <algorithm>
#include <cmath>

#include "znn/config/diagnostics.hpp"
#include "znn/core/error.hpp"
#include "znn/data/patch.hpp"
#include "znn/graph/shapes.hpp"

namespace znn::python {

std::optional<train::Cost> parse_cost(const std::string& name)
{
    using config::CostFn;
    for (const CostFn fn : {CostFn::SquareLoss, CostFn::SquareSquare, CostFn::BinomialCrossEntropy, CostFn::SoftmaxLoss})
        if (name == config::to_string(fn)) return train::resolve_cost(fn, config::OutType::Boundary);  // not auto: out_type unused
    return std::nullopt;
}

namespace {

/// `a`, which must be (maps, size) of `node`; InputError naming `what` otherwise.
tensor::TensorView<const float> checked(const PatchArrays& arrays, const std::string& node, std::int64_t maps, const core::Vec3i& size,
                                        const std::string& what, bool required)
{
    const auto it = arrays.find(node);
    if (it == arrays.end()) {
        if (required) throw core::InputError("no " + what + " for node '" + node + "'");
        return {};
    }
    if (it->second.channels() != maps || it->second.size() != size)
        throw core::InputError(what + " of '" + node + "': expected (" + std::to_string(maps) + ", " + core::to_string(size) + "), got (" +
                               std::to_string(it->second.channels()) + ", " + core::to_string(it->second.size()) + ")");
    return it->second;
}

void check_known(const PatchArrays& arrays, const std::vector<std::string>& nodes, const std::string& what)
{
    for (const auto& [name, view] : arrays)
        if (std::find(nodes.begin(), nodes.end(), name) == nodes.end())
            throw core::InputError(what + ": the network has no node '" + name + "' of that kind");
}

}  // namespace

Training::Training(const config::NetSpec& spec, std::shared_ptr<graph::ParameterStore<float>> params, graph::NetworkOptions options,
                   graph::NetworkResources resources)
    : spec_(spec), params_(std::move(params)), options_(std::move(options)), resources_(resources)
{
    options_.usage = conv::Usage::Training;
    options_.batch = 1;
}

graph::Network<float>& Training::prepared(const PatchArrays& inputs)
{
    const std::vector<std::string> in_nodes = spec_.input_nodes();
    check_known(inputs, in_nodes, "inputs");
    std::map<std::string, core::Vec3i> sizes;
    for (const std::string& n : in_nodes) {
        const auto it = inputs.find(n);
        if (it == inputs.end()) throw core::InputError("no input for node '" + n + "'").at(spec_.file);
        sizes[n] = it->second.size();
    }
    config::Diagnostics d;
    const auto shapes = graph::NetShapes::from_input(spec_, sizes, d);
    d.throw_if_errors();
    const core::Vec3i output = shapes->output_sizes().begin()->second;
    const std::array<std::int64_t, 3> key{output.z, output.y, output.x};
    auto it = nets_.find(key);
    if (it == nets_.end()) {
        auto net = std::make_unique<graph::Network<float>>(spec_, *shapes, options_, resources_, params_);
        net->set_phase(graph::Phase::Train);
        it = nets_.emplace(key, std::move(net)).first;
    }
    graph::Network<float>& net = *it->second;
    for (const std::string& n : in_nodes)
        tensor::copy(checked(inputs, n, spec_.node(n)->size, sizes[n], "input", true), net.input(n));
    net.set_iteration(static_cast<std::uint64_t>(steps_ + 1));  // dropout masks keyed as znn train's iteration
    last_ = &net;
    last_voxels_ = double(output.product());
    return net;
}

LossReport Training::loss_gradients(const PatchArrays& inputs, train::Cost cost, const PatchArrays& targets, const PatchArrays& masks,
                                    const PatchArrays& weights)
{
    const std::vector<std::string> out_nodes = spec_.output_nodes();
    check_known(targets, out_nodes, "targets");
    check_known(masks, out_nodes, "masks");
    check_known(weights, out_nodes, "weights");
    graph::Network<float>& net = prepared(inputs);
    net.forward();
    LossReport report;
    for (const std::string& o : out_nodes) {
        const tensor::TensorView<const float> out = net.output(o);
        const std::int64_t maps = out.channels();
        data::PatchTarget t;
        auto take = [&](const PatchArrays& arrays, const std::string& what, bool required) {
            const tensor::TensorView<const float> v = checked(arrays, o, maps, out.size(), what, required);
            tensor::Tensor<float> copy;
            if (!v.empty()) {
                copy = tensor::Tensor<float>(v.shape(), core::Init::Uninitialized);
                tensor::copy(v, copy.view());
            }
            return copy;
        };
        t.target = take(targets, "target", true);
        t.mask = take(masks, "mask", false);
        t.weight = take(weights, "weight", false);
        tensor::Tensor<float> prob(out.shape(), core::Init::Uninitialized);
        const train::LossSums s = train::evaluate_loss(cost, out, t, train::MaskUse::Apply, prob.view(), net.output_gradient(o), resources_.threads);
        report.cost += s.cost;
        report.pixel_errors += s.pixel_errors;
        report.voxels += s.voxels;
    }
    if (!std::isfinite(report.cost)) throw core::NumericError("the cost is " + std::string(std::isnan(report.cost) ? "NaN" : "infinite"));
    net.backward();
    return report;
}

void Training::output_gradients(const PatchArrays& inputs, const PatchArrays& gradients)
{
    const std::vector<std::string> out_nodes = spec_.output_nodes();
    check_known(gradients, out_nodes, "gradients");
    graph::Network<float>& net = prepared(inputs);
    net.forward();
    for (const std::string& o : out_nodes) {
        const tensor::TensorView<float> g = net.output_gradient(o);
        tensor::copy(checked(gradients, o, g.channels(), g.size(), "output gradient", true), g);
    }
    net.backward();
}

void Training::step(double eta, const train::OptimizerOptions& o)
{
    if (!last_) throw core::UsageError("step: no gradients yet (call train_step, or gradients first)");
    if (!(eta >= 0) || !std::isfinite(eta)) throw core::UsageError("eta: must be finite and at least 0, got " + std::to_string(eta));
    for (const auto& p : params_->all())
        if (tensor::find_non_finite(p.gradient.cview()))
            throw core::NumericError("the gradient of '" + p.group + "' is NaN or infinite: no step taken");
    const bool same = optimizer_ && optimizer_->options().kind == o.kind && optimizer_->options().momentum == o.momentum &&
                      optimizer_->options().weight_decay == o.weight_decay && optimizer_->options().beta1 == o.beta1 &&
                      optimizer_->options().beta2 == o.beta2 && optimizer_->options().epsilon == o.epsilon;
    if (!same) optimizer_ = std::make_unique<train::Optimizer>(o, *params_);
    optimizer_->step(*params_, {eta, 1.0}, 1.0 / last_voxels_, resources_.threads);
    ++steps_;
}

}  // namespace znn::python
