// znn synth: a synthetic EM-like dataset (HDF5 + TIFF + .spec) for demos, tests and benchmarks.

#include "commands.hpp"
#include "znn/core/error.hpp"
#include "znn/data/synth.hpp"
#include "znn/dist/agree.hpp"

namespace znn::app {

int run_synth(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"synth",
                    "--out DIR [--shape z,y,x] [--seed N]",
                    "Writes a synthetic EM-like dataset to DIR: cells of random shape separated by dark\n"
                    "membranes, blurred anisotropically and noisy, with instance labels (0 on membranes) and a\n"
                    "mask. A training volume goes to train.h5 (CREMI layout: /volumes/raw,\n"
                    "/volumes/labels/neuron_ids, /volumes/labels/mask) and train-{raw,labels,mask}.tif, a test\n"
                    "volume to test.h5 and test-*.tif, and synth.spec binds them to the network nodes 'input' and\n"
                    "'output' (sample 1: training, sample 2: test). The data depend only on the seed and shape.",
                    po::options_description("Options"),
                    {}};
    cli.options.add_options()("out", po::value<std::string>()->required(), "output directory (created if missing)")(
        "shape", po::value<std::string>()->default_value("20,160,160"), "z,y,x size of each volume")(
        "seed", po::value<std::uint64_t>()->default_value(1), "random seed")(
        "anisotropy", po::value<double>()->default_value(3.0), "section thickness over pixel width")(
        "noise", po::value<double>()->default_value(0.06), "noise standard deviation (intensities span 0..1)")(
        "overwrite", po::bool_switch(), "replace existing files");
    add_common_options(cli.options);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);

    data::SynthParams params;
    params.shape = parse_vec3_option("shape", (*vm)["shape"].as<std::string>());
    params.anisotropy = (*vm)["anisotropy"].as<double>();
    params.noise = (*vm)["noise"].as<double>();
    if (!(params.anisotropy >= 0.1 && params.anisotropy <= 100)) usage_error("anisotropy", "must be in [0.1, 100]");
    if (!(params.noise >= 0 && params.noise <= 1)) usage_error("noise", "must be in [0, 1]");
    const std::string dir = (*vm)["out"].as<std::string>();
    const std::uint64_t seed = (*vm)["seed"].as<std::uint64_t>();
    const bool overwrite = (*vm)["overwrite"].as<bool>();

    dist::root_decides(context.comm, [&] {
        const data::SynthDataset written = data::write_synthetic_dataset(dir, params, seed, overwrite);
        log->info("wrote ", written.files.size(), " files to ", dir, " (volumes ", core::to_string(params.shape), ", seed ", seed,
                  "); sample spec: ", written.spec);
    });
    return 0;
}

}  // namespace znn::app
