// znn eval: scores of segmentations against ground truth (eval::evaluate); this file only reads the
// command line and reports.

#include <cmath>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "znn/config/job_files.hpp"
#include "znn/config/values.hpp"
#include "znn/dist/agree.hpp"
#include "znn/eval/evaluate.hpp"

namespace znn::app {

namespace {

std::vector<std::string> split_list(const std::string& text)
{
    std::vector<std::string> items;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) items.push_back(item);
    return items;
}

eval::EvalOptions options_of(const po::variables_map& vm)
{
    eval::EvalOptions o;
    if (vm.count("mode")) {
        const std::string m = vm["mode"].as<std::string>();
        o.kind = eval::parse_map_kind(m);
        if (!o.kind) usage_error("mode", "labels, interior, membrane or affinity, got '" + m + "'");
    }
    o.channel = vm["channel"].as<std::int64_t>();
    if (vm.count("threshold")) {
        o.thresholds.clear();
        for (const std::string& t : split_list(vm["threshold"].as<std::string>())) {
            char* end = nullptr;
            const double v = std::strtod(t.c_str(), &end);
            if (end == t.c_str() || *end != '\0' || !std::isfinite(v))
                usage_error("threshold", "a number or a list of numbers (0.3,0.5,0.7), got '" + t + "'");
            o.thresholds.push_back(v);
        }
        if (o.thresholds.empty()) usage_error("threshold", "give at least one threshold");
    }
    if (vm.count("ignore")) {
        o.ignore.clear();
        const std::string text = vm["ignore"].as<std::string>();
        if (text != "none")
            for (const std::string& t : split_list(text)) {
                char* end = nullptr;
                const unsigned long long v = std::strtoull(t.c_str(), &end, 10);
                if (end == t.c_str() || *end != '\0' || t[0] == '-')
                    usage_error("ignore", "labels (0 or 0,4294967295) or 'none', got '" + t + "'");
                o.ignore.push_back(v);
            }
    }
    o.planar = vm["2d"].as<bool>();
    if (vm.count("offset")) o.offset = parse_vec3_option("offset", vm["offset"].as<std::string>(), true);
    const double mib = vm["stack-memory"].as<double>();
    if (!(mib > 0) || mib > 1e7) usage_error("stack-memory", "MiB, more than 0");
    o.stack_bytes = static_cast<std::int64_t>(mib * 1048576.0);
    return o;
}

std::string fixed(double v, int digits = 4)
{
    if (!std::isfinite(v)) return "n/a";
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(digits);
    os << v;
    return os.str();
}

}  // namespace

int run_eval(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"eval",
                    "--seg SEG[:/dataset] --gt GT[:/dataset] [--mask MASK] [options]\n"
                    "       znn eval -c JOB.cfg [-r RANGE] [--set key=value ...] [options]",
                    "Scores a segmentation against ground truth: adapted Rand error (SNEMI3D, in skimage's pair-count\n"
                    "and in CREMI's convention) with its precision and recall, and the variation of information\n"
                    "split (false splits, H(seg|gt)) and merge (false merges, H(gt|seg)), in bits. Ground-truth\n"
                    "label 0 is not scored. A boundary or affinity map (a znn forward output) becomes a\n"
                    "segmentation by thresholded connected components, one per --threshold. With -c, every sample\n"
                    "of forward_range: its znn forward output against its label (and mask). Volumes of any size;\n"
                    "under mpirun the ranks share the sections. One JSON line per result on stdout.",
                    po::options_description("Options"),
                    {}};
    cli.options.add_options()("seg", po::value<std::string>(), "the segmentation or map (file.h5[:/dataset] or .tif)")(
        "gt", po::value<std::string>(), "the ground-truth labels")(
        "mask", po::value<std::string>(), "voxels where the mask is 0 are not scored (the ground truth's shape)")(
        "config,c", po::value<std::string>(), "a job (.cfg): score its znn forward outputs")(
        "range,r", po::value<std::string>(), "with -c: sample ids, instead of forward_range (e.g. 1-3,5)")(
        "set", po::value<std::vector<std::string>>()->composing(), "with -c: override an option (key=value)")(
        "mode", po::value<std::string>(),
        "labels | interior (value > threshold is inside a cell) | membrane (value < threshold is inside) | "
        "affinity (x, y, z; edges > threshold join). Default: labels for integer volumes, affinity for 3 "
        "channels, interior for 1 or 2")(
        "channel", po::value<std::int64_t>()->default_value(0), "interior, membrane: the channel of the map")(
        "threshold", po::value<std::string>(), "maps: one or more thresholds, e.g. 0.3,0.5,0.7 (default 0.5)")(
        "ignore", po::value<std::string>(), "ground-truth labels not scored (default 0; 'none')")(
        "2d", po::bool_switch(), "maps: connected components within each section only")(
        "offset", po::value<std::string>(),
        "z,y,x: where segmentation voxel 0 lies in the ground truth (default: a znn forward output's "
        "znn_voxel_offset, else voxel by voxel for equal shapes, else centre on centre)")(
        "stack-memory", po::value<double>()->default_value(64),
        "MiB: sections are read and segmented in stacks of about this much memory per rank");
    add_common_options(cli.options);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);
    const eval::EvalOptions options = options_of(*vm);
    const bool job_mode = vm->count("config") > 0;
    if (job_mode && (vm->count("seg") || vm->count("gt") || vm->count("mask")))
        usage_error("config", "give either -c JOB.cfg or --seg and --gt, not both");
    if (!job_mode && (vm->count("range") || vm->count("set")))
        usage_error(vm->count("range") ? "range" : "set", "only with -c JOB.cfg");
    if (!job_mode && (!vm->count("seg") || !vm->count("gt")))
        usage_error(vm->count("seg") ? "gt" : "seg", "give --seg SEG and --gt GT, or -c JOB.cfg");

    std::vector<eval::EvalTask> tasks;
    const auto plan = [&] {
        if (!job_mode) {
            const std::optional<std::string> mask =
                vm->count("mask") ? std::optional((*vm)["mask"].as<std::string>()) : std::nullopt;
            return std::vector<eval::EvalTask>{
                eval::plan_task((*vm)["seg"].as<std::string>(), (*vm)["gt"].as<std::string>(), mask, options)};
        }
        const std::vector<std::string> overrides =
            vm->count("set") ? (*vm)["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
        const config::JobFiles job = config::JobFiles::load((*vm)["config"].as<std::string>(), overrides);
        std::set<std::int64_t> range = job.config.forward_range;
        if (vm->count("range")) {
            std::string why;
            const auto ids = config::parse_id_ranges((*vm)["range"].as<std::string>(), &why);
            if (!ids) usage_error("range", why);
            range = *ids;
        }
        return eval::plan_job(job, range, options);
    };
    dist::root_decides(context.comm, [&] { plan(); });
    tasks = plan();

    for (const eval::EvalTask& t : tasks) {
        log->info(t.name, ": ", t.seg.str(), " (", eval::to_string(t.how.kind),
                  t.how.kind == eval::MapKind::Interior || t.how.kind == eval::MapKind::Membrane
                      ? ", channel " + std::to_string(t.how.channel)
                      : std::string(),
                  ") against ", t.gt.str(), t.mask ? ", mask " + t.mask->str() : std::string(), "; ",
                  core::to_string(t.seg_box.size), " voxels from ", core::to_string(t.seg_box.origin), ", aligned ",
                  t.alignment);
        for (const eval::EvalResult& r : eval::evaluate(t, context.comm)) {
            const eval::Scores& s = r.scores;
            log->info("  ", std::isfinite(r.threshold) ? "threshold " + fixed(r.threshold, 3) + ": " : std::string(),
                      s.segments, " segments (ground truth ", s.gt_segments, ") over ", s.voxels,
                      " voxels; adapted Rand error ", fixed(s.rand_error), " (precision ", fixed(s.rand_precision),
                      ", recall ", fixed(s.rand_recall), "; CREMI's ", fixed(s.cremi_error), "); VOI split ",
                      fixed(s.voi_split), ", merge ", fixed(s.voi_merge), " bits");
            if (context.comm.is_root()) std::cout << eval::to_json(t, r) << std::endl;
        }
    }
    return 0;
}

}  // namespace znn::app
