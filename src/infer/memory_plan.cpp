#include "znn/infer/memory_plan.hpp"

#include <algorithm>

#include "znn/core/memory.hpp"
#include "znn/graph/shapes.hpp"

namespace znn::infer {

std::string ForwardMemory::text() const
{
    return core::bytes_text(double(total())) + " (network " + core::bytes_text(double(network.total())) +
           ", of which convolution workspaces " + core::bytes_text(double(network.engines)) + "; block buffers " +
           core::bytes_text(double(inputs + outputs)) + "; libraries " + core::bytes_text(double(libraries)) + ")";
}

ForwardMemory estimate_forward_memory(const config::NetSpec& spec, const core::Vec3i& block,
                                      const graph::NetworkOptions& options, const graph::NetworkResources& resources)
{
    const graph::NetShapes shapes = graph::NetShapes::for_output(spec, block);
    ForwardMemory m;
    m.network = graph::estimate_memory(spec, shapes, options, resources);
    for (const graph::NodeShape& n : shapes.nodes()) {
        const std::int64_t bytes = n.maps * n.size.product() * std::int64_t(sizeof(float));
        if (n.type == config::NodeType::Input) m.inputs += 4 * bytes;  // two regions, a read and its conversion
    }
    for (const auto& name : spec.output_nodes())
        m.outputs += 2 * spec.node(name)->size * block.product() * std::int64_t(sizeof(float));
    return m;
}

std::int64_t default_forward_memory(int ranks_on_node)
{
    return static_cast<std::int64_t>(0.75 * double(core::usable_memory_bytes()) / std::max(1, ranks_on_node));
}

}  // namespace znn::infer
