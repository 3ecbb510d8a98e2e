#include "znn/config/net_spec.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <queue>
#include <set>
#include <sstream>
#include <unordered_map>

#include "znn/config/enum_names.hpp"
#include "znn/config/text_file.hpp"
#include "znn/config/values.hpp"
#include "znn/core/error.hpp"
#include "znn/core/limits.hpp"

namespace znn::config {
namespace {

constexpr std::pair<std::string_view, NodeType> kNodeTypes[] = {
    {"input", NodeType::Input}, {"sum", NodeType::Sum}, {"transfer", NodeType::Transfer}, {"maxout", NodeType::Maxout}};
constexpr std::pair<std::string_view, EdgeType> kEdgeTypes[] = {
    {"conv", EdgeType::Conv},       {"max_filter", EdgeType::MaxFilter}, {"max_pool", EdgeType::MaxPool},
    {"dropout", EdgeType::Dropout}, {"crop", EdgeType::Crop},            {"maxout", EdgeType::Maxout},
    {"dummy", EdgeType::Dummy}};
constexpr std::pair<std::string_view, TransferFunction> kFunctions[] = {
    {"linear", TransferFunction::Linear},     {"rectify_linear", TransferFunction::RectifyLinear},
    {"tanh", TransferFunction::Tanh},         {"soft_sign", TransferFunction::SoftSign},
    {"logistics", TransferFunction::Logistics}, {"forward_logistics", TransferFunction::ForwardLogistics}};
constexpr std::pair<std::string_view, InitKind> kInits[] = {
    {"zero", InitKind::Zero},           {"constant", InitKind::Constant}, {"uniform", InitKind::Uniform},
    {"gaussian", InitKind::Gaussian},   {"bernoulli", InitKind::Bernoulli}, {"xavier", InitKind::Xavier},
    {"msra", InitKind::Msra}};

const std::vector<std::string> kNodeKeys = {"type", "size", "function", "function_args", "init", "init_args", "eta",
                                            "momentum", "weight_decay", "dense", "seeding", "load"};
const std::vector<std::string> kEdgeKeys = {"type", "input", "output", "size", "stride", "init", "init_args", "fft", "repeat",
                                            "eta", "momentum", "weight_decay", "ratio", "offset", "seeding", "load"};

/// One `nodes` or `edges` group as written.
struct RawGroup {
    bool is_node = true;
    std::string name;
    long line = 0;
    std::map<std::string, std::pair<std::string, long>> entries;  // key -> (value, line)
};

/// Reads the values of one group and reports what is wrong with them.
class GroupReader {
public:
    GroupReader(const RawGroup& g, const std::string& file, Diagnostics& d) : g_(g), file_(file), d_(d) {}

    bool has(const std::string& key) const { return g_.entries.count(key) > 0; }
    const std::string* value(const std::string& key) const
    {
        const auto it = g_.entries.find(key);
        return it == g_.entries.end() ? nullptr : &it->second.first;
    }
    long line(const std::string& key) const
    {
        const auto it = g_.entries.find(key);
        return it == g_.entries.end() ? g_.line : it->second.second;
    }
    void error(const std::string& key, const std::string& message) const
    {
        d_.error(file_, line(key), (key.empty() ? "" : key + ": ") + message);
    }
    void warn(const std::string& key, const std::string& message) const { d_.warning(file_, line(key), key + ": " + message); }

    void require(const std::string& key, const std::string& what) const
    {
        if (!has(key))
            d_.error(file_, g_.line, std::string(g_.is_node ? "nodes" : "edges") + " group '" + g_.name + "' needs '" + key + "' (" + what + ")");
    }

    std::optional<std::int64_t> positive_int(const std::string& key) const
    {
        const std::string* v = value(key);
        if (!v) return std::nullopt;
        const auto n = parse_int(*v);
        if (!n || *n < 1 || *n > core::kMaxAxis) {
            error(key, "expected a positive integer (at most " + std::to_string(core::kMaxAxis) + "), got '" + *v + "'");
            return std::nullopt;
        }
        return n;
    }
    std::optional<core::Vec3i> vec3(const std::string& key, std::int64_t min) const
    {
        const std::string* v = value(key);
        if (!v) return std::nullopt;
        const auto s = parse_vec3(*v);
        if (!s || !core::within_axis_limit(*s, min)) {
            error(key, "expected z,y,x (three integers from " + std::to_string(min) + " to " + std::to_string(core::kMaxAxis) +
                           "), got '" + *v + "'");
            return std::nullopt;
        }
        return s;
    }
    std::optional<double> real(const std::string& key) const
    {
        const std::string* v = value(key);
        if (!v) return std::nullopt;
        const auto x = parse_real(*v);
        if (!x) error(key, "expected a number, got '" + *v + "'");
        return x;
    }
    std::optional<bool> flag(const std::string& key) const
    {
        const std::string* v = value(key);
        if (!v) return std::nullopt;
        const auto b = parse_bool(*v);
        if (!b) error(key, "expected 1 or 0, got '" + *v + "'");
        return b;
    }
    std::optional<std::vector<double>> reals(const std::string& key) const
    {
        const std::string* v = value(key);
        if (!v) return std::nullopt;
        const auto list = parse_real_list(*v);
        if (!list) error(key, "expected numbers separated by commas, got '" + *v + "'");
        return list;
    }
    template <class E, std::size_t N> std::optional<E> choice(const std::string& key, const std::pair<std::string_view, E> (&names)[N]) const
    {
        const std::string* v = value(key);
        if (!v) return std::nullopt;
        if (auto e = parse_name(*v, names)) return e;
        const std::vector<std::string> all = names_of(names);
        const std::string guess = closest_match(*v, all);
        error(key, "unknown " + key + " '" + *v + "'" + (guess.empty() ? " (one of: " + name_list(names) + ")" : " (did you mean '" + guess + "'?)"));
        return std::nullopt;
    }

    /// `init` and `init_args`, checked and completed with the original's defaults.
    std::optional<InitSpec> init(bool for_bias) const
    {
        const auto kind = choice("init", kInits);
        if (!kind) return std::nullopt;
        if (for_bias && (*kind == InitKind::Xavier || *kind == InitKind::Msra)) {
            error("init", std::string(name_of(*kind, kInits)) + " needs a fan-in and cannot initialise biases");
            return std::nullopt;
        }
        const auto given = reals("init_args");
        if (has("init_args") && !given) return std::nullopt;
        std::vector<double> a = given.value_or(std::vector<double>{});
        auto bad = [&](const std::string& m) {
            error("init_args", m);
            return std::nullopt;
        };
        switch (*kind) {
        case InitKind::Constant:
            if (a.size() != 1) return bad("constant needs one value (init_args c)");
            break;
        case InitKind::Uniform:
            if (a.empty()) a = {-0.1, 0.1};
            else if (a.size() == 1) a = {-std::abs(a[0]), std::abs(a[0])};
            if (a.size() != 2 || a[0] > a[1]) return bad("uniform takes lo,hi with lo <= hi, or one range r");
            break;
        case InitKind::Gaussian:
            if (a.empty()) a = {0.0, 0.01};
            if (a.size() != 2 || a[1] < 0) return bad("gaussian takes mean,std with std >= 0");
            break;
        case InitKind::Bernoulli:
            if (a.empty()) a = {0.5};
            if (a.size() != 1 || a[0] < 0 || a[0] > 1) return bad("bernoulli takes one probability p in [0, 1]");
            break;
        case InitKind::Zero:
        case InitKind::Xavier:
        case InitKind::Msra:
            if (!a.empty()) warn("init_args", std::string(name_of(*kind, kInits)) + " takes no arguments; ignored");
            a.clear();
            break;
        }
        return InitSpec{*kind, a};
    }

    LearningOverrides learning() const { return {real("eta"), real("momentum"), real("weight_decay")}; }

    bool seeding() const
    {
        bool s = true;
        for (const char* key : {"seeding", "load"})
            if (auto b = flag(key)) s = s && *b;
        return s;
    }

    void copy_options(std::map<std::string, std::string>& options, std::map<std::string, long>& lines) const
    {
        for (const auto& [key, value] : g_.entries) {
            options[key] = value.first;
            lines[key] = value.second;
        }
    }

private:
    const RawGroup& g_;
    const std::string& file_;
    Diagnostics& d_;
};

NodeGroupSpec read_node(const RawGroup& g, const std::string& file, Diagnostics& d)
{
    const GroupReader r(g, file, d);
    NodeGroupSpec n;
    n.name = g.name;
    n.file = file;
    n.line = g.line;
    r.copy_options(n.options, n.lines);
    r.require("type", "input, sum, transfer or maxout");
    r.require("size", "the number of feature maps");
    if (auto t = r.choice("type", kNodeTypes)) n.type = *t;
    if (auto s = r.positive_int("size")) n.size = *s;
    n.learning = r.learning();
    n.seeding = r.seeding();
    if (auto dense = r.flag("dense")) n.dense = *dense;
    if (n.type == NodeType::Transfer) {
        r.require("function", "linear, rectify_linear, tanh, soft_sign, logistics or forward_logistics");
        if (auto f = r.choice("function", kFunctions)) n.function = *f;
        const auto args = r.reals("function_args");
        std::vector<double> a = args.value_or(std::vector<double>{});
        if (n.function == TransferFunction::Linear || n.function == TransferFunction::Tanh) {
            if (a.size() > 2) r.error("function_args", "takes at most two numbers (a,b)");
            const double b_default = n.function == TransferFunction::Linear ? 0.0 : 1.0;
            if (a.empty()) a = {1.0, b_default};
            if (a.size() == 1) a.push_back(b_default);
            a.resize(2);
        } else if (!a.empty()) {
            r.warn("function_args", std::string(name_of(n.function, kFunctions)) + " takes no arguments; ignored");
            a.clear();
        }
        n.function_args = a;
        if (r.has("init")) n.bias_init = r.init(true);
    } else {
        for (const char* key : {"function", "function_args", "init", "init_args"})
            if (r.has(key)) r.warn(key, "only transfer nodes have a function and biases; ignored");
    }
    return n;
}

EdgeGroupSpec read_edge(const RawGroup& g, const std::string& file, Diagnostics& d)
{
    const GroupReader r(g, file, d);
    EdgeGroupSpec e;
    e.name = g.name;
    e.file = file;
    e.line = g.line;
    r.copy_options(e.options, e.lines);
    r.require("type", "conv, max_filter, max_pool, dropout, crop, maxout or dummy");
    r.require("input", "the node group it reads");
    r.require("output", "the node group it feeds");
    if (auto t = r.choice("type", kEdgeTypes)) e.type = *t;
    if (const std::string* v = r.value("input")) e.input = *v;
    if (const std::string* v = r.value("output")) e.output = *v;
    e.learning = r.learning();
    e.seeding = r.seeding();
    const bool windowed = e.type == EdgeType::Conv || e.type == EdgeType::MaxFilter || e.type == EdgeType::MaxPool;
    if (windowed) r.require("size", "the kernel or window z,y,x");
    if (auto s = r.vec3("size", 1)) e.size = *s;
    if (e.type == EdgeType::MaxFilter) r.require("stride", "the pooling factor z,y,x, usually equal to size");
    if (auto s = r.vec3("stride", 1)) e.stride = *s;
    std::set<std::string> applies = {"type", "input", "output", "seeding", "load"};
    switch (e.type) {
    case EdgeType::Conv:
        applies.insert({"size", "stride", "init", "init_args", "fft", "repeat", "eta", "momentum", "weight_decay"});
        r.require("init", "zero, constant, uniform, gaussian, bernoulli, xavier or msra");
        if (r.has("init")) e.init = r.init(false);
        if (auto f = r.flag("fft")) e.fft = *f;
        if (auto rep = r.vec3("repeat", 1)) {
            e.repeat = *rep;
            if (e.size % e.repeat != core::Vec3i{0, 0, 0})
                r.error("repeat", "must divide size " + core::to_string(e.size) + ", got " + core::to_string(e.repeat));
        }
        break;
    case EdgeType::MaxFilter: applies.insert({"size", "stride"}); break;
    case EdgeType::MaxPool: applies.insert({"size", "stride"}); break;  // stride is ignored, as in the original
    case EdgeType::Dropout:
        applies.insert("ratio");
        if (auto ratio = r.real("ratio")) {
            if (*ratio <= 0 || *ratio > 1) r.error("ratio", "the keep probability must be in (0, 1]");
            else e.ratio = *ratio;
        }
        break;
    case EdgeType::Crop:
        applies.insert("offset");
        r.require("offset", "voxels to remove on both sides, z,y,x");
        if (auto o = r.vec3("offset", 0)) e.offset = *o;
        break;
    case EdgeType::Maxout:
    case EdgeType::Dummy: break;
    }
    if (r.has("type"))
        for (const auto& [key, value] : g.entries)
            if (!applies.count(key) && std::find(kEdgeKeys.begin(), kEdgeKeys.end(), key) != kEdgeKeys.end())
                r.warn(key, "does not apply to " + std::string(name_of(e.type, kEdgeTypes)) + " edges; ignored");
    return e;
}

}  // namespace

std::string_view to_string(NodeType t) noexcept { return name_of(t, kNodeTypes); }
std::string_view to_string(EdgeType t) noexcept { return name_of(t, kEdgeTypes); }
std::string_view to_string(TransferFunction f) noexcept { return name_of(f, kFunctions); }
std::string_view to_string(InitKind k) noexcept { return name_of(k, kInits); }

std::string NodeGroupSpec::where(std::string_view key) const
{
    const auto it = lines.find(std::string(key));
    return file + ":" + std::to_string(it == lines.end() ? line : it->second);
}

std::string EdgeGroupSpec::where(std::string_view key) const
{
    const auto it = lines.find(std::string(key));
    return file + ":" + std::to_string(it == lines.end() ? line : it->second);
}

NetSpec NetSpec::parse(std::string_view text, const std::string& file, Diagnostics& d)
{
    NetSpec net;
    net.file = file;
    // 1. Lines into groups.
    std::vector<RawGroup> groups;
    std::istringstream in{std::string(text)};
    std::string raw;
    long number = 0;
    while (std::getline(in, raw)) {
        ++number;
        if (const auto hash = raw.find('#'); hash != std::string::npos) raw.resize(hash);
        std::istringstream words(raw);
        std::vector<std::string> tokens;
        for (std::string t; words >> t;) tokens.push_back(t);
        if (tokens.empty()) continue;
        const std::string key = lower(tokens[0]);
        if (tokens.size() == 1) {
            d.error(file, number, "'" + tokens[0] + "' has no value");
            continue;
        }
        if (tokens.size() > 2) d.warning(file, number, "only '" + tokens[0] + " " + tokens[1] + "' is read; the rest of the line is ignored");
        if (key == "nodes" || key == "edges") {
            groups.push_back({key == "nodes", tokens[1], number, {}});
            continue;
        }
        if (groups.empty()) {
            d.error(file, number, "'" + tokens[0] + "' comes before any 'nodes' or 'edges' line");
            continue;
        }
        RawGroup& g = groups.back();
        const std::vector<std::string>& known = g.is_node ? kNodeKeys : kEdgeKeys;
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            const std::string guess = closest_match(key, known);
            d.error(file, number, "unknown key '" + tokens[0] + "' in " + std::string(g.is_node ? "nodes" : "edges") + " group '" + g.name + "'" +
                                      (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
            continue;
        }
        if (g.entries.count(key)) d.warning(file, number, "'" + key + "' repeats; this later value is used");
        g.entries[key] = {tokens[1], number};
    }
    if (groups.empty()) {
        d.error(file, 0, "no 'nodes' or 'edges' groups: is this a .znn network file?");
        return net;
    }

    // 2. Groups into specs, with unique names.
    std::map<std::string, std::string> seen;  // name -> where
    for (const RawGroup& g : groups) {
        const std::string where = file + ":" + std::to_string(g.line);
        if (const auto it = seen.find(g.name); it != seen.end()) {
            d.error(file, g.line, "the name '" + g.name + "' is already used by the group at " + it->second);
            continue;
        }
        seen[g.name] = where;
        if (g.is_node) net.nodes.push_back(read_node(g, file, d));
        else net.edges.push_back(read_edge(g, file, d));
    }

    for (std::size_t i = 0; i < net.nodes.size(); ++i) net.node_index_.emplace(net.nodes[i].name, i);

    // 3. The graph.
    std::vector<std::string> node_names;
    for (const NodeGroupSpec& n : net.nodes) node_names.push_back(n.name);
    std::map<std::string, int> incoming, outgoing;
    for (const EdgeGroupSpec& e : net.edges) {
        bool ends_ok = true;
        for (const auto& [key, name] : {std::pair<std::string, std::string>{"input", e.input}, {"output", e.output}}) {
            if (name.empty() || net.node(name)) continue;
            const std::string guess = closest_match(name, node_names);
            d.error_at(e.where(key), key + ": there is no nodes group '" + name + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
            ends_ok = false;
        }
        if (!ends_ok || e.input.empty() || e.output.empty()) continue;
        ++outgoing[e.input];
        ++incoming[e.output];
        const NodeGroupSpec& from = *net.node(e.input);
        const NodeGroupSpec& to = *net.node(e.output);
        if (to.type == NodeType::Input) d.error_at(e.where("output"), "edges cannot feed the input node group '" + to.name + "'");
        if (!e.fully_connected() && from.size > 0 && to.size > 0 && from.size != to.size)
            d.error_at(e.where(), std::string(to_string(e.type)) + " edges are one-to-one, but '" + from.name + "' has " +
                                      std::to_string(from.size) + " maps and '" + to.name + "' " + std::to_string(to.size));
        if ((e.type == EdgeType::Maxout) != (to.type == NodeType::Maxout))
            d.error_at(e.where(), e.type == EdgeType::Maxout ? "maxout edges must feed a maxout node group, and '" + to.name + "' is not one"
                                                             : "a maxout node group takes only maxout edges; '" + e.name + "' is " +
                                                                   std::string(to_string(e.type)));
        if (e.input == e.output) d.error_at(e.where(), "the edge group feeds its own input '" + e.input + "'");
    }
    bool any_input = false;
    for (const NodeGroupSpec& n : net.nodes) {
        if (n.type == NodeType::Input) {
            any_input = true;
            if (!outgoing.count(n.name)) d.error_at(n.where(), "the input node group '" + n.name + "' feeds nothing");
        } else if (!incoming.count(n.name)) {
            d.error_at(n.where(), "nothing feeds the node group '" + n.name + "' (only type input may have no incoming edges)");
        }
    }
    if (!any_input && !net.nodes.empty()) d.error(file, 0, "no node group of type input");
    // Cycles: what a topological sort cannot order.
    const std::vector<std::string> order = net.topological_order();
    if (order.size() < net.nodes.size()) {
        const std::set<std::string> ordered(order.begin(), order.end());
        std::string names;
        const NodeGroupSpec* first = nullptr;
        for (const NodeGroupSpec& n : net.nodes)
            if (!ordered.count(n.name)) {
                names += (names.empty() ? "" : ", ") + n.name;
                if (!first) first = &n;
            }
        d.error_at(first->where(), "the edges form a cycle through " + names);
    }
    return net;
}

NetSpec NetSpec::read(const std::string& path, Diagnostics& d)
{
    const auto text = read_text_file(path, "network file", d);
    if (!text) {
        NetSpec net;
        net.file = path;
        return net;
    }
    return parse(*text, path, d);
}

NetSpec NetSpec::load(const std::string& path)
{
    Diagnostics d;
    NetSpec net = read(path, d);
    d.throw_if_errors();
    return net;
}

const NodeGroupSpec* NetSpec::node(std::string_view name) const
{
    if (const auto it = node_index_.find(name); it != node_index_.end() && it->second < nodes.size() && nodes[it->second].name == name)
        return &nodes[it->second];
    for (const NodeGroupSpec& n : nodes)
        if (n.name == name) return &n;
    return nullptr;
}

const EdgeGroupSpec* NetSpec::edge(std::string_view name) const
{
    for (const EdgeGroupSpec& e : edges)
        if (e.name == name) return &e;
    return nullptr;
}

std::vector<std::string> NetSpec::input_nodes() const
{
    std::vector<std::string> out;
    for (const NodeGroupSpec& n : nodes)
        if (n.type == NodeType::Input) out.push_back(n.name);
    return out;
}

std::vector<std::string> NetSpec::output_nodes() const
{
    std::set<std::string> sources;
    for (const EdgeGroupSpec& e : edges) sources.insert(e.input);
    std::vector<std::string> out;
    for (const NodeGroupSpec& n : nodes)
        if (!sources.count(n.name) && n.type != NodeType::Input) out.push_back(n.name);
    return out;
}

std::vector<std::string> NetSpec::topological_order() const
{
    // Passes over the nodes in file order, each taking every node whose incoming edges are all
    // satisfied (a node readied by one later in the file waits for the next pass): the order the
    // original's file order gives. Kept as two heaps of file positions, O((N + E) log N).
    std::unordered_map<std::string_view, std::size_t> index;
    for (std::size_t i = 0; i < nodes.size(); ++i) index.emplace(nodes[i].name, i);
    std::vector<int> missing(nodes.size(), 0);  // incoming edges not yet satisfied
    std::vector<std::vector<std::size_t>> successors(nodes.size());
    for (const EdgeGroupSpec& e : edges) {
        const auto from = index.find(e.input), to = index.find(e.output);
        if (from == index.end() || to == index.end()) continue;
        ++missing[to->second];
        successors[from->second].push_back(to->second);
    }
    using MinHeap = std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>>;
    MinHeap this_pass, next_pass;
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (missing[i] == 0) this_pass.push(i);
    std::vector<std::string> order;
    while (!this_pass.empty()) {
        while (!this_pass.empty()) {
            const std::size_t i = this_pass.top();
            this_pass.pop();
            order.push_back(nodes[i].name);
            for (std::size_t j : successors[i])
                if (--missing[j] == 0) (j > i ? this_pass : next_pass).push(j);
        }
        std::swap(this_pass, next_pass);
    }
    return order;
}

}  // namespace znn::config
