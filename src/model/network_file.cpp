#include "znn/model/network_file.hpp"

#include <sstream>

#include "znn/core/build_info.hpp"
#include "znn/core/error.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/hdf5.hpp"

namespace znn::model {
namespace {

using config::EdgeType;
using config::NodeType;
using Parameter = graph::Network<float>::Parameter;

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

std::string conv_text(const std::map<std::string, conv::ConvAlgo>& choices)
{
    std::string t;
    for (const auto& [group, algo] : choices) t += group + " " + std::string(conv::to_string(algo)) + "\n";
    return t;
}

std::map<std::string, conv::ConvAlgo> parse_conv_text(const std::string& text)
{
    std::map<std::string, conv::ConvAlgo> out;
    std::istringstream in(text);
    std::string group, algo;
    while (in >> group >> algo)
        if (const auto a = conv::parse_conv_algo(algo)) out[group] = *a;
    return out;
}

}  // namespace

void save_network(const std::string& path, const graph::Network<float>& net, const NetworkFileMeta& meta, bool stdio_layout)
{
    const config::NetSpec& spec = net.spec();
    const std::string prefix = stdio_layout ? kStdioPrefix : "/";
    const auto choices = net.conv_choices();
    io::AtomicFile atomic(path);
    {
        io::Hdf5File file = io::Hdf5File::create(atomic.temp_path());
        const auto& params = net.parameters();
        auto param = [&](const std::string& group) -> const Parameter* {
            for (const Parameter& p : params)
                if (p.group == group) return &p;
            return nullptr;
        };
        for (const config::NodeGroupSpec& n : spec.nodes) {
            const std::string g = prefix + n.name;
            write_options(file, g, n.options, n.name, true);
            const std::int64_t size[1] = {n.size};
            file.write_array(g + "/size", core::DType::Int64, {1}, size);
            if (const Parameter* p = param(n.name)) {
                file.write_array(g + "/biases", core::DType::Float32, {n.size}, p->values.data());
                file.write_array(g + "/momentum_vol", core::DType::Float32, {n.size}, p->momentum.data());
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
            file.write_array(g + "/momentum_vol", core::DType::Float32, dims, to_file_order(p.momentum, n_in, n_out).data());
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
        file.set_attribute("znn_conv", conv_text(meta.conv_choices.empty() ? choices : meta.conv_choices));
        file.set_attribute("znn_build", meta.build.empty() ? core::build_info().version_string() : meta.build);
        file.close();
    }
    atomic.commit();
}

namespace {

NetworkFileMeta meta_of(const io::Hdf5File& file)
{
    NetworkFileMeta m;
    m.format_version = 0;
    if (auto v = file.string_attribute("znn_format_version")) m.format_version = std::stoi(*v);
    if (auto v = file.string_attribute("znn_iteration")) m.iteration = std::stoll(*v);
    if (auto v = file.string_attribute("znn_eta")) m.eta = std::stod(*v);
    if (auto v = file.string_attribute("znn_config")) m.config = *v;
    if (auto v = file.string_attribute("znn_net")) m.net = *v;
    if (auto v = file.string_attribute("znn_build")) m.build = *v;
    if (auto v = file.string_attribute("znn_conv")) m.conv_choices = parse_conv_text(*v);
    return m;
}

}  // namespace

NetworkFileMeta read_network_meta(const std::string& path)
{
    return meta_of(io::Hdf5File::open(path, io::FileMode::Read));
}

LoadReport load_network(const std::string& path, graph::Network<float>& net, LoadMode mode)
{
    const io::Hdf5File file = io::Hdf5File::open(path, io::FileMode::Read);
    LoadReport report;
    report.meta = meta_of(file);
    report.prefix = file.has_group(kStdioPrefix) ? kStdioPrefix : "/";
    const std::vector<std::string> present = file.list_groups(report.prefix);
    const config::NetSpec& spec = net.spec();

    auto read = [&](const std::string& dataset, const std::vector<std::int64_t>& dims, bool required) -> std::optional<std::vector<double>> {
        const auto a = file.read_array(dataset);
        if (!a) {
            if (required) throw core::InputError("missing dataset").at(path + ":" + dataset);
            return std::nullopt;
        }
        if (a->dims != dims)
            throw core::InputError("shape " + dims_text(a->dims) + " does not match the network's " + dims_text(dims) + " (" + spec.file + ")")
                .at(path + ":" + dataset);
        return a->values;
    };
    for (Parameter& p : net.parameters()) {
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
            if (auto m = read(group + "/momentum_vol", dims, false)) from_file_order(*m, n_in, n_out, p.momentum);
            else tensor::fill(p.momentum.view(), 0.0f);
        } else {
            const std::vector<std::int64_t> dims = {p.values.count()};
            const auto b = read(group + "/biases", dims, true);
            std::transform(b->begin(), b->end(), p.values.data(), [](double v) { return static_cast<float>(v); });
            if (auto m = read(group + "/momentum_vol", dims, false))
                std::transform(m->begin(), m->end(), p.momentum.data(), [](double v) { return static_cast<float>(v); });
            else
                tensor::fill(p.momentum.view(), 0.0f);
        }
        for (std::int64_t i = 0; i < p.values.count(); ++i)
            if (!std::isfinite(p.values.data()[i]))
                throw core::InputError("holds NaN or infinite values").at(path + ":" + group + (p.is_kernel ? "/filters" : "/biases"));
        net.touch(p);
        report.loaded.push_back(p.group);
    }
    for (const std::string& g : present) {
        const bool known = spec.node(g) || spec.edge(g);
        if (!known && g != "processing") report.unused.push_back(g);
    }
    return report;
}

}  // namespace znn::model
