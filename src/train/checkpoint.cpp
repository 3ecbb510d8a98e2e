#include "znn/train/checkpoint.hpp"

#include <sstream>

#include "znn/core/error.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/io/hdf5.hpp"

namespace znn::train {
namespace {

constexpr const char* kTrainerAttribute = "znn_trainer";
constexpr const char* kPatchPrefix = "/processing/znn/train/patch/";

std::string exact(double v)
{
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
}

void write_patch(io::Hdf5File& file, const DebugPatch& patch)
{
    for (const auto& [kind, tensors] : patch)
        for (const auto& [node, t] : tensors)
            file.write_array(std::string(kPatchPrefix) + kind + "/" + node, core::DType::Float32,
                             {t.channels(), t.size().z, t.size().y, t.size().x}, t.data());
}

}  // namespace

std::string TrainerState::text() const
{
    return "iteration " + std::to_string(iteration) + "\neta " + exact(eta) + "\noptimizer_steps " + std::to_string(optimizer_steps) +
           "\nvalidations " + std::to_string(validations) + "\nelapsed " + exact(elapsed) + "\nranks " + std::to_string(ranks) +
           "\nbatch_size " + std::to_string(batch_size) + "\nwindow_iterations " + std::to_string(window_iterations) +
           "\nwindow_seconds " + exact(window_seconds) + "\nwindow_sums" + [&] {
               std::string t;
               for (const double v : window_sums) t += " " + exact(v);
               return t;
           }() + "\ncheckpoint_seconds " + exact(checkpoint_seconds) + "\n";
}

TrainerState TrainerState::parse(const std::string& text, const std::string& where)
{
    TrainerState s;
    std::istringstream lines(text);
    int seen = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        std::istringstream in(line);
        std::string key;
        in >> key;
        bool ok = true;
        if (key == "iteration") ok = bool(in >> s.iteration);
        else if (key == "eta") ok = bool(in >> s.eta);
        else if (key == "optimizer_steps") ok = bool(in >> s.optimizer_steps);
        else if (key == "validations") ok = bool(in >> s.validations);
        else if (key == "elapsed") ok = bool(in >> s.elapsed);
        else if (key == "ranks") ok = bool(in >> s.ranks);
        else if (key == "batch_size") ok = bool(in >> s.batch_size);
        else if (key == "window_iterations") ok = bool(in >> s.window_iterations);
        else if (key == "window_seconds") ok = bool(in >> s.window_seconds);
        else if (key == "checkpoint_seconds") {
            if (!(in >> s.checkpoint_seconds)) throw core::InputError("malformed trainer state line '" + line + "'").at(where);
            continue;  // newer than the 7 keys every checkpoint has
        } else if (key == "window_sums") {
            for (double v; in >> v;) s.window_sums.push_back(v);
            continue;
        } else continue;  // a later version's key
        if (!ok) throw core::InputError("malformed trainer state line '" + line + "'").at(where);
        ++seen;
    }
    if (seen < 7) throw core::InputError("incomplete trainer state (" + std::to_string(seen) + " of 7 keys)").at(where);
    return s;
}

void write_checkpoint(const std::string& path, const CheckpointContent& c)
{
    model::NetworkFileMeta meta = c.meta;
    meta.iteration = c.state.iteration;
    meta.eta = c.state.eta;
    model::save_network(path, c.spec, c.params, meta, c.layout, &c.optimizer.state(), [&](io::Hdf5File& file) {
        file.set_attribute(kTrainerAttribute, c.state.text());
        c.curve.write(file, c.rand_error, c.malis);
        if (c.debug) write_patch(file, *c.debug);
    });
}

LoadedCheckpoint read_checkpoint(const std::string& path, const config::NetSpec& spec, graph::ParameterStore<float>& params)
{
    LoadedCheckpoint out;
    out.path = path;
    out.report = model::load_network(path, spec, params, model::LoadMode::Resume, &out.optimizer);
    out.meta = out.report.meta;
    const io::Hdf5File file = io::Hdf5File::open(path, io::FileMode::Read);
    if (const auto text = file.string_attribute(kTrainerAttribute)) {
        out.state = TrainerState::parse(*text, path + ":/" + kTrainerAttribute);
    } else {
        // Not written by znn's trainer: resume where its meta (or its curve) says, as the original did.
        out.state.iteration = out.meta.iteration;
        if (out.meta.eta) out.state.eta = *out.meta.eta;
    }
    if (auto curve = LearningCurve::read(file)) out.curve = std::move(*curve);
    if (out.state.iteration == 0 && !out.meta.eta) {
        // The original's files: continue at the last iteration of their curve (§5.11).
        for (const CurvePoint& p : out.curve.train) out.state.iteration = std::max(out.state.iteration, p.iteration);
        for (const CurvePoint& p : out.curve.test) out.state.iteration = std::max(out.state.iteration, p.iteration);
    }
    out.curve.truncate(out.state.iteration);
    return out;
}

void write_debug_patch(const std::string& path, const DebugPatch& patch)
{
    io::AtomicFile atomic(path);
    std::vector<unsigned char> bytes;
    {
        io::Hdf5File file = io::Hdf5File::create_in_memory(path);
        write_patch(file, patch);
        bytes = file.image();
        file.close();
    }
    atomic.write_bytes(bytes);
    atomic.commit();
}

}  // namespace znn::train
