#include "znn/infer/block_network.hpp"

#include "znn/core/error.hpp"
#include "znn/graph/transfer.hpp"

namespace znn::infer {

BlockNetwork::BlockNetwork(const config::NetSpec& spec, const Vec3i& block,
                           std::shared_ptr<graph::ParameterStore<float>> parameters, graph::NetworkOptions options,
                           graph::NetworkResources resources, bool softmax)
    : shapes_(graph::NetShapes::for_output(spec, block)), block_(block), softmax_(softmax)
{
    bool first = true;
    for (const auto& [node, size] : shapes_.input_sizes()) {
        const Vec3i fov = shapes_.fov().at(node);
        if (size != block + fov - 1)
            throw core::InputError("inference needs a dense sliding-window network: input '" + node + "' is " +
                                   core::to_string(size) + " for an output of " + core::to_string(block) +
                                   ", not output + field of view - 1 = " + core::to_string(block + fov - 1) +
                                   " (max_pool or a strided conv makes sparse output)")
                .at(spec.file);
        if (!first && fov != fov_)
            throw core::InputError("the input nodes have different fields of view (" + core::to_string(fov_) + ", " +
                                   core::to_string(fov) + "): znn forward runs networks whose inputs are aligned")
                .at(spec.file);
        fov_ = fov;
        first = false;
    }
    for (const auto& [node, size] : shapes_.output_sizes())
        if (size != block)
            throw core::InputError("output '" + node + "' is " + core::to_string(size) + " for a requested block of " +
                                   core::to_string(block))
                .at(spec.file);
    options.batch = 1;
    options.usage = conv::Usage::Inference;
    net_ = std::make_unique<graph::Network<float>>(spec, shapes_, options, resources, std::move(parameters));
    net_->set_phase(graph::Phase::Test);
}

void BlockNetwork::run()
{
    net_->forward();
    if (!softmax_) return;
    for (const auto& [node, size] : shapes_.output_sizes()) {
        const tensor::TensorView<const float> out = net_->output(node);
        tensor::Tensor<float>& t = softmaxed_[node];
        if (t.shape() != out.shape()) t = tensor::Tensor<float>(out.shape(), core::Init::Uninitialized);
        tensor::copy(out, t.view());
        graph::softmax_channels(t.view());
    }
}

tensor::TensorView<const float> BlockNetwork::output(const std::string& name) const
{
    if (softmax_) return softmaxed_.at(name).cview();
    return net_->output(name);
}

}  // namespace znn::infer
