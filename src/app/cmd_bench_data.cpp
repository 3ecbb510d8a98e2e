// znn bench data: times the making of training patches (sampling, cutting, targets, augmentation).

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "commands.hpp"
#include "znn/config/job_files.hpp"
#include "znn/core/error.hpp"
#include "znn/data/batch_loader.hpp"
#include "znn/data/synth.hpp"

namespace znn::app {

using core::Vec3i;

int bench_data(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"bench data", "--in z,y,x --out z,y,x [options]",
                    "Times the data path of one training patch: drawing its position, cutting it from a loaded\n"
                    "sample, augmenting it and computing its targets, masks and rebalance weights. The sample is a\n"
                    "synthetic volume (znn synth) in a temporary directory, standard2D-preprocessed and masked.\n"
                    "Prints one JSON line: mean, median, fastest and slowest time per patch (the mean counts: the\nrandom augmentations make some patches slower).",
                    po::options_description("Options"), {}};
    cli.options.add_options()
        ("in", po::value<std::string>()->required(), "input patch z,y,x")
        ("out", po::value<std::string>()->required(), "output patch z,y,x")
        ("out-type", po::value<std::string>()->default_value("boundary"), "boundary or affinity")
        ("aug", po::value<std::string>()->default_value("all"), "none, original (flips, transpose) or all (every augmentation)")
        ("rebalance", po::value<std::string>()->default_value("patch"), "none, global or patch")
        ("volume", po::value<std::string>()->default_value("0,0,0"), "synthetic volume z,y,x (default: twice the input patch)")
        ("iters", po::value<int>()->default_value(200), "timed patches (after 5 untimed)");
    add_common_options(cli.options);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const Vec3i in = parse_vec3_option("in", (*vm)["in"].as<std::string>());
    const Vec3i out = parse_vec3_option("out", (*vm)["out"].as<std::string>());
    if (!all_le(out, in)) usage_error("out", "the output patch must not be larger than the input patch");
    const std::string out_type = (*vm)["out-type"].as<std::string>(), aug = (*vm)["aug"].as<std::string>(),
                      rebalance = (*vm)["rebalance"].as<std::string>();
    if (out_type != "boundary" && out_type != "affinity") usage_error("out-type", "boundary or affinity, got '" + out_type + "'");
    if (aug != "none" && aug != "original" && aug != "all") usage_error("aug", "none, original or all, got '" + aug + "'");
    if (rebalance != "none" && rebalance != "global" && rebalance != "patch") usage_error("rebalance", "none, global or patch");
    Vec3i volume = parse_vec3_option("volume", (*vm)["volume"].as<std::string>(), true);
    if (volume.min_component() == 0) volume = in * 2;
    const int iters = (*vm)["iters"].as<int>();
    if (iters < 1) usage_error("iters", "must be positive");

    // The job: a synthetic dataset and a .cfg naming it, as a user would write them.
    const std::string dir = (std::filesystem::temp_directory_path() / ("znn-bench-data-" + std::to_string(::getpid()))).string();
    struct Cleanup {
        std::string dir;
        ~Cleanup()
        {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    } cleanup{dir};
    data::SynthParams synth;
    synth.shape = volume;
    const data::SynthDataset written = data::write_synthetic_dataset(dir, synth, 1, true);
    std::vector<std::string> overrides = {"fnet_spec=none.znn", "fdata_spec=" + written.spec, "out_type=" + out_type,
                                          "rebalance_mode=" + rebalance, "is_bd_mirror=yes"};
    if (aug != "none") overrides.emplace_back("is_data_aug=yes");
    if (aug == "all")
        for (const char* o : {"aug_rot90=yes", "aug_grayscale=0.5", "aug_missing_section=0.1", "aug_misalign=0.2", "aug_blur=0.1"})
            overrides.emplace_back(o);
    {
        std::ofstream(dir + "/job.cfg") << "[parameters]\n";
    }
    const config::JobFiles job = config::JobFiles::load(dir + "/job.cfg", overrides);
    data::PatchGeometry geometry;
    geometry.inputs["input"] = in;
    geometry.outputs["output"] = out;
    config::Diagnostics d;
    const auto sample = job.samples.resolve(1, {"input"}, {"output"}, true, d);
    d.throw_if_errors();
    const dist::Comm serial = dist::Comm::serial();
    std::vector<data::SampleData> samples;
    samples.push_back(data::SampleData::load(*sample, data::SampleOptions::from_job(job.config, geometry), serial));
    const data::PatchSource source(std::move(samples), job.config.augment, aug != "none");

    std::vector<double> seconds;
    for (int i = -5; i < iters; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const auto batch = data::BatchLoader::make_batch(source, {}, i + 5);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (i >= 0) seconds.push_back(s);
    }
    double mean = 0;
    for (double s : seconds) mean += s / static_cast<double>(seconds.size());
    std::sort(seconds.begin(), seconds.end());
    std::ostringstream os;
    os.precision(6);
    os << "{\"bench\":\"data\",\"in\":[" << in.z << "," << in.y << "," << in.x << "],\"out\":[" << out.z << "," << out.y << "," << out.x
       << "],\"out_type\":\"" << out_type << "\",\"aug\":\"" << aug << "\",\"rebalance\":\"" << rebalance << "\",\"iters\":" << iters
       << ",\"mean_s\":" << mean << ",\"median_s\":" << seconds[seconds.size() / 2] << ",\"min_s\":" << seconds.front() << ",\"max_s\":" << seconds.back() << "}";
    if (context.comm.is_root()) std::cout << os.str() << std::endl;
    return 0;
}

}  // namespace znn::app
