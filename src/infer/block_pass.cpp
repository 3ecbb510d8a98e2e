#include "znn/infer/block_pass.hpp"

namespace znn::infer {

void BlockPass::run(BlockNetwork& net, const BlockInputs& inputs, const Vec3i& block, BlockOutputs& outputs,
                    const std::function<void()>& before_outputs) const
{
    for (std::size_t k = 0; k < tta_.variants.size(); ++k) {
        const int v = tta_.variants[k];
        for (const auto& [node, t] : inputs) {
            if (v == 0)
                tensor::copy(t.cview(), net.input(node));
            else
                transform_input(t.cview(), v, net.input(node));
        }
        net.run();
        if (k == 0 && before_outputs) before_outputs();
        for (const std::string& node : net.network().spec().output_nodes()) {
            const tensor::TensorView<const float> o = net.output(node);
            tensor::Tensor<float>& buf = outputs[node];
            const tensor::Shape4 shape{o.channels(), block};
            if (buf.shape() != shape) buf = tensor::Tensor<float>(shape, core::Init::Uninitialized);
            if (tta_.is_identity())
                tensor::copy(o, buf.view());
            else
                tta_.accumulate(o, v, buf.view(), k == 0);
        }
    }
    if (!tta_.is_identity())
        for (auto& [node, buf] : outputs) tta_.finish(buf.view());
}

}  // namespace znn::infer
