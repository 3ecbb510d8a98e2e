#include "znn/eval/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include "znn/config/net_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/data/geometry.hpp"
#include "znn/data/section_rounds.hpp"
#include "znn/data/volume_check.hpp"
#include "znn/infer/forward.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/io/volume_io.hpp"

namespace znn::eval {

using core::Box3;
using core::InputError;
using core::Vec3i;

namespace {

bool is_integer(core::DType t) { return !core::dtype_is_float(t); }

/// The `znn_voxel_offset` of a `znn forward` output, if it has one.
std::optional<Vec3i> forward_offset(const io::VolumeUri& uri)
{
    if (uri.format != io::FileFormat::Hdf5) return std::nullopt;
    const io::Hdf5File f = io::Hdf5File::open(uri.path, io::FileMode::Read);
    const auto v = io::Hdf5Dataset::open(f, uri.dataset).numeric_attribute("znn_voxel_offset");
    if (!v || v->size() != 3) return std::nullopt;
    return Vec3i{std::int64_t(std::llround((*v)[0])), std::int64_t(std::llround((*v)[1])),
                 std::int64_t(std::llround((*v)[2]))};
}

/// Decides the kind and channel, and checks them against the segmentation's channels.
void choose_kind(EvalTask& t, const io::VolumeInfo& seg, const EvalOptions& o, std::optional<MapKind> job_kind)
{
    const std::string where = t.seg.str();
    const std::int64_t C = seg.shape.c;
    MapKind kind;
    if (o.kind)
        kind = *o.kind;
    else if (job_kind)
        kind = *job_kind;
    else if (is_integer(seg.dtype) && seg.dtype != core::DType::UInt8)
        kind = MapKind::Labels;
    else if (is_integer(seg.dtype) && C == 1)
        throw InputError("holds uint8 values with one channel: a segmentation or a quantised map? Say which with "
                         "--mode labels or --mode interior|membrane")
            .at(where);
    else if (C == 3)
        kind = MapKind::Affinity;
    else if (C == 1 || C == 2)
        kind = MapKind::Interior;
    else
        throw InputError("has " + std::to_string(C) +
                         " channels: give --mode (labels, interior, membrane or affinity) and --channel")
            .at(where);
    t.how.kind = kind;
    t.how.channel = o.channel;
    t.how.planar = o.planar;
    if (kind == MapKind::Labels && C != 1)
        throw InputError("has " + std::to_string(C) + " channels; a segmentation has one").at(where);
    if ((kind == MapKind::Interior || kind == MapKind::Membrane) && (o.channel < 0 || o.channel >= C))
        throw InputError("has " + std::to_string(C) + " channel(s); --channel " + std::to_string(o.channel) +
                         " is not one of them")
            .at(where);
    if (kind == MapKind::Affinity && C < 3)
        throw InputError("has " + std::to_string(C) + " channel(s); an affinity map has 3 (x, y, z)").at(where);
    if (kind != MapKind::Labels && seg.dtype == core::DType::UInt8) t.quantum = 255;
    if (kind == MapKind::Labels) {
        t.thresholds = {std::numeric_limits<double>::quiet_NaN()};
    } else {
        t.thresholds = o.thresholds;
        if (t.thresholds.empty()) throw InputError("no threshold given").at("--threshold");
        for (double th : t.thresholds)
            if (!std::isfinite(th)) throw InputError("thresholds must be finite numbers").at("--threshold");
    }
    t.ignore = o.ignore;
    t.stack_bytes = o.stack_bytes;
}

/// The scored box: segmentation voxels whose ground-truth voxel (seg + gt_shift) lies in `gt_box`.
void overlap(EvalTask& t, const Vec3i& seg_shape, const Vec3i& gt_shift, const Box3& gt_box)
{
    const Box3 in_seg = core::intersect({Vec3i{}, seg_shape}, {gt_box.origin - gt_shift, gt_box.size});
    if (in_seg.empty())
        throw InputError("does not overlap the ground truth " + t.gt.str() + " (" + t.alignment + ")").at(t.seg.str());
    t.seg_box = in_seg;
    t.gt_origin = in_seg.origin + gt_shift;
}

}  // namespace

EvalTask plan_task(const std::string& seg, const std::string& gt, const std::optional<std::string>& mask,
                   const EvalOptions& options)
{
    EvalTask t;
    t.seg = io::VolumeUri::parse(seg);
    t.gt = io::VolumeUri::parse(gt);
    t.name = t.seg.str();
    const io::VolumeInfo si = io::volume_info(t.seg), gi = io::volume_info(t.gt);
    if (gi.shape.c != 1)
        throw InputError("has " + std::to_string(gi.shape.c) + " channels; ground truth is one label volume")
            .at(t.gt.str());
    if (mask) {
        t.mask = io::VolumeUri::parse(*mask);
        const io::VolumeInfo mi = io::volume_info(*t.mask);
        if (mi.shape.c != 1 || mi.shape.zyx != gi.shape.zyx)
            throw InputError("has shape " + core::to_string(mi.shape.zyx) + " x " + std::to_string(mi.shape.c) +
                             " channel(s); a mask has one channel and the ground truth's shape " +
                             core::to_string(gi.shape.zyx))
                .at(t.mask->str());
    }
    t.seg_info = si;
    choose_kind(t, si, options, std::nullopt);
    const Vec3i S = si.shape.zyx, G = gi.shape.zyx;
    Vec3i shift;
    if (options.offset) {
        shift = *options.offset;
        t.alignment = "segmentation voxel 0 at ground-truth voxel " + core::to_string(shift) + " (--offset)";
    } else if (const auto fo = S != G ? forward_offset(t.seg) : std::nullopt) {
        shift = *fo;
        t.alignment = "segmentation voxel 0 at ground-truth voxel " + core::to_string(shift) +
                      " (its znn_voxel_offset: the ground truth is taken to be aligned with the input)";
    } else if (S == G) {
        t.alignment = "voxel by voxel";
    } else {
        shift = data::volume_centre(G) - data::volume_centre(S);
        t.alignment = "centre on centre (segmentation voxel 0 at ground-truth voxel " + core::to_string(shift) + ")";
    }
    overlap(t, S, shift, {Vec3i{}, G});
    t.mask_origin = t.gt_origin;
    return t;
}

std::vector<EvalTask> plan_job(const config::JobFiles& job, const std::set<std::int64_t>& range,
                               const EvalOptions& options)
{
    const config::JobConfig& c = job.config;
    const config::NetSpec spec = config::NetSpec::load(c.net_spec);
    std::optional<MapKind> kind;
    if (c.out_type == config::OutType::Boundary) kind = MapKind::Interior;
    else if (c.out_type == config::OutType::Affinity) kind = MapKind::Affinity;
    else if (!options.kind)
        throw InputError("out_type semantic: znn eval scores segmentations, and boundary and affinity outputs")
            .at(c.where("out_type"));
    if (range.empty()) throw InputError("no samples to score").at(c.where("forward_range"));
    const std::vector<std::string> in_nodes = spec.input_nodes(), out_nodes = spec.output_nodes();
    std::vector<EvalTask> tasks;
    for (std::int64_t id : range) {
        config::Diagnostics d;
        const auto resolved =
            job.samples.resolve(id, {in_nodes.begin(), in_nodes.end()}, {out_nodes.begin(), out_nodes.end()}, false, d);
        d.throw_if_errors();
        const auto image = data::check_image(*resolved->inputs.begin()->second, d);
        d.throw_if_errors();
        for (const auto& [node, label_section] : resolved->outputs) {
            const auto label = data::check_label(*label_section, d);
            d.throw_if_errors();
            EvalTask t;
            t.name = "sample " + std::to_string(id) + ", " + node;
            const std::string out = infer::output_path(c.output_prefix, id, node);
            std::error_code ec;
            if (!std::filesystem::exists(out, ec))
                throw InputError("no output of sample " + std::to_string(id) + " (" + out +
                                 "): run znn forward on this job first")
                    .at(c.where("output_prefix"));
            t.seg = io::VolumeUri::parse(out);
            t.gt = label->label.uri;
            if (label->mask) t.mask = label->mask->uri;
            const io::VolumeInfo si = io::volume_info(t.seg);
            t.seg_info = si;
            choose_kind(t, si, options, kind);
            const auto shift_in_input = forward_offset(t.seg);
            if (!shift_in_input)
                throw InputError("has no znn_voxel_offset attribute: not an output of znn forward").at(t.seg.str());
            // Output voxel o lies at input-file voxel o + shift; the cropped image and label are centre
            // aligned (geometry.hpp), and each file sits at its crop offset.
            const data::CheckedVolume& first = image->files.front();
            const Vec3i image_crop = data::crop_offset(first.info.shape.zyx, image->shape);
            const Vec3i label_crop = data::crop_offset(label->label.info.shape.zyx, label->shape);
            const Vec3i to_label = *shift_in_input - image_crop - data::volume_centre(image->shape) +
                                   data::volume_centre(label->shape);
            t.alignment = "the job's geometry: output voxel 0 at label voxel " + core::to_string(to_label + label_crop);
            overlap(t, si.shape.zyx, to_label + label_crop, {label_crop, label->shape});
            t.mask_origin = t.gt_origin;
            if (label->mask)
                t.mask_origin = t.gt_origin - label_crop + data::crop_offset(label->mask->info.shape.zyx, label->shape);
            tasks.push_back(std::move(t));
        }
        if (resolved->outputs.empty())
            throw InputError("sample " + std::to_string(id) + " has no label to score against").at(resolved->where);
    }
    return tasks;
}

namespace {

/// Where the stacks of the other ranks lie (for_each_section_round's shares).
struct Shares {
    int prev = -1, next = -1;  ///< the nearest ranks before and after this one that have sections
    Shares(std::int64_t sections, const dist::Comm& comm)
    {
        const int R = comm.is_serial() ? 1 : comm.size(), r = comm.is_serial() ? 0 : comm.rank();
        const auto count = [&](int q) { return sections * (q + 1) / R - sections * q / R; };
        if (count(r) == 0) return;
        for (int q = r - 1; q >= 0 && prev < 0; --q)
            if (count(q) > 0) prev = q;
        for (int q = r + 1; q < R && next < 0; ++q)
            if (count(q) > 0) next = q;
    }
};

/// What one threshold keeps from stack to stack.
struct Track {
    Segmenter how;
    Contingency table;
    std::vector<LabelPair> pairs;
    std::vector<std::uint64_t> first, last;  ///< labels of this rank's first and latest sections
    std::vector<float> first_z_affinity;
    bool started = false;
};

void count(Contingency& table, const std::uint64_t* gt, const std::uint64_t* seg, const std::uint8_t* mask,
           std::int64_t n, const std::vector<std::uint64_t>& ignore)
{
    std::uint64_t g0 = 0, s0 = 0;
    std::int64_t run = 0, ignored = 0;
    for (std::int64_t v = 0; v < n; ++v) {
        if (mask && mask[v] == 0) continue;
        const std::uint64_t g = gt[v];
        if (std::find(ignore.begin(), ignore.end(), g) != ignore.end()) {
            ++ignored;
            continue;
        }
        if (run > 0 && g == g0 && seg[v] == s0) {
            ++run;
            continue;
        }
        table.add(g0, s0, run);
        g0 = g;
        s0 = seg[v];
        run = 1;
    }
    table.add(g0, s0, run);
    table.add_ignored(ignored);
}

}  // namespace

std::vector<EvalResult> evaluate(const EvalTask& task, const dist::Comm& comm)
{
    const Vec3i S = task.seg_box.size;
    const std::int64_t plane = S.y * S.x;
    const bool maps = task.how.kind != MapKind::Labels;
    const bool affinity = task.how.kind == MapKind::Affinity;
    const io::VolumeInfo& si = task.seg_info;
    std::vector<Track> tracks(task.thresholds.size());
    for (std::size_t k = 0; k < tracks.size(); ++k) {
        tracks[k].how = task.how;
        // A quantised map is compared as stored: value > threshold · quantum.
        tracks[k].how.threshold = task.thresholds[k] * task.quantum;
    }
    const bool joins = maps && !task.how.planar;
    // Per section: the map or labels as read and as floats, labels, union-find, ground truth, mask.
    const std::int64_t section_bytes =
        plane * (si.shape.c * std::int64_t(core::dtype_size(si.dtype) + 4) + 8 + 8 + 8 + 1 + 1);

    data::for_each_section_round(S.z, section_bytes, comm, [&](std::int64_t z0, std::int64_t n) {
        const std::int64_t extra = affinity && n > 0 && z0 + n < S.z ? 1 : 0;
        const Vec3i at{z0, 0, 0};
        const auto read = [&](const io::VolumeUri& uri, const Vec3i& origin, std::int64_t planes) {
            const Box3 box{origin + at, {n > 0 ? planes : 0, S.y, S.x}};
            if (uri.format == io::FileFormat::Tiff) return n > 0 ? io::read_volume(uri, box) : tensor::AnyTensor();
            return io::read_volume_collective(uri, box, comm);
        };
        const tensor::AnyTensor seg_raw = read(task.seg, task.seg_box.origin, n + extra);
        const tensor::AnyTensor gt_raw = read(task.gt, task.gt_origin, n);
        const tensor::AnyTensor mask_raw = task.mask ? read(*task.mask, task.mask_origin, n) : tensor::AnyTensor();
        if (n == 0) return;
        const tensor::Tensor<std::uint64_t> gt = gt_raw.to<std::uint64_t>();
        const tensor::Tensor<std::uint8_t> mask = task.mask ? mask_raw.to<std::uint8_t>() : tensor::Tensor<std::uint8_t>();
        const tensor::Tensor<float> map = maps ? seg_raw.to<float>() : tensor::Tensor<float>();
        const tensor::Tensor<std::uint64_t> given = maps ? tensor::Tensor<std::uint64_t>() : seg_raw.to<std::uint64_t>();
        const std::uint64_t first_index = static_cast<std::uint64_t>(z0 * plane);
        for (Track& tr : tracks) {
            const tensor::Tensor<std::uint64_t> labels = maps ? label_stack(map.view(), n, first_index, tr.how) : given;
            const std::uint64_t* l = labels.data();
            if (joins) {
                const float* z_aff = affinity ? map.view().row(2, 0, 0) : nullptr;
                if (tr.started) {
                    face_pairs(tr.last.data(), l, z_aff, plane, tr.how, tr.pairs);
                } else {
                    tr.first.assign(l, l + plane);
                    if (affinity) tr.first_z_affinity.assign(z_aff, z_aff + plane);
                }
                tr.last.assign(l + (n - 1) * plane, l + n * plane);
            }
            tr.started = true;
            count(tr.table, gt.data(), l, task.mask ? mask.data() : nullptr, n * plane, task.ignore);
        }
    }, task.stack_bytes);

    std::vector<EvalResult> results;
    const Shares shares(S.z, comm);
    for (std::size_t k = 0; k < tracks.size(); ++k) {
        Track& tr = tracks[k];
        if (joins) {
            // The previous rank's last section against this rank's first.
            std::vector<std::uint64_t> before(shares.prev >= 0 ? std::size_t(plane) : 0);
            const std::vector<std::uint64_t> none;
            comm.sendrecv(std::span<const std::uint64_t>(shares.next >= 0 ? tr.last : none), shares.next,
                          std::span<std::uint64_t>(before), shares.prev);
            if (shares.prev >= 0)
                face_pairs(before.data(), tr.first.data(), affinity ? tr.first_z_affinity.data() : nullptr, plane,
                           tr.how, tr.pairs);
            std::sort(tr.pairs.begin(), tr.pairs.end(),
                      [](const LabelPair& x, const LabelPair& y) { return x.a != y.a ? x.a < y.a : x.b < y.b; });
            tr.pairs.erase(std::unique(tr.pairs.begin(), tr.pairs.end()), tr.pairs.end());
            std::vector<LabelPair> all = comm.gather(std::span<const LabelPair>(tr.pairs));
            std::vector<LabelPair> renaming;
            if (comm.is_root()) {
                Joins j;
                for (const LabelPair& p : all)
                    j.join(p.a, p.b);
                for (const auto& [from, to] : j.renaming())
                    renaming.push_back({from, to});
            }
            comm.broadcast_vector(renaming);
            std::unordered_map<std::uint64_t, std::uint64_t> rename;
            rename.reserve(renaming.size());
            for (const LabelPair& p : renaming)
                rename.emplace(p.a, p.b);
            tr.table.rename_segments(rename);
        }
        results.push_back({task.thresholds[k], score(tr.table, comm)});
    }
    return results;
}

std::string to_json(const EvalTask& task, const EvalResult& r)
{
    std::ostringstream os;
    os.precision(10);
    const auto number = [&os](double v) -> std::ostringstream& {
        if (std::isfinite(v))
            os << v;
        else
            os << "null";
        return os;
    };
    const auto quoted = [](const std::string& s) {
        std::string q = "\"";
        for (char ch : s) {
            if (ch == '"' || ch == '\\') q += '\\';
            q += ch;
        }
        return q + "\"";
    };
    const Scores& s = r.scores;
    os << "{\"task\":" << quoted(task.name) << ",\"segmentation\":" << quoted(task.seg.str())
       << ",\"ground_truth\":" << quoted(task.gt.str()) << ",\"mode\":\"" << to_string(task.how.kind) << "\"";
    os << ",\"threshold\":";
    number(r.threshold);
    os << ",\"voxels\":" << s.voxels << ",\"ignored\":" << s.ignored << ",\"gt_segments\":" << s.gt_segments
       << ",\"segments\":" << s.segments << ",\"background\":" << s.background;
    os << ",\"rand_error\":";
    number(s.rand_error) << ",\"rand_precision\":";
    number(s.rand_precision) << ",\"rand_recall\":";
    number(s.rand_recall) << ",\"cremi_rand_error\":";
    number(s.cremi_error) << ",\"cremi_precision\":";
    number(s.cremi_precision) << ",\"cremi_recall\":";
    number(s.cremi_recall) << ",\"voi_split\":";
    number(s.voi_split) << ",\"voi_merge\":";
    number(s.voi_merge) << ",\"voi\":";
    number(s.voi_split + s.voi_merge) << "}";
    return os.str();
}

}  // namespace znn::eval
