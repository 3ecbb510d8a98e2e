#include "znn/graph/shapes.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_map>

#include "znn/core/error.hpp"
#include "znn/core/limits.hpp"

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

/// The edges into and out of every node group, each list in file order (lookups in O(1), so that
/// shape inference stays linear in the size of the network).
struct Adjacency {
    std::unordered_map<std::string_view, std::vector<const EdgeGroupSpec*>> into, out_of;
    std::unordered_map<std::string_view, const NodeGroupSpec*> node;

    explicit Adjacency(const NetSpec& net)
    {
        for (const NodeGroupSpec& n : net.nodes) node.emplace(n.name, &n);
        for (const EdgeGroupSpec& e : net.edges) {
            into[e.output].push_back(&e);
            out_of[e.input].push_back(&e);
        }
    }
    const std::vector<const EdgeGroupSpec*>& edges_into(const std::string& name) const { return find(into, name); }
    const std::vector<const EdgeGroupSpec*>& edges_out_of(const std::string& name) const { return find(out_of, name); }

private:
    static const std::vector<const EdgeGroupSpec*>& find(const std::unordered_map<std::string_view, std::vector<const EdgeGroupSpec*>>& m,
                                                         const std::string& name)
    {
        static const std::vector<const EdgeGroupSpec*> none;
        const auto it = m.find(name);
        return it == m.end() ? none : it->second;
    }
};

/// Sizes and sparsities are held to core::kMaxAxis per axis, which keeps every step of the arithmetic
/// below (one product of two of them, plus one more) inside 64 bits.
bool too_large(const Vec3i& v) { return v.max_component() > core::kMaxAxis; }
std::string too_large_text(const std::string& what, const Vec3i& v)
{
    return what + " " + core::to_string(v) + " is beyond what znn handles (" + std::to_string(core::kMaxAxis) + " per axis)";
}

/// The sparsity of every node group, forward from the inputs. nullopt after reporting a conflict.
std::optional<std::map<std::string, Vec3i>> sparsity_of(const NetSpec& net, const Adjacency& graph, config::Diagnostics& d)
{
    std::map<std::string, Vec3i> s;
    std::map<std::string, std::string> via;  // node -> the edge that set its sparsity
    bool ok = true;
    for (const std::string& name : net.topological_order()) {
        const NodeGroupSpec& n = *graph.node.at(name);
        if (n.type == config::NodeType::Input) s[name] = {1, 1, 1};
        for (const EdgeGroupSpec* edge : graph.edges_into(name)) {
            const EdgeGroupSpec& e = *edge;
            if (!s.count(e.input)) continue;
            const Vec3i in = s.at(e.input);
            if (e.type == EdgeType::MaxPool && in != Vec3i{1, 1, 1}) {
                d.error_at(e.where(), "max_pool after sparse (max-filtered) layers is not supported; use max_filter, or dense 1 before it");
                ok = false;
            }
            const Vec3i out = sparsifies(e) ? in * e.stride : in;
            if (too_large(out)) {
                d.error_at(e.where("stride"), too_large_text("the sparsity", out));
                ok = false;
                continue;
            }
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
std::optional<std::map<std::string, Vec3i>> sizes_backward(const NetSpec& net, const Adjacency& graph,
                                                           const std::map<std::string, Vec3i>& s, const Vec3i& outsz,
                                                           config::Diagnostics& d)
{
    std::map<std::string, Vec3i> size;
    bool ok = true;
    std::vector<std::string> order = net.topological_order();
    std::reverse(order.begin(), order.end());
    for (const std::string& name : order) {
        std::string first_edge;
        for (const EdgeGroupSpec* edge : graph.edges_out_of(name)) {
            const EdgeGroupSpec& e = *edge;
            if (!size.count(e.output)) continue;
            const Vec3i need = needs(e, size.at(e.output), s.at(name));
            if (too_large(need)) {
                d.error_at(e.where("size"), too_large_text("the input size it needs,", need));
                ok = false;
                continue;
            }
            if (const auto it = size.find(name); it != size.end() && it->second != need) {
                d.error_at(graph.node.at(name)->where(), "the branches leaving '" + name + "' need different sizes: " + core::to_string(it->second) +
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
    if (too_large(output_size)) {
        d.error_at("", too_large_text("the output size", output_size));
        return std::nullopt;
    }
    const Adjacency graph(net);
    const auto s = sparsity_of(net, graph, d);
    if (!s) return std::nullopt;
    const auto size = sizes_backward(net, graph, *s, output_size, d);
    if (!size) return std::nullopt;
    std::map<std::string, Vec3i> inputs;
    for (const std::string& name : net.input_nodes()) inputs[name] = size->at(name);
    // Every size in a backward pass is consistent forward, except where an edge cannot be inverted
    // exactly; building forward from the inputs checks that and computes the edges.
    return from_input(net, inputs, d);
}

std::optional<NetShapes> NetShapes::from_input(const NetSpec& net, const std::map<std::string, Vec3i>& input_sizes, config::Diagnostics& d)
{
    const Adjacency graph(net);
    const auto s = sparsity_of(net, graph, d);
    if (!s) return std::nullopt;
    std::map<std::string, Vec3i> size;
    std::map<std::string, std::string> via;
    bool ok = true;
    for (const std::string& name : net.input_nodes()) {
        const auto it = input_sizes.find(name);
        if (it == input_sizes.end()) {
            d.error_at(net.node(name)->where(), "no size given for the input node '" + name + "'");
            ok = false;
        } else if (too_large(it->second)) {
            d.error_at(net.node(name)->where(), too_large_text("the input size", it->second));
            ok = false;
        } else {
            size[name] = it->second;
        }
    }
    for (const std::string& name : net.topological_order()) {
        for (const EdgeGroupSpec* edge : graph.edges_into(name)) {
            const EdgeGroupSpec& e = *edge;
            if (!size.count(e.input)) continue;
            std::string error;
            const auto out = makes(e, size.at(e.input), s->at(e.input), error);
            if (!out) {
                d.error_at(e.where("size"), error);
                ok = false;
                continue;
            }
            if (const auto it = size.find(name); it != size.end() && it->second != *out) {
                d.error_at(graph.node.at(name)->where(), "converging branches give '" + name + "' different sizes: " + core::to_string(it->second) +
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
        const NodeGroupSpec& n = *graph.node.at(name);
        if (!core::checked_count(size.at(name), n.size)) {
            d.error_at(n.where(), std::to_string(n.size) + " maps of " + core::to_string(size.at(name)) + " voxels are more than " +
                                      std::to_string(core::kMaxElements) + " values");
            ok = false;
        }
        shapes.node_index_.emplace(name, shapes.nodes_.size());
        shapes.nodes_.push_back({name, n.type, n.size, size.at(name), s->at(name)});
    }
    for (const EdgeGroupSpec& e : net.edges) {
        if (e.type == EdgeType::Conv && !core::checked_count(e.size, graph.node.at(e.input)->size * graph.node.at(e.output)->size)) {
            d.error_at(e.where("size"), "the kernels of '" + e.name + "' have more than " + std::to_string(core::kMaxElements) + " weights");
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    for (const EdgeGroupSpec& e : net.edges) {
        EdgeShape es;
        es.name = e.name;
        es.type = e.type;
        es.input = e.input;
        es.output = e.output;
        es.in_maps = graph.node.at(e.input)->size;
        es.out_maps = graph.node.at(e.output)->size;
        es.in_size = size.at(e.input);
        es.out_size = size.at(e.output);
        if (windowed(e)) es.window = e.size;
        es.dilation = s->at(e.input);
        if (e.type == EdgeType::Conv) {
            es.parameters = es.in_maps * es.out_maps * e.size.product();
            es.forward_flops = 2.0 * double(es.parameters) * double(es.out_size.product());
            const bool data_gradient = graph.node.at(e.input)->type != config::NodeType::Input;
            es.backward_flops = es.forward_flops * (data_gradient ? 2 : 1);
        }
        shapes.edges_.push_back(es);
    }
    // The field of view: the input sizes when every output is one voxel (without reporting again).
    config::Diagnostics quiet;
    if (const auto unit = sizes_backward(net, graph, *s, {1, 1, 1}, quiet))
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
    const auto it = node_index_.find(name);
    if (it == node_index_.end()) throw core::InternalError("NetShapes: no node group " + name);
    return nodes_[it->second];
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
    std::set<std::string_view> feeding;
    for (const EdgeShape& e : edges_) feeding.insert(e.input);
    for (const NodeShape& n : nodes_) {
        if (!feeding.count(n.name) && n.type != config::NodeType::Input) out[n.name] = n.size;
    }
    return out;
}

std::int64_t NetShapes::parameters() const
{
    std::int64_t p = 0;
    for (const EdgeShape& e : edges_) p = core::saturating_add(p, e.parameters);
    for (const NodeShape& n : nodes_)
        if (n.type == config::NodeType::Transfer) p = core::saturating_add(p, n.maps);
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
    // Every count below is at most core::kMaxElements (2^56), so each term fits; the sums saturate.
    std::int64_t bytes = 0;
    for (const NodeShape& n : nodes_) bytes = core::saturating_add(bytes, 2 * n.maps * n.size.product() * 4);  // values and gradients
    for (const EdgeShape& e : edges_)
        if (e.type == EdgeType::MaxFilter || e.type == EdgeType::MaxPool || e.type == EdgeType::Dropout)
            bytes = core::saturating_add(bytes, e.out_maps * e.out_size.product() * 4);  // argmax indices or dropout masks
    const std::int64_t p = parameters();
    bytes = core::saturating_add(bytes, p > INT64_MAX / 12 ? INT64_MAX : 3 * p * 4);  // values, gradients, momentum
    return bytes;
}

std::string to_dot(const NetSpec& net, const NetShapes& shapes)
{
    std::ostringstream os;
    os << "digraph \"" << net.file << "\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n";
    const Adjacency graph(net);
    for (const NodeShape& n : shapes.nodes()) {
        os << "  \"" << n.name << "\" [label=\"" << n.name << "\\n" << config::to_string(n.type);
        const NodeGroupSpec& spec = *graph.node.at(n.name);
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
