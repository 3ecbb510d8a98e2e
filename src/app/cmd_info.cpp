// znn info: what a network is at a patch size: field of view, shapes, parameters, FLOPs, memory.

#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/dist/agree.hpp"
#include "znn/graph/shapes.hpp"
#include "znn/io/atomic_file.hpp"

namespace znn::app {
namespace {

std::string human(double v, const char* unit)
{
    const char* prefixes[] = {"", " k", " M", " G", " T"};
    int p = 0;
    while (v >= 1000 && p < 4) {
        v /= 1000;
        ++p;
    }
    std::ostringstream os;
    os << std::fixed << std::setprecision(v >= 100 || p == 0 ? 0 : (v >= 10 ? 1 : 2)) << v << prefixes[p] << unit;
    return os.str();
}

std::string report(const config::NetSpec& net, const graph::NetShapes& s)
{
    std::ostringstream os;
    os << "network     " << net.file << "\n";
    for (const auto& [name, size] : s.input_sizes())
        os << "input       " << name << ": " << s.node(name).maps << " x " << core::to_string(size) << "  (field of view "
           << core::to_string(s.fov().count(name) ? s.fov().at(name) : size) << ")\n";
    for (const auto& [name, size] : s.output_sizes()) os << "output      " << name << ": " << s.node(name).maps << " x " << core::to_string(size) << "\n";
    os << "parameters  " << s.parameters() << "\n";
    os << "FLOPs       forward " << human(s.forward_flops(), "FLOP") << ", backward " << human(s.backward_flops(), "FLOP")
       << " per patch (convolutions, direct-equivalent)\n";
    os << "memory      " << human(double(s.memory_bytes()), "B") << " (values, gradients, indices, parameters; engine workspaces extra)\n\n";
    os << std::left << std::setw(14) << "node group" << std::setw(10) << "type" << std::setw(8) << "maps" << std::setw(16) << "size"
       << "sparsity\n";
    for (const graph::NodeShape& n : s.nodes())
        os << std::setw(14) << n.name << std::setw(10) << config::to_string(n.type) << std::setw(8) << n.maps << std::setw(16)
           << core::to_string(n.size) << core::to_string(n.sparsity) << "\n";
    os << "\n" << std::setw(14) << "edge group" << std::setw(12) << "type" << std::setw(26) << "from -> to" << std::setw(10) << "window"
       << std::setw(10) << "dilation" << std::setw(12) << "parameters" << "forward FLOP\n";
    for (const graph::EdgeShape& e : s.edges()) {
        const bool windowed = e.type == config::EdgeType::Conv || e.type == config::EdgeType::MaxFilter || e.type == config::EdgeType::MaxPool;
        os << std::setw(14) << e.name << std::setw(12) << config::to_string(e.type) << std::setw(26) << (e.input + " -> " + e.output)
           << std::setw(10) << (windowed ? core::to_string(e.window) : "-") << std::setw(10) << core::to_string(e.dilation) << std::setw(12)
           << e.parameters << (e.forward_flops > 0 ? human(e.forward_flops, "") : "-") << "\n";
    }
    return os.str();
}

}  // namespace

int run_info(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"info",
                    "NET.znn --outsz z,y,x [--dot FILE]",
                    "Reads a network (.znn) and prints what it is for an output patch: the field of view, the input\n"
                    "and output patch sizes, every node group (maps, size, sparsity) and edge group (window,\n"
                    "dilation, parameters, FLOPs), the parameter count, the FLOPs of a forward and a backward pass\n"
                    "and a memory estimate. Every problem of the file is reported at once, with file:line.",
                    po::options_description("Options"),
                    {}};
    cli.options.add_options()("net", po::value<std::string>()->required(), "the network (.znn, positional)")(
        "outsz", po::value<std::string>()->default_value("1,1,1"), "output patch z,y,x")(
        "dot", po::value<std::string>(), "also write a Graphviz description to FILE")(
        "overwrite", po::bool_switch(), "replace the --dot file if it exists");
    add_common_options(cli.options);
    cli.positional.add("net", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);
    const core::Vec3i outsz = parse_vec3_option("outsz", (*vm)["outsz"].as<std::string>());
    const std::string path = (*vm)["net"].as<std::string>();
    if (vm->count("dot")) check_output_file("dot", (*vm)["dot"].as<std::string>(), (*vm)["overwrite"].as<bool>());

    dist::root_decides(context.comm, [&] {
        config::Diagnostics d;
        const config::NetSpec net = config::NetSpec::read(path, d);
        std::optional<graph::NetShapes> shapes;
        if (!d.has_errors()) shapes = graph::NetShapes::from_output(net, outsz, d);
        for (const auto& w : d.warnings()) log->warn(w.where, ": ", w.message);
        d.throw_if_errors();
        std::cout << report(net, *shapes) << std::flush;
        if (vm->count("dot")) {
            const std::string dot = (*vm)["dot"].as<std::string>();
            io::AtomicFile file(dot);
            {
                std::ofstream f(file.temp_path());
                f << graph::to_dot(net, *shapes);
                if (!f.flush()) throw core::IoError("cannot write the Graphviz file").at(dot);
            }
            file.commit();
            log->info("wrote ", dot);
        }
    });
    return 0;
}

}  // namespace znn::app
