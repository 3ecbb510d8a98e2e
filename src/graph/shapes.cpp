#include "znn/graph/shapes.hpp"

#include <algorithm>
#include <sstream>

#include "znn/core/error.hpp"

namespace znn::graph {
namespace {

using config::EdgeGroupSpec;
using config::EdgeType;
using config::NetSpec;
using config::NodeGroupSpec;

bool sparsifies(const EdgeGroupSpec& e) { return e.type == EdgeType::MaxFilter || e.type == EdgeType::Conv; }
bool windowed(const EdgeGroupSpec& e) { return e.type == EdgeType::Conv || e.type == EdgeType::MaxFilter || e.type == EdgeType::MaxPool; }

/// The span of a window of size k with taps s apart: (k − 1)·s + 1.
Vec3i extent(const Vec3i& k, const Vec3i& s) { return (k - 1) * s + 1; }

/// The sparsity of every node group, forward from the inputs. nullopt after reporting a conflict.
std::optional<std::map<std::string, Vec3i>> sparsity_of(const NetSpec& net, config::Diagnostics& d)
{
    std::map<std::string, Vec3i> s;
    std::map<std::string, std::string> via;  // node -> the edge that set its sparsity
    bool ok = true;
    for (const std::string& name : net.topological_order()) {
        const NodeGroupSpec& n = *net.node(name);
        if (n.type == config::NodeType::Input) s[name] = {1, 1, 1};
        for (const EdgeGroupSpec& e : net.edges) {
            if (e.output != name || !s.count(e.input)) continue;
            const Vec3i in = s.at(e.input);
            if (e.type == EdgeType::MaxPool && in != Vec3i{1, 1, 1}) {
                d.error_at(e.where(), "max_pool after sparse (max-filtered) layers is not supported; use max_filter, or dense 1 before it");
                ok = false;
            }
            const Vec3i out = sparsifies(e) ? in * e.stride : in;
            if (const auto it = s.find(name); it != s.end() && it->second != out) {
                d.error_at(n.where(), "converging branches reach '" + name + "' with different sparsity: " + core::to_string(it->second) +
                                          " through '" + via[name] + "', " + core::to_string(out) + " through '" + e.name + "'");
                ok = false;
                continue;
            }
            s[name] = out;
            via[name] = e.name;
        }
        if (n.dense) s[name] = {1, 1, 1};
    }
    if (!ok) return std::nullopt;
    return s;
}

/// The input size an edge needs for output size `out`.
Vec3i needs(const EdgeGroupSpec& e, const Vec3i& out, const Vec3i& s_in)
{
    switch (e.type) {
    case EdgeType::Conv:
    case EdgeType::MaxFilter: return out + (e.size - 1) * s_in;
    case EdgeType::MaxPool: return out * e.size;
    case EdgeType::Crop: return out + e.offset * 2;
    default: return out;
    }
}

/// The output size an edge makes from input size `in`, or an error text.
std::optional<Vec3i> makes(const EdgeGroupSpec& e, const Vec3i& in, const Vec3i& s_in, std::string& error)
{
    switch (e.type) {
    case EdgeType::Conv:
    case EdgeType::MaxFilter: {
        const Vec3i span = extent(e.size, s_in);
        if (!all_le(span, in)) {
            error = std::string(e.type == EdgeType::Conv ? "kernel " : "window ") + core::to_string(e.size) +
                    (s_in == Vec3i{1, 1, 1} ? "" : " (spanning " + core::to_string(span) + " at sparsity " + core::to_string(s_in) + ")") +
                    " is larger than its input " + core::to_string(in);
            return std::nullopt;
        }
        return in - span + 1;
    }
    case EdgeType::MaxPool:
        if (in % e.size != Vec3i{0, 0, 0}) {
            error = "max_pool window " + core::to_string(e.size) + " does not divide its input " + core::to_string(in);
            return std::nullopt;
        }
        return in / e.size;
    case EdgeType::Crop:
        if (!all_lt(e.offset * 2, in)) {
            error = "crop offset " + core::to_string(e.offset) + " leaves nothing of its input " + core::to_string(in);
            return std::nullopt;
        }
        return in - e.offset * 2;
    default: return in;
    }
}

/// Sizes backward from the outputs; nullopt after reporting conflicts.
std::optional<std::map<std::string, Vec3i>> sizes_backward(const NetSpec& net, const std::map<std::string, Vec3i>& s, const Vec3i& outsz,
                                                           config::Diagnostics& d)
{
    std::map<std::string, Vec3i> size;
    bool ok = true;
    std::vector<std::string> order = net.topological_order();
    std::reverse(order.begin(), order.end());
    for (const std::string& name : order) {
        std::string first_edge;
        for (const EdgeGroupSpec& e : net.edges) {
            if (e.input != name || !size.count(e.output)) continue;
            const Vec3i need = needs(e, size.at(e.output), s.at(name));
            if (const auto it = size.find(name); it != size.end() && it->second != need) {
                d.error_at(net.node(name)->where(), "the branches leaving '" + name + "' need different sizes: " + core::to_string(it->second) +
                                                        " for '" + first_edge + "', " + core::to_string(need) + " for '" + e.name + "'");
                ok = false;
                continue;
            }
            size[name] = need;
            first_edge = e.name;
        }
        if (!size.count(name)) size[name] = outsz;  // an output node
    }
    if (!ok) return std::nullopt;
    return size;
}

}  // namespace

std::optional<NetShapes> NetShapes::from_output(const NetSpec& net, const Vec3i& output_size, config::Diagnostics& d)
{
    const auto s = sparsity_of(net, d);
    if (!s) return std::nullopt;
    const auto size = sizes_backward(net, *s, output_size, d);
    if (!size) return std::nullopt;
    std::map<std::string, Vec3i> inputs;
    for (const std::string& name : net.input_nodes()) inputs[name] = size->at(name);
    // Every size in a backward pass is consistent forward, except where an edge cannot be inverted
    // exactly; building forward from the inputs checks that and computes the edges.
    return from_input(net, inputs, d);
}

std::optional<NetShapes> NetShapes::from_input(const NetSpec& net, const std::map<std::string, Vec3i>& input_sizes, config::Diagnostics& d)
{
    const auto s = sparsity_of(net, d);
    if (!s) return std::nullopt;
    std::map<std::string, Vec3i> size;
    std::map<std::string, std::string> via;
    bool ok = true;
    for (const std::string& name : net.input_nodes()) {
        const auto it = input_sizes.find(name);
        if (it == input_sizes.end()) {
            d.error_at(net.node(name)->where(), "no size given for the input node '" + name + "'");
            ok = false;
        } else {
            size[name] = it->second;
        }
    }
    for (const std::string& name : net.topological_order()) {
        for (const EdgeGroupSpec& e : net.edges) {
            if (e.output != name || !size.count(e.input)) continue;
            std::string error;
            const auto out = makes(e, size.at(e.input), s->at(e.input), error);
            if (!out) {
                d.error_at(e.where("size"), error);
                ok = false;
                continue;
            }
            if (const auto it = size.find(name); it != size.end() && it->second != *out) {
                d.error_at(net.node(name)->where(), "converging branches give '" + name + "' different sizes: " + core::to_string(it->second) +
                                                        " through '" + via[name] + "', " + core::to_string(*out) + " through '" + e.name + "'");
                ok = false;
                continue;
            }
            size[name] = *out;
            via[name] = e.name;
        }
    }
    if (!ok) return std::nullopt;

    NetShapes shapes;
    for (const std::string& name : net.topological_order()) {
        const NodeGroupSpec& n = *net.node(name);
        shapes.nodes_.push_back({name, n.type, n.size, size.at(name), s->at(name)});
    }
    for (const EdgeGroupSpec& e : net.edges) {
        EdgeShape es;
        es.name = e.name;
        es.type = e.type;
        es.input = e.input;
        es.output = e.output;
        es.in_maps = net.node(e.input)->size;
        es.out_maps = net.node(e.output)->size;
        es.in_size = size.at(e.input);
        es.out_size = size.at(e.output);
        if (windowed(e)) es.window = e.size;
        es.dilation = s->at(e.input);
        if (e.type == EdgeType::Conv) {
            es.parameters = es.in_maps * es.out_maps * e.size.product();
            es.forward_flops = 2.0 * double(es.parameters) * double(es.out_size.product());
            const bool data_gradient = net.node(e.input)->type != config::NodeType::Input;
            es.backward_flops = es.forward_flops * (data_gradient ? 2 : 1);
        }
        shapes.edges_.push_back(es);
    }
    // The field of view: the input sizes when every output is one voxel (without reporting again).
    config::Diagnostics quiet;
    if (const auto unit = sizes_backward(net, *s, {1, 1, 1}, quiet))
        for (const std::string& name : net.input_nodes()) shapes.fov_[name] = unit->at(name);
    return shapes;
}

NetShapes NetShapes::for_output(const NetSpec& net, const Vec3i& output_size)
{
    config::Diagnostics d;
    auto shapes = from_output(net, output_size, d);
    d.throw_if_errors();
    return *shapes;
}

const NodeShape& NetShapes::node(const std::string& name) const
{
    for (const NodeShape& n : nodes_)
        if (n.name == name) return n;
    throw core::InternalError("NetShapes: no node group " + name);
}

std::map<std::string, Vec3i> NetShapes::input_sizes() const
{
    std::map<std::string, Vec3i> out;
    for (const NodeShape& n : nodes_)
        if (n.type == config::NodeType::Input) out[n.name] = n.size;
    return out;
}

std::map<std::string, Vec3i> NetShapes::output_sizes() const
{
    std::map<std::string, Vec3i> out;
    for (const NodeShape& n : nodes_) {
        const bool feeds = std::any_of(edges_.begin(), edges_.end(), [&](const EdgeShape& e) { return e.input == n.name; });
        if (!feeds && n.type != config::NodeType::Input) out[n.name] = n.size;
    }
    return out;
}

std::int64_t NetShapes::parameters() const
{
    std::int64_t p = 0;
    for (const EdgeShape& e : edges_) p += e.parameters;
    for (const NodeShape& n : nodes_)
        if (n.type == config::NodeType::Transfer) p += n.maps;
    return p;
}

double NetShapes::forward_flops() const
{
    double f = 0;
    for (const EdgeShape& e : edges_) f += e.forward_flops;
    return f;
}

double NetShapes::backward_flops() const
{
    double f = 0;
    for (const EdgeShape& e : edges_) f += e.backward_flops;
    return f;
}

std::int64_t NetShapes::memory_bytes() const
{
    std::int64_t bytes = 0;
    for (const NodeShape& n : nodes_) bytes += 2 * n.maps * n.size.product() * 4;  // values and gradients
    for (const EdgeShape& e : edges_)
        if (e.type == EdgeType::MaxFilter || e.type == EdgeType::MaxPool || e.type == EdgeType::Dropout)
            bytes += e.out_maps * e.out_size.product() * 4;  // argmax indices or dropout masks
    bytes += 3 * parameters() * 4;  // values, gradients, momentum
    return bytes;
}

std::string to_dot(const NetSpec& net, const NetShapes& shapes)
{
    std::ostringstream os;
    os << "digraph \"" << net.file << "\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n";
    for (const NodeShape& n : shapes.nodes()) {
        os << "  \"" << n.name << "\" [label=\"" << n.name << "\\n" << config::to_string(n.type);
        const NodeGroupSpec& spec = *net.node(n.name);
        if (n.type == config::NodeType::Transfer) os << " " << config::to_string(spec.function);
        os << "\\n" << n.maps << " x " << core::to_string(n.size);
        if (n.sparsity != Vec3i{1, 1, 1}) os << "\\nsparsity " << core::to_string(n.sparsity);
        os << "\"" << (n.type == config::NodeType::Input ? ", style=filled, fillcolor=\"#dde8f5\"" : "") << "];\n";
    }
    for (const EdgeShape& e : shapes.edges()) {
        os << "  \"" << e.input << "\" -> \"" << e.output << "\" [label=\"" << e.name << "\\n" << config::to_string(e.type);
        if (e.type == EdgeType::Conv || e.type == EdgeType::MaxFilter || e.type == EdgeType::MaxPool) os << " " << core::to_string(e.window);
        if (e.dilation != Vec3i{1, 1, 1} && e.type != EdgeType::MaxPool) os << " d" << core::to_string(e.dilation);
        os << "\"];\n";
    }
    os << "}\n";
    return os.str();
}

}  // namespace znn::graph
