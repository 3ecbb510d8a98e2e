// znn check: validates everything a job needs without running it, and reports every problem found.

#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.hpp"
#include "znn/config/job_files.hpp"
#include "znn/config/values.hpp"
#include "znn/core/error.hpp"
#include "znn/core/memory.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/data/sample_data.hpp"
#include "znn/data/volume_check.hpp"
#include "znn/graph/shapes.hpp"
#include "znn/dist/agree.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/model/network_file.hpp"
#include "znn/train/job_check.hpp"

namespace znn::app {
namespace {

/// Reads a float volume through and reports its NaN and infinite values at `where` (the fnames line).
void report_non_finite(const data::CheckedVolume& v, const std::string& where, config::Diagnostics& d)
{
    if (const auto bad = data::find_non_finite(v))
        d.error_at(where, v.uri.str() + ": holds " + std::to_string(bad->count) + " NaN or infinite value(s), the first at channel " +
                              std::to_string(bad->channel) + ", z,y,x " + core::to_string(bad->at));
}

std::string shape_text(const io::VolumeInfo& info)
{
    return std::string(core::to_string(info.dtype)) + " " + tensor::to_string(info.shape);
}

/// Checks the files and samples a job names; returns the report printed after the configuration.
std::string check_job(const config::JobFiles& job, config::Diagnostics& d)
{
    namespace fs = std::filesystem;
    const config::JobConfig& c = job.config;
    std::ostringstream report;
    std::error_code ec;
    if (!c.net_spec.empty() && !fs::is_regular_file(c.net_spec, ec)) d.error_at(c.where("fnet_spec"), "fnet_spec: no such file: " + c.net_spec);
    // Missing directories are fine when they can be made: training and inference create them.
    auto writable = [&](const std::string& key, const std::string& path) {
        if (path.empty()) return;
        try {
            io::check_creatable_location(path);
        } catch (const core::Error& e) {
            d.error_at(c.where(key), key + ": " + e.what());
        }
    };
    if (!c.train_range.empty()) train::check_training_options(job, std::nullopt, d);
    if (!c.forward_range.empty() && c.output_prefix.empty())
        d.error(c.file, 0, "forward_range is set but output_prefix is not (where inference writes its outputs)");

    if (!c.forward_range.empty() && !c.output_prefix.empty()) {
        writable("output_prefix", c.output_prefix + "_sample.h5");
        if (!c.forward_net.empty() && !fs::exists(c.forward_net, ec))
            d.warning(c.where("forward_net"), 0, "forward_net does not exist yet (training writes it): " + c.forward_net);
        else if (!c.forward_net.empty() && !io::is_hdf5_file(c.forward_net))
            d.error_at(c.where("forward_net"), "forward_net: " + c.forward_net + " is not an HDF5 network file");
        else if (!c.forward_net.empty()) {
            try {
                model::read_network_meta(c.forward_net);
            } catch (const core::Error& e) {
                d.error_at(c.where("forward_net"), std::string("forward_net: ") + e.what());
            }
        }
    }

    // Every sample of every range, each section checked once.
    std::map<std::int64_t, std::string> images, labels;  // section id -> description (empty: failed)
    auto describe_image = [&](std::int64_t id) -> const std::string& {
        if (auto it = images.find(id); it != images.end()) return it->second;
        const config::ImageSection& s = job.samples.images.at(id);
        std::string text;
        if (const auto checked = data::check_image(s, d)) {
            for (const data::CheckedVolume& v : checked->files) report_non_finite(v, s.files_where, d);
            for (std::size_t f = 0; f < checked->files.size(); ++f)
                text += "\n      " + checked->files[f].uri.str() + "  " + shape_text(checked->files[f].info) + "  " +
                        std::string(config::to_string(s.preprocess[std::min(f, s.preprocess.size() - 1)]));
            if (checked->files.size() > 1) text += "\n      (" + std::to_string(checked->channels) + " channels of " + core::to_string(checked->shape) + ")";
        }
        return images[id] = text;
    };
    auto describe_label = [&](std::int64_t id) -> const std::string& {
        if (auto it = labels.find(id); it != labels.end()) return it->second;
        const config::LabelSection& s = job.samples.labels.at(id);
        std::string text;
        if (const auto checked = data::check_label(s, d)) {
            report_non_finite(checked->label, s.file_where, d);
            if (checked->mask) report_non_finite(*checked->mask, s.mask_where, d);
            text = "\n      " + checked->label.uri.str() + "  " + shape_text(checked->label.info);
            if (checked->mask) text += "\n      mask " + checked->mask->uri.str() + "  " + shape_text(checked->mask->info);
        }
        return labels[id] = text;
    };
    struct Use {
        std::string_view range;
        const std::set<std::int64_t>* ids;
        bool labels;
    };
    const Use uses[] = {{"train_range", &c.train_range, true}, {"test_range", &c.test_range, true}, {"forward_range", &c.forward_range, false}};
    std::set<std::int64_t> reported;
    for (const Use& u : uses)
        for (const std::int64_t id : *u.ids) {
            const auto it = job.samples.samples.find(id);
            if (it == job.samples.samples.end()) {
                d.error_at(c.where(u.range), std::string(u.range) + " names sample " + std::to_string(id) + ", but there is no [sample" + std::to_string(id) + "]");
                continue;
            }
            bool has_label = false;
            for (const auto& b : it->second.bindings) has_label = has_label || job.samples.labels.count(b.id) > 0;
            if (u.labels && !has_label)
                d.error_at(it->second.where, "sample " + std::to_string(id) + " is in " + std::string(u.range) + " but binds no [labelN]");
            if (!reported.insert(id).second) continue;
            report << "  sample " << id << ":";
            std::set<std::int64_t> ids;
            for (const auto& b : it->second.bindings) {
                report << (ids.empty() ? " " : ", ") << b.node << " = " << b.id;
                ids.insert(b.id);
            }
            report << "\n";
            // Which bindings are inputs is known only with the network: show every section they name.
            for (const std::int64_t s : ids) {
                if (job.samples.images.count(s)) report << "    [image" << s << "]" << describe_image(s) << "\n";
                if (job.samples.labels.count(s)) report << "    [label" << s << "]" << describe_label(s) << "\n";
            }
        }
    return report.str();
}

/// Checks the network against the job: its outputs against out_type, its patch sizes, and every
/// sample's volumes against those patches. Returns the report.
std::string check_network(const config::JobFiles& job, config::Diagnostics& d)
{
    const config::JobConfig& c = job.config;
    std::error_code ec;
    if (c.net_spec.empty() || !std::filesystem::is_regular_file(c.net_spec, ec)) return "";
    const std::size_t errors_before = d.errors().size();
    const config::NetSpec net = config::NetSpec::read(c.net_spec, d);
    if (d.errors().size() > errors_before) return "";
    // A training job gets the checks `znn train` makes before it starts (keys, outputs, costs, MALIS).
    if (!c.train_range.empty()) train::check_training_network(job, net, d);
    std::ostringstream report;
    const std::vector<std::string> in_names = net.input_nodes(), out_names = net.output_nodes();
    const std::set<std::string> inputs(in_names.begin(), in_names.end()), outputs(out_names.begin(), out_names.end());
    std::int64_t classes = c.num_classes;
    const bool training = !c.train_range.empty();
    for (const std::string& o : out_names) {
        const config::NodeGroupSpec& n = *net.node(o);
        const std::int64_t want = c.out_type == config::OutType::Boundary ? 2 : c.out_type == config::OutType::Affinity ? 3 : c.num_classes;
        if (c.out_type == config::OutType::Semantic && classes == 0) classes = n.size;
        if (!training && want > 0 && n.size != want)  // a training job's outputs are checked with the rest above
            d.error_at(n.where("size"), "out_type " + std::string(config::to_string(c.out_type)) + " needs " + std::to_string(want) +
                                            " maps on the output node group '" + o + "', which has " + std::to_string(n.size));
    }
    struct Mode {
        const char* name;
        core::Vec3i outsz;
        std::vector<const std::set<std::int64_t>*> ranges;
        bool labels;
    };
    std::vector<Mode> modes;
    if (!c.train_range.empty() || !c.test_range.empty()) modes.push_back({"train", c.train_outsz, {&c.train_range, &c.test_range}, true});
    if (!c.forward_range.empty()) modes.push_back({"infer", c.forward_outsz, {&c.forward_range}, false});
    for (const Mode& m : modes) {
        const auto shapes = graph::NetShapes::from_output(net, m.outsz, d);
        if (!shapes) continue;
        {  // The networks' memory (values, gradients, parameters), before any engine: a lower bound.
            const std::int64_t copies = m.labels ? c.batch_size : 1;
            const double bytes = double(shapes->memory_bytes()) * double(copies);
            if (bytes > double(core::usable_memory_bytes()))
                d.error_at(c.where(m.labels ? "train_outsz" : "forward_outsz"),
                           std::string(m.name) + " patches of " + core::to_string(m.outsz) +
                               (m.labels ? " in batches of " + std::to_string(copies) : std::string()) + " would need at least " +
                               core::bytes_text(bytes) + ", more than the " + core::bytes_text(double(core::usable_memory_bytes())) +
                               " this process may use");
        }
        data::PatchGeometry geometry;
        geometry.inputs = shapes->input_sizes();
        geometry.outputs = shapes->output_sizes();
        report << "  " << m.name << " patches: ";
        for (const auto& [node, size] : geometry.inputs)
            report << "input '" << node << "' " << core::to_string(size) << " (field of view " << core::to_string(shapes->fov().at(node)) << "), ";
        for (const auto& [node, size] : geometry.outputs) report << "output '" << node << "' " << core::to_string(size);
        report << "\n";
        data::SampleOptions options = data::SampleOptions::from_job(c, geometry, classes);
        if (!m.labels) {  // inference cuts input patches only: no affinity voxel, no augmentation margins
            options.out_type = config::OutType::Boundary;
            options.augment = {};
        }
        for (const auto* range : m.ranges)
            for (const std::int64_t id : *range) {
                if (!job.samples.samples.count(id)) continue;  // reported with the ranges
                auto resolved = job.samples.resolve(id, inputs, outputs, m.labels, d);
                if (!resolved) continue;
                if (!m.labels) resolved->outputs.clear();
                if (const auto plan = data::SamplePlan::make(*resolved, options, d))
                    report << "    sample " << id << ": " << plan->deviations.voxels() << " patch positions (before masks)\n";
            }
    }
    return report.str();
}

std::string plan_text(const config::JobConfig& c)
{
    std::ostringstream os;
    if (!c.train_range.empty()) {
        os << "  train: samples " << config::to_string(c.train_range) << ", " << c.max_iter << " iterations of " << c.batch_size
           << " patch(es) of output " << core::to_string(c.train_outsz) << " per rank, " << config::to_string(c.out_type) << " output, "
           << "eta " << c.eta << "; validation on samples " << (c.test_range.empty() ? "(none)" : config::to_string(c.test_range))
           << " every " << c.num_iter_per_test << "; checkpoints " << c.train_net_prefix << "_<iter>.h5 every " << c.num_iter_per_save
           << "\n";
    }
    if (!c.forward_range.empty())
        os << "  infer: samples " << config::to_string(c.forward_range) << " with " << (c.forward_net.empty() ? "(the trained network)" : c.forward_net)
           << ", output patches " << core::to_string(c.forward_outsz) << ", to " << c.output_prefix << "_sample<N>_<node>.h5\n";
    os << "  network: " << c.net_spec << "\n";
    return os.str();
}

}  // namespace

int run_check(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"check",
                    "-c JOB.cfg [--set key=value ...] | --reference",
                    "Validates a job without running it: the .cfg (every key and value), the sample spec, every\n"
                    "volume file and dataset it names (readable, shapes consistent, masks matching labels) and the\n"
                    "output locations. Prints the resolved configuration and what would run, then every problem\n"
                    "found (exit code 2), not only the first. --reference prints every option with its default\n"
                    "and documentation (configs/reference.cfg).",
                    po::options_description("Options"),
                    {}};
    cli.options.add_options()("config,c", po::value<std::string>(), "the job file (.cfg)")(
        "set", po::value<std::vector<std::string>>()->composing(), "override an option: --set key=value (repeatable)")(
        "reference", po::bool_switch(), "print the reference configuration and exit");
    add_common_options(cli.options);
    cli.positional.add("config", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    const auto log = make_logger(*vm, context.comm);

    if ((*vm)["reference"].as<bool>()) {
        if (context.comm.is_root()) std::cout << config::JobConfig::reference_text() << std::flush;
        return 0;
    }
    if (!vm->count("config")) usage_error("config", "give the job file: znn check -c JOB.cfg");
    const std::string cfg = (*vm)["config"].as<std::string>();
    const std::vector<std::string> overrides = vm->count("set") ? (*vm)["set"].as<std::vector<std::string>>() : std::vector<std::string>{};

    dist::root_decides(context.comm, [&] {
        config::Diagnostics d;
        const config::JobFiles job = config::JobFiles::read(cfg, overrides, d);
        if (job.config.file.empty()) d.throw_if_errors();  // the .cfg itself could not be read
        const std::string samples = check_job(job, d);
        const std::string network = check_network(job, d);
        std::cout << "# " << cfg << ", resolved\n" << job.config.resolved_text() << "\nsamples:\n" << samples << "\nwould run:\n"
                  << plan_text(job.config) << network << std::flush;
        for (const auto& w : d.warnings()) log->warn(w.where, ": ", w.message);
        d.throw_if_errors();
        log->info("check passed: ", cfg);
    });
    return 0;
}

}  // namespace znn::app
