// znn apply: one dense forward pass of a trained network over a whole volume held in memory.

#include <cmath>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/config/sample_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/data/preprocess.hpp"
#include "znn/dist/agree.hpp"
#include "znn/fft/plan_cache.hpp"
#include "znn/graph/network.hpp"
#include "znn/graph/transfer.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/volume_io.hpp"
#include "znn/model/network_file.hpp"
#include "znn/sched/thread_pool.hpp"

namespace znn::app {
namespace {

std::optional<config::Preprocess> parse_pp(const std::string& s)
{
    if (s == "none") return config::Preprocess::None;
    if (s == "standard2D") return config::Preprocess::Standard2D;
    if (s == "standard3D") return config::Preprocess::Standard3D;
    if (s == "symetric_rescale" || s == "symmetric_rescale") return config::Preprocess::SymmetricRescale;
    return std::nullopt;
}

}  // namespace

int run_apply(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"apply",
                    "NET.znn --weights NET.h5 --input IN.h5[:/dataset] --output OUT.h5 [options]",
                    "Runs one dense forward pass (TEST phase) of a network over a whole input volume held in\n"
                    "memory and writes the output, of size input - field of view + 1, as OUT.h5:/main (C, Z, Y, X),\n"
                    "float32. The weights may come from znn or from the original ZNN. For volumes larger than\n"
                    "memory, use the inference job.",
                    po::options_description("Options"),
                    {}};
    cli.options.add_options()("net", po::value<std::string>()->required(), "the network (.znn, positional)")(
        "weights", po::value<std::string>()->required(), "the network file (.h5)")(
        "input", po::value<std::string>()->required(), "the input volume (file.h5[:/dataset] or a TIFF stack)")(
        "output", po::value<std::string>()->required(), "the output volume (file.h5[:/dataset])")(
        "preprocess", po::value<std::string>()->default_value("none"), "none, standard2D, standard3D or symetric_rescale")(
        "softmax", po::bool_switch(), "apply a softmax over the output channels (boundary nets trained with softmax_loss)")(
        "conv", po::value<std::string>()->default_value("auto"), "fft, direct, or auto (the file's choices when it has them)")(
        "threads", po::value<int>()->default_value(0), "threads (0: all available)")("overwrite", po::bool_switch(), "replace OUT");
    add_common_options(cli.options);
    cli.positional.add("net", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);
    const std::string conv_name = (*vm)["conv"].as<std::string>();
    const auto pp = parse_pp((*vm)["preprocess"].as<std::string>());
    if (!pp) usage_error("preprocess", "none, standard2D, standard3D or symetric_rescale");

    dist::root_decides(context.comm, [&] {
        const config::NetSpec spec = config::NetSpec::load((*vm)["net"].as<std::string>());
        const auto inputs = spec.input_nodes();
        if (inputs.size() != 1) throw core::InputError("znn apply runs networks of one input node; this one has " + std::to_string(inputs.size())).at(spec.file);
        const io::VolumeUri in_uri = io::VolumeUri::parse((*vm)["input"].as<std::string>());
        const io::VolumeUri out_uri = io::VolumeUri::parse((*vm)["output"].as<std::string>());
        io::VolumeWriteOptions write_options;
        write_options.overwrite = (*vm)["overwrite"].as<bool>();
        if (!write_options.overwrite && std::filesystem::exists(out_uri.path))
            throw core::InputError("file exists; choose another name or use --overwrite").at(out_uri.path);
        io::check_writable_location(out_uri.path);

        tensor::Tensor<float> volume = io::read_volume(in_uri).to<float>();
        const std::int64_t maps = spec.node(inputs[0])->size;
        if (volume.channels() != maps)
            throw core::InputError("has " + std::to_string(volume.channels()) + " channels; the input node '" + inputs[0] + "' takes " +
                                   std::to_string(maps))
                .at(in_uri.str());
        if (*pp != config::Preprocess::None) {
            data::VolumeStatistics stats(volume.channels(), volume.size().z);
            stats.add_sections(volume.cview(), 0);
            std::vector<std::int64_t> z(static_cast<std::size_t>(volume.size().z));
            for (std::size_t i = 0; i < z.size(); ++i) z[i] = static_cast<std::int64_t>(i);
            data::preprocess(volume.view(), *pp, stats, 0, z);
        }
        config::Diagnostics d;
        const auto shapes = graph::NetShapes::from_input(spec, {{inputs[0], volume.size()}}, d);
        d.throw_if_errors();

        const std::string weights = (*vm)["weights"].as<std::string>();
        const model::NetworkFileMeta meta = model::read_network_meta(weights);
        graph::NetworkOptions options = network_options(conv_name, spec);
        options.usage = conv::Usage::Inference;
        sched::ThreadPool pool((*vm)["threads"].as<int>());
        fft::PlanCache plans;
        graph::Network<float> net(spec, *shapes, options, {pool, plans, nullptr, log.get()});
        const model::LoadReport loaded = model::load_network(weights, net, model::LoadMode::Resume);
        net.set_phase(graph::Phase::Test);
        tensor::copy(volume.cview(), net.input(inputs[0]));
        const auto start = std::chrono::steady_clock::now();
        net.forward();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto outputs = shapes->output_sizes();
        if (outputs.size() != 1) throw core::InputError("znn apply writes networks of one output node").at(spec.file);
        tensor::Tensor<float> out(net.output(outputs.begin()->first).shape());
        tensor::copy(net.output(outputs.begin()->first), out.view());
        if ((*vm)["softmax"].as<bool>()) graph::softmax_channels(out.view());
        io::write_volume(out_uri, tensor::AnyTensor(std::move(out), 4), write_options);
        log->info("applied ", spec.file, " (", loaded.loaded.size(), " groups from ", weights,
                  loaded.meta.format_version == 0 ? ", written by the original ZNN" : "", ") to ", in_uri.str(), " ",
                  core::to_string(volume.size()), " -> ", out_uri.str(), " ", core::to_string(outputs.begin()->second), " in ", seconds, " s");
    });
    return 0;
}

}  // namespace znn::app
