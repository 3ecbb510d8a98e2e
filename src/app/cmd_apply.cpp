// znn apply: one dense forward pass of a trained network over a whole volume held in memory
// (infer::apply); this file only reads the command line and reports.

#include "commands.hpp"
#include "znn/config/sample_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/dist/agree.hpp"
#include "znn/infer/apply.hpp"
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
        "preprocess", po::value<std::string>()->default_value("none"),
        "none, standard2D, standard3D or symetric_rescale")(
        "softmax", po::bool_switch(),
        "apply a softmax over the output channels (boundary nets trained with softmax_loss)")(
        "conv", po::value<std::string>()->default_value("auto"),
        "fft, direct, or auto (the network file's choices when it has them, else timed per layer)")(
        "threads", po::value<int>()->default_value(0), "threads (0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the affinity mask)")("overwrite", po::bool_switch(),
                                                                                     "replace OUT");
    add_common_options(cli.options);
    cli.positional.add("net", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);
    const std::string conv_name = (*vm)["conv"].as<std::string>();
    const auto pp = parse_pp((*vm)["preprocess"].as<std::string>());
    if (!pp) usage_error("preprocess", "none, standard2D, standard3D or symetric_rescale");

    infer::ApplyRequest request;
    request.net = (*vm)["net"].as<std::string>();
    request.weights = (*vm)["weights"].as<std::string>();
    request.input = (*vm)["input"].as<std::string>();
    request.output = (*vm)["output"].as<std::string>();
    request.preprocess = *pp;
    request.softmax = (*vm)["softmax"].as<bool>();
    request.overwrite = (*vm)["overwrite"].as<bool>();
    request.stored_plan = conv_name == "auto";

    dist::root_decides(context.comm, [&] {
        request.options = network_options(conv_name, config::NetSpec::load(request.net));
        sched::ThreadPool pool(thread_count(*vm, 0, *log));
        const infer::ApplyResult r = infer::apply(request, pool, context.engines, log.get());
        log->info("applied ", request.net, " (", r.groups_loaded, " groups from ", request.weights,
                  r.from_original ? ", written by the original ZNN" : "",
                  r.used_stored_plan ? ", its convolution plan" : "", ") to ", r.input, " ",
                  core::to_string(r.input_size), " -> ", r.output, " ", core::to_string(r.output_size), " in ",
                  r.seconds, " s");
    });
    return 0;
}

}  // namespace znn::app
