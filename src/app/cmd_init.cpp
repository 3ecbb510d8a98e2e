// znn init: a freshly initialised network file, from a .znn and a seed.

#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/core/memory.hpp"
#include "znn/dist/agree.hpp"
#include "znn/graph/network.hpp"
#include "znn/model/network_file.hpp"
#include "znn/sched/thread_pool.hpp"

namespace znn::app {

int run_init(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"init",
                    "NET.znn --out NET.h5 [--seed N] [--stdio]",
                    "Writes a network file with every parameter drawn from its initialiser (the .znn's init and\n"
                    "init_args), reproducibly from the seed: each group from its own stream, keyed by its name.\n"
                    "The file has the original ZNN's layout (--stdio: under /processing/znn/train/network/).",
                    po::options_description("Options"),
                    {}};
    cli.options.add_options()("net", po::value<std::string>()->required(), "the network (.znn, positional)")(
        "out", po::value<std::string>()->required(), "the network file to write (.h5)")(
        "seed", po::value<std::uint64_t>()->default_value(1), "random seed")("stdio", po::bool_switch(),
                                                                              "the original's standard IO layout")(
        "overwrite", po::bool_switch(), "replace the file if it exists");
    add_common_options(cli.options);
    cli.positional.add("net", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);
    dist::root_decides(context.comm, [&] {
        const config::NetSpec spec = config::NetSpec::load((*vm)["net"].as<std::string>());
        const std::string out = (*vm)["out"].as<std::string>();
        if (!(*vm)["overwrite"].as<bool>() && std::filesystem::exists(out))
            throw core::InputError("file exists; choose another name, or replace it with --overwrite").at(out);
        // The parameters do not depend on the patch size: build at the smallest output.
        const graph::NetShapes shapes = graph::NetShapes::for_output(spec, {1, 1, 1});
        sched::ThreadPool pool(1);
        const graph::NetworkOptions options = network_options("direct", spec);
        try {
            core::require_memory(double(shapes.parameters()) * 4.0 * 3.0, "the parameters of " + spec.file);
        } catch (core::InputError& e) {
            e.at(spec.file);
            throw;
        }
        graph::Network<float> net(spec, shapes, options, {pool, context.engines});
        net.initialize((*vm)["seed"].as<std::uint64_t>());
        model::NetworkFileMeta meta;
        std::ifstream text(spec.file);
        meta.net.assign(std::istreambuf_iterator<char>(text), {});
        save_network(out, net, meta, (*vm)["stdio"].as<bool>() ? model::Layout::Stdio : model::Layout::Root);
        log->info("wrote ", out, ": ", shapes.parameters(), " parameters of ", spec.file, ", seed ", (*vm)["seed"].as<std::uint64_t>());
    });
    return 0;
}

}  // namespace znn::app
