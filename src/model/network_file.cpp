#include "znn/model/network_file.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "znn/config/text_file.hpp"
#include "znn/config/values.hpp"
#include "znn/core/build_info.hpp"
#include "znn/core/error.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/hdf5.hpp"

namespace znn::model {
namespace {

using config::EdgeType;
using config::NodeType;
using Parameter = graph::Parameter<float>;

/// The original's flat order of kernel (i, o): the first .znn coordinate (z) fastest.
std::int64_t file_index(std::int64_t kz, std::int64_t ky, std::int64_t kx, const core::Vec3i& k) { return kz + k.z * (ky + k.y * kx); }

std::string dims_text(const std::vector<std::int64_t>& d)
{
    std::string t = "(";
    for (std::size_t i = 0; i < d.size(); ++i) t += (i ? ", " : "") + std::to_string(d[i]);
    return t + ")";
}

void write_options(io::Hdf5File& file, const std::string& group, const std::map<std::string, std::string>& options, const std::string& name,
                   bool is_node)
{
    file.write_string(group + "/group_type", is_node ? "node" : "edge");
    file.write_string(group + "/name", name);
    for (const auto& [key, value] : options) {
        if (key == "size" || key == "stride") continue;  // integer arrays below
        if (key == "fft") continue;                      // the convolution actually used, below
        file.write_string(group + "/" + key, value);
    }
}

/// Kernels (F_out·F_in, k) to the file's (N_in, N_out, s0, s1, s2) layout.
std::vector<float> to_file_order(const tensor::Tensor<float>& w, std::int64_t n_in, std::int64_t n_out)
{
    const core::Vec3i k = w.size();
    std::vector<float> out(static_cast<std::size_t>(w.count()));
    for (std::int64_t o = 0; o < n_out; ++o)
        for (std::int64_t i = 0; i < n_in; ++i) {
            const std::int64_t base = (i * n_out + o) * k.product();
            for (std::int64_t z = 0; z < k.z; ++z)
                for (std::int64_t y = 0; y < k.y; ++y)
                    for (std::int64_t x = 0; x < k.x; ++x)
                        out[static_cast<std::size_t>(base + file_index(z, y, x, k))] = w(o * n_in + i, z, y, x);
        }
    return out;
}

void from_file_order(const std::vector<double>& values, std::int64_t n_in, std::int64_t n_out, tensor::Tensor<float>& w)
{
    const core::Vec3i k = w.size();
    for (std::int64_t o = 0; o < n_out; ++o)
        for (std::int64_t i = 0; i < n_in; ++i) {
            const std::int64_t base = (i * n_out + o) * k.product();
            for (std::int64_t z = 0; z < k.z; ++z)
                for (std::int64_t y = 0; y < k.y; ++y)
                    for (std::int64_t x = 0; x < k.x; ++x)
                        w(o * n_in + i, z, y, x) = static_cast<float>(values[static_cast<std::size_t>(base + file_index(z, y, x, k))]);
        }
}

}  // namespace

std::string conv_plan_text(const NetworkFileMeta& m)
{
    std::string t;
    for (const auto& [group, algo] : m.conv_choices) {
        t += group + " " + std::string(conv::to_string(algo));
        if (const auto tile = m.fft_tiles.find(group); tile != m.fft_tiles.end() && algo == conv::ConvAlgo::Fft)
            t += " " + core::to_string(tile->second);
        t += "\n";
    }
    return t;
}

void parse_conv_plan(const std::string& text, NetworkFileMeta& m)
{
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream in(line);
        std::string group, algo, tile;
        if (!(in >> group >> algo)) continue;
        const auto a = conv::parse_conv_algo(algo);
        if (!a) continue;
        m.conv_choices[group] = *a;
        if (in >> tile)
            if (const auto t = core::parse_vec3i(tile)) m.fft_tiles[group] = *t;
    }
}

namespace {


/// A state tensor of `p` in the file's element order (kernels as `filters`, biases as they are).
std::vector<float> state_in_file_order(const Parameter& p, const tensor::Tensor<float>& t, const config::NetSpec& spec)
{
    if (!p.is_kernel) return {t.data(), t.data() + t.count()};
    const config::EdgeGroupSpec& e = *spec.edge(p.group);
    return to_file_order(t, spec.node(e.input)->size, spec.node(e.output)->size);
}

/// Dims of `p`'s arrays in the file: (N_in, N_out, s0, s1, s2) or (N).
std::vector<std::int64_t> file_dims(const Parameter& p, const config::NetSpec& spec)
{
    if (!p.is_kernel) return {p.values.count()};
    const config::EdgeGroupSpec& e = *spec.edge(p.group);
    return {spec.node(e.input)->size, spec.node(e.output)->size, e.size.z, e.size.y, e.size.x};
}

/// Values read in file order into a tensor of `p`'s shape.
void state_from_file_order(const Parameter& p, const std::vector<double>& values, const config::NetSpec& spec, tensor::Tensor<float>& t)
{
    if (!p.is_kernel) {
        std::transform(values.begin(), values.end(), t.data(), [](double v) { return static_cast<float>(v); });
        return;
    }
    const config::EdgeGroupSpec& e = *spec.edge(p.group);
    from_file_order(values, spec.node(e.input)->size, spec.node(e.output)->size, t);
}

}  // namespace

void save_network(const std::string& path, const config::NetSpec& spec, const graph::ParameterStore<float>& store,
                  const NetworkFileMeta& meta, Layout layout, const OptimizerState* state, const ExtraWriter& extra)
{
    const std::string prefix = layout == Layout::Stdio ? kStdioPrefix : "/";
    const auto& choices = meta.conv_choices;
    // Built in memory, then written in one piece: a full disk fails in our write, with HDF5 untouched.
    io::AtomicFile atomic(path);
    std::vector<unsigned char> bytes;
    {
        io::Hdf5File file = io::Hdf5File::create_in_memory(path);
        auto param = [&](const std::string& group) -> const Parameter* { return store.find(group); };
        // The optimizer state of `p` under `name`, or nullptr.
        auto state_of = [&](const Parameter& p, const std::string& name) -> const tensor::Tensor<float>* {
            if (!state) return nullptr;
            const auto g = state->find(p.group);
            if (g == state->end()) return nullptr;
            const auto t = g->second.find(name);
            return t == g->second.end() ? nullptr : &t->second;
        };
        auto momentum_of = [&](const Parameter& p) {
            const tensor::Tensor<float>* m = state_of(p, kMomentum);
            return m ? state_in_file_order(p, *m, spec) : std::vector<float>(static_cast<std::size_t>(p.values.count()), 0.0f);
        };
        for (const config::NodeGroupSpec& n : spec.nodes) {
            const std::string g = prefix + n.name;
            write_options(file, g, n.options, n.name, true);
            const std::int64_t size[1] = {n.size};
            file.write_array(g + "/size", core::DType::Int64, {1}, size);
            if (const Parameter* p = param(n.name)) {
                file.write_array(g + "/biases", core::DType::Float32, {n.size}, p->values.data());
                file.write_array(g + "/momentum_vol", core::DType::Float32, {n.size}, momentum_of(*p).data());
            }
        }
        for (const config::EdgeGroupSpec& e : spec.edges) {
            const std::string g = prefix + e.name;
            write_options(file, g, e.options, e.name, false);
            const std::int64_t size[3] = {e.size.z, e.size.y, e.size.x}, stride[3] = {e.stride.z, e.stride.y, e.stride.x};
            file.write_array(g + "/size", core::DType::Int64, {3}, size);
            file.write_array(g + "/stride", core::DType::Int64, {3}, stride);
            if (e.type != EdgeType::Conv) continue;
            const std::int64_t n_in = spec.node(e.input)->size, n_out = spec.node(e.output)->size;
            const Parameter& p = *param(e.name);
            const std::vector<std::int64_t> dims = {n_in, n_out, e.size.z, e.size.y, e.size.x};
            file.write_array(g + "/filters", core::DType::Float32, dims, to_file_order(p.values, n_in, n_out).data());
            file.write_array(g + "/momentum_vol", core::DType::Float32, dims, momentum_of(p).data());
            const auto it = choices.find(e.name);
            file.write_string(g + "/fft", it != choices.end() && it->second == conv::ConvAlgo::Fft ? "1" : "0");
        }
        file.set_attribute("znn_format_version", std::to_string(meta.format_version));
        file.set_attribute("znn_iteration", std::to_string(meta.iteration));
        if (meta.eta) {
            std::ostringstream eta;
            eta.precision(17);
            eta << *meta.eta;
            file.set_attribute("znn_eta", eta.str());
        }
        file.set_attribute("znn_config", meta.config);
        file.set_attribute("znn_net", meta.net);
        file.set_attribute("znn_conv", conv_plan_text(meta));
        file.set_attribute("znn_build", meta.build.empty() ? core::build_info().version_string() : meta.build);
        if (state)
            for (const Parameter& p : store.all()) {
                const auto g = state->find(p.group);
                if (g == state->end()) continue;
                for (const auto& [name, t] : g->second) {
                    if (name == kMomentum) continue;
                    ZNN_CHECK(t.shape() == p.values.shape(), "save_network: state '" + name + "' of " + p.group + " has another shape");
                    file.write_array(std::string(kStatePrefix) + "optimizer/" + p.group + "/" + name, core::DType::Float32,
                                     file_dims(p, spec), state_in_file_order(p, t, spec).data());
                }
            }
        if (extra) extra(file);
        bytes = file.image();
        file.close();
    }
    atomic.write_bytes(bytes);
    atomic.commit();
}

void save_network(const std::string& path, const graph::Network<float>& net, const NetworkFileMeta& meta, Layout layout,
                  const OptimizerState* state, const ExtraWriter& extra)
{
    NetworkFileMeta m = meta;
    if (m.conv_choices.empty()) {
        m.conv_choices = net.conv_choices();
        m.fft_tiles = net.fft_tiles();
    }
    save_network(path, net.spec(), *net.parameter_store(), m, layout, state, extra);
}

namespace {

NetworkFileMeta meta_of(const io::Hdf5File& file)
{
    NetworkFileMeta m;
    m.format_version = 0;
    const auto integer = [&](const char* name, std::int64_t low, std::int64_t high) -> std::optional<std::int64_t> {
        const auto v = file.string_attribute(name);
        if (!v) return std::nullopt;
        const auto n = config::parse_int(*v);
        if (!n || *n < low || *n > high)
            throw core::InputError(std::string("attribute ") + name + ": expected an integer from " + std::to_string(low) + " to " +
                                   std::to_string(high) + ", got '" + config::printable(*v) + "'")
                .at(file.path());
        return n;
    };
    if (auto n = integer("znn_format_version", 0, 1000)) m.format_version = static_cast<int>(*n);
    if (auto n = integer("znn_iteration", 0, INT64_MAX)) m.iteration = *n;
    if (auto v = file.string_attribute("znn_eta")) {
        const auto x = config::parse_real(*v);
        if (!x) throw core::InputError("attribute znn_eta: expected a number, got '" + config::printable(*v) + "'").at(file.path());
        m.eta = *x;
    }
    if (auto v = file.string_attribute("znn_config")) m.config = *v;
    if (auto v = file.string_attribute("znn_net")) m.net = *v;
    if (auto v = file.string_attribute("znn_build")) m.build = *v;
    if (auto v = file.string_attribute("znn_conv")) parse_conv_plan(*v, m);
    return m;
}

}  // namespace

NetworkFileMeta read_network_meta(const std::string& path)
{
    return meta_of(io::Hdf5File::open(path, io::FileMode::Read));
}

LoadReport load_network(const std::string& path, const config::NetSpec& spec, graph::ParameterStore<float>& store, LoadMode mode,
                        OptimizerState* state)
{
    const io::Hdf5File file = io::Hdf5File::open(path, io::FileMode::Read);
    LoadReport report;
    report.meta = meta_of(file);
    report.prefix = file.has_group(kStdioPrefix) ? kStdioPrefix : "/";
    const std::vector<std::string> present = file.list_groups(report.prefix);

    auto read = [&](const std::string& dataset, const std::vector<std::int64_t>& dims, bool required) -> std::optional<std::vector<double>> {
        const auto found = file.array_dims(dataset);  // checked before a value is read
        if (!found) {
            if (required) throw core::InputError("missing dataset").at(path + ":" + dataset);
            return std::nullopt;
        }
        if (*found != dims)
            throw core::InputError("shape " + dims_text(*found) + " does not match the network's " + dims_text(dims) + " (" + spec.file + ")")
                .at(path + ":" + dataset);
        return file.read_array(dataset)->values;
    };
    // The optimizer state of `p`: momentum_vol, then what znn keeps under kStatePrefix.
    auto load_state = [&](Parameter& p, const std::string& group) {
        if (!state) return;
        ParameterState& s = (*state)[p.group];
        s.clear();
        const std::vector<std::int64_t> dims = file_dims(p, spec);
        if (auto m = read(group + "/momentum_vol", dims, false)) {
            tensor::Tensor<float> t(p.values.shape());
            state_from_file_order(p, *m, spec, t);
            s.emplace(kMomentum, std::move(t));
        }
        const std::string extra = std::string(kStatePrefix) + "optimizer/" + p.group;
        if (!file.has_group(extra)) return;
        for (const std::string& name : file.list_members(extra)) {
            tensor::Tensor<float> t(p.values.shape());
            state_from_file_order(p, *read(extra + "/" + name, dims, true), spec, t);
            s.emplace(name, std::move(t));
        }
    };
    for (Parameter& p : store.all()) {
        const std::string group = report.prefix + p.group;
        if (std::find(present.begin(), present.end(), p.group) == present.end()) {
            if (mode == LoadMode::Resume)
                throw core::InputError("no group '" + p.group + "' (the network file does not match " + spec.file + ")").at(path + ":" + group);
            report.missing.push_back(p.group);
            continue;
        }
        if (mode == LoadMode::Seed && !p.seeding) {
            report.skipped.push_back(p.group);
            continue;
        }
        if (p.is_kernel) {
            const config::EdgeGroupSpec& e = *spec.edge(p.group);
            const std::int64_t n_in = spec.node(e.input)->size, n_out = spec.node(e.output)->size;
            const std::vector<std::int64_t> dims = {n_in, n_out, e.size.z, e.size.y, e.size.x};
            from_file_order(*read(group + "/filters", dims, true), n_in, n_out, p.values);
        } else {
            const std::vector<std::int64_t> dims = {p.values.count()};
            const auto b = read(group + "/biases", dims, true);
            std::transform(b->begin(), b->end(), p.values.data(), [](double v) { return static_cast<float>(v); });
        }
        load_state(p, group);
        for (std::int64_t i = 0; i < p.values.count(); ++i)
            if (!std::isfinite(p.values.data()[i]))
                throw core::InputError("holds NaN or infinite values").at(path + ":" + group + (p.is_kernel ? "/filters" : "/biases"));
        graph::ParameterStore<float>::changed(p);
        report.loaded.push_back(p.group);
    }
    for (const std::string& g : present) {
        const bool known = spec.node(g) || spec.edge(g);
        if (!known && g != "processing") report.unused.push_back(g);
    }
    return report;
}

LoadReport load_network(const std::string& path, graph::Network<float>& net, LoadMode mode, OptimizerState* state)
{
    return load_network(path, net.spec(), *net.parameter_store(), mode, state);
}

}  // namespace znn::model
