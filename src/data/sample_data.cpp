#include "znn/data/sample_data.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "znn/config/diagnostics.hpp"
#include "znn/core/error.hpp"
#include "znn/data/preprocess.hpp"
#include "znn/data/section_rounds.hpp"
#include "znn/data/volume_check.hpp"
#include "znn/dist/agree.hpp"
#include "znn/io/volume_io.hpp"

namespace znn::data {

template <class T> tensor::TensorView<const T> HeldRegion<T>::view(const core::Box3& box) const
{
    ZNN_CHECK(region.contains(box), "HeldRegion: box " + core::to_string(box) + " outside the held region " + core::to_string(region));
    return data.box({box.origin - region.origin, box.size});
}

template struct HeldRegion<float>;
template struct HeldRegion<std::uint32_t>;
template struct HeldRegion<std::uint8_t>;

SampleOptions SampleOptions::from_job(const config::JobConfig& job, PatchGeometry geometry, std::int64_t num_classes)
{
    SampleOptions o;
    o.geometry = std::move(geometry);
    o.out_type = job.out_type;
    o.augment = job.augment;
    o.mirror = job.is_bd_mirror;
    o.rebalance = job.rebalance_mode;
    o.num_classes = job.num_classes > 0 ? job.num_classes : num_classes;
    return o;
}

namespace {

/// A mask of 0/1 from values of any type (> 0: masked in).
tensor::Tensor<std::uint8_t> mask_of(const tensor::Tensor<float>& values)
{
    tensor::Tensor<std::uint8_t> m(values.channels(), values.size(), core::Init::Uninitialized);
    std::transform(values.data(), values.data() + values.count(), m.data(), [](float v) { return std::uint8_t(v > 0); });
    return m;
}

/// Counts over a block of labels (1, n, Y, X) whose sections from `first` on are counted (earlier
/// ones only serve as z-neighbours). Layout of `counts`: boundary [pos, zero]; affinity [pos, zero]
/// for x, y, z; semantic one count per class, plus a last entry for labels >= the class count.
void count_block(tensor::TensorView<const std::uint32_t> label, const tensor::TensorView<const std::uint8_t>* mask, std::int64_t first,
                 config::OutType type, std::vector<std::int64_t>& counts)
{
    const Vec3i S = label.size();
    auto masked_in = [&](std::int64_t z, std::int64_t y, std::int64_t x) { return !mask || mask->row(0, z, y)[x] > 0; };
    for (std::int64_t z = first; z < S.z; ++z)
        for (std::int64_t y = 0; y < S.y; ++y) {
            const std::uint32_t* l = label.row(0, z, y);
            for (std::int64_t x = 0; x < S.x; ++x) {
                switch (type) {
                case config::OutType::Boundary:
                    if (masked_in(z, y, x)) ++counts[l[x] > 0 ? 0 : 1];
                    break;
                case config::OutType::Semantic: {
                    if (!masked_in(z, y, x)) break;
                    const std::size_t classes = counts.size() - 1;
                    ++counts[std::min<std::size_t>(l[x], classes)];
                    break;
                }
                case config::OutType::Affinity: {
                    // Edges to the previous voxel along x, y, z (channel order of the targets).
                    const std::int64_t prev[3][3] = {{z, y, x - 1}, {z, y - 1, x}, {z - 1, y, x}};
                    for (int a = 0; a < 3; ++a) {
                        const auto [pz, py, px] = prev[a];
                        if (pz < 0 || py < 0 || px < 0) continue;
                        if (!masked_in(z, y, x) && !masked_in(pz, py, px)) continue;
                        const std::uint32_t there = label.row(0, pz, py)[px];
                        ++counts[static_cast<std::size_t>(2 * a + ((l[x] == there && l[x] > 0) ? 0 : 1))];
                    }
                    break;
                }
                }
            }
        }
}

}  // namespace

/// @brief Loads one sample; the steps of the file comment of sample_data.hpp.
class SampleData::Loader {
public:
    Loader(const config::ResolvedSample& sample, const SampleOptions& options, const dist::Comm& comm)
        : sample_(sample), options_(options), comm_(comm)
    {
    }

    SampleData load();

private:
    /// Steps 1-2: every volume checked and the candidate deviations found, on rank 0 first.
    SamplePlan plan() const;
    /// Step 3-5 for one input: this rank's region of every file read, checked, preprocessed, stacked.
    Input load_input(const SamplePlan::Input& p, const FetchRule& rule, const Box3& slab) const;
    /// Step 3 for one output: this rank's region of the label (and mask), and the global class weights.
    Output load_output(const SamplePlan::Output& p, const FetchRule& rule, const Box3& slab) const;
    /// The class weights of global rebalancing from the whole volume's class counts.
    void set_global_weights(Output& out, const std::vector<std::int64_t>& counts) const;
    /// Step 5: the label centre voxels masked in by every output with a mask.
    static CandidateSet candidates(const std::vector<Output>& outputs, const Box3& slab);

    Box3 split(const Box3& d) const;
    VolumeStatistics input_statistics(const MirroredVolume& v, const HeldRegion<float>& held) const;
    /// Throws (on every rank) if any rank's region of `v` holds a NaN or an infinity, naming the first.
    void check_finite(const MirroredVolume& v, const HeldRegion<float>& held) const;
    std::vector<std::int64_t> class_counts(const MirroredVolume& label, const std::optional<MirroredVolume>& mask,
                                           const Output& out) const;

    const config::ResolvedSample& sample_;
    const SampleOptions& options_;
    const dist::Comm& comm_;
    std::vector<std::pair<Vec3i, Vec3i>> extents_;  // (shape, fetched patch) of every volume, to choose the split
};

Box3 SampleData::Loader::split(const Box3& d) const
{
    const int R = comm_.is_serial() ? 1 : comm_.size();
    if (R == 1 || !options_.split_over_ranks) return d;
    // The axis whose slabs make every rank read the least.
    int best = -1;
    double best_cost = std::numeric_limits<double>::infinity();
    for (int a = 0; a < 3; ++a) {
        if (d.size[a] < R) continue;
        double cost = 0;
        for (const auto& [shape, fetch] : extents_) {
            double voxels = 1;
            for (int b = 0; b < 3; ++b) voxels *= double((b == a ? (d.size[a] + R - 1) / R : d.size[b]) + fetch[b] - 1);
            cost += voxels;
        }
        if (cost < best_cost) {
            best_cost = cost;
            best = a;
        }
    }
    if (best < 0) return d;  // too thin to split: every rank holds every candidate
    const int r = comm_.rank();
    Box3 slab = d;
    slab.origin[best] = d.origin[best] + d.size[best] * r / R;
    slab.size[best] = d.origin[best] + d.size[best] * (r + 1) / R - slab.origin[best];
    return slab;
}

VolumeStatistics SampleData::Loader::input_statistics(const MirroredVolume& v, const HeldRegion<float>& held) const
{
    VolumeStatistics stats(v.channels, v.stored.z);
    const Box3 stored_part{v.pad_low, v.stored};
    if (comm_.all(held.region.contains(stored_part))) {
        stats.add_sections(held.view(stored_part), 0);
        return stats;
    }
    return stored_statistics(v, comm_);
}

void SampleData::Loader::check_finite(const MirroredVolume& v, const HeldRegion<float>& held) const
{
    // The first non-finite value in stored coordinates (z, y, x, then channel), agreed over ranks.
    constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
    std::int64_t first = kNone;
    const Vec3i S = held.region.size;
    for (std::int64_t c = 0; c < held.data.channels(); ++c)
        for (std::int64_t z = 0; z < S.z; ++z)
            for (std::int64_t y = 0; y < S.y; ++y) {
                const float* row = held.data.view().row(c, z, y);
                for (std::int64_t x = 0; x < S.x; ++x) {
                    if (std::isfinite(row[x])) continue;
                    const Vec3i p = held.region.origin + Vec3i{z, y, x} - v.pad_low;
                    const Vec3i q{reflect(p.z, v.stored.z), reflect(p.y, v.stored.y), reflect(p.x, v.stored.x)};
                    first = std::min(first, ((q.z * v.stored.y + q.y) * v.stored.x + q.x) * v.channels + c);
                }
            }
    first = comm_.min(first);
    if (first == kNone) return;
    const std::int64_t c = first % v.channels, i = first / v.channels;
    const Vec3i at{i / (v.stored.y * v.stored.x), (i / v.stored.x) % v.stored.y, i % v.stored.x};
    throw core::InputError("the volume holds NaN or infinite values (the first at channel " + std::to_string(c) + ", z,y,x " +
                           core::to_string(at + v.offset) + ")")
        .at(v.uri.str())
        .scope(core::ErrorScope::AllRanks);
}

std::vector<std::int64_t> SampleData::Loader::class_counts(const MirroredVolume& label, const std::optional<MirroredVolume>& mask,
                                               const Output& out) const
{
    const config::OutType type = options_.out_type;
    std::vector<std::int64_t> counts(type == config::OutType::Boundary   ? 2
                                     : type == config::OutType::Affinity ? 6
                                                                         : static_cast<std::size_t>(options_.num_classes + 1),
                                     0);
    const Box3 whole{{0, 0, 0}, out.shape};
    const bool held = out.label.region.contains(whole) && (!mask || out.mask.region.contains(whole));
    if (comm_.all(held)) {
        const auto m = mask ? std::optional(out.mask.view(whole)) : std::nullopt;
        count_block(out.label.view(whole), m ? &*m : nullptr, 0, type, counts);
        return counts;
    }
    const std::int64_t section_bytes = out.shape.y * out.shape.x * static_cast<std::int64_t>(sizeof(float));
    for_each_section_round(out.shape.z, section_bytes, comm_, [&](std::int64_t z0, std::int64_t n) {
        // Affinities along z also need the section before.
        const std::int64_t before = n > 0 && z0 > 0 && type == config::OutType::Affinity ? 1 : 0;
        const Box3 box{{z0 - before, 0, 0}, {n + before, out.shape.y, out.shape.x}};
        auto read = [&](const MirroredVolume& v) -> std::optional<tensor::AnyTensor> {
            if (v.uri.format == io::FileFormat::Tiff && n == 0) return std::nullopt;
            return io::read_volume_collective(v.uri, {v.offset + box.origin, box.size}, comm_);
        };
        auto l = read(label);
        auto m = mask ? read(*mask) : std::nullopt;
        if (n == 0) return;
        const tensor::Tensor<std::uint32_t> lt = l->to<std::uint32_t>();
        const tensor::Tensor<std::uint8_t> mt = m ? mask_of(m->to<float>()) : tensor::Tensor<std::uint8_t>();
        const auto mv = m ? std::optional(mt.cview()) : std::nullopt;
        count_block(lt.cview(), mv ? &*mv : nullptr, before, type, counts);
    });
    comm_.allreduce_sum(std::span<std::int64_t>(counts));
    return counts;
}

SampleData SampleData::Loader::load()
{
    SampleData s;
    s.id_ = sample_.id;
    s.options_ = options_;
    s.rule_ = FetchRule::of(options_.out_type, options_.augment, options_.geometry);
    const SamplePlan p = plan();
    s.deviations_ = p.deviations;
    for (const SamplePlan::Input& in : p.inputs) extents_.emplace_back(in.padded(), s.rule_.fetch(in.patch));
    for (const SamplePlan::Output& out : p.outputs) extents_.emplace_back(out.label.shape, s.rule_.fetch(out.patch));
    const Box3 slab = split(s.deviations_);  // 3. this rank's slab
    for (const SamplePlan::Input& in : p.inputs) s.inputs_.push_back(load_input(in, s.rule_, slab));
    for (const SamplePlan::Output& out : p.outputs) s.outputs_.push_back(load_output(out, s.rule_, slab));
    s.candidates_ = candidates(s.outputs_, slab);
    return s;
}

SamplePlan SampleData::Loader::plan() const
{
    // Rank 0 first, for every rank (a problem there is everybody's and is reported once); then the
    // other ranks, whose failure now can only be their own.
    std::optional<SamplePlan> plan;
    auto make_plan = [&] {
        config::Diagnostics d;
        plan = SamplePlan::make(sample_, options_, d);
        d.throw_if_errors();
    };
    dist::root_decides(comm_, make_plan);
    if (!comm_.is_root()) {
        try {
            make_plan();
        } catch (core::Error& e) {
            e.scope(core::ErrorScope::ThisRank).on_rank(comm_.rank());
            throw;
        }
    }
    return std::move(*plan);
}

SampleData::Input SampleData::Loader::load_input(const SamplePlan::Input& p, const FetchRule& rule, const Box3& slab) const
{
    Input in;
    in.node = p.node;
    in.patch = p.patch;
    std::vector<MirroredVolume> volumes;
    for (const CheckedVolume& f : p.image.files) {
        MirroredVolume v;
        v.uri = f.uri;
        v.stored = p.image.shape;
        v.offset = crop_offset(f.info.shape.zyx, p.image.shape);
        v.pad_low = p.pad_low;
        v.pad_high = p.pad_high;
        v.channels = f.info.shape.c;
        volumes.push_back(v);
    }
    in.padded = volumes.front().size();
    in.held.region = rule.coverage(in.padded, in.patch, slab);
    in.held.data = tensor::Tensor<float>(p.image.channels, in.held.region.size, core::Init::Uninitialized);
    std::int64_t first_channel = 0;
    for (std::size_t i = 0; i < volumes.size(); ++i) {
        const MirroredVolume& v = volumes[i];
        HeldRegion<float> part{v.read_float(in.held.region, comm_), in.held.region};
        check_finite(v, part);
        // 4-5. Statistics of the whole stored volume, then preprocessing in memory.
        const config::Preprocess pp = p.preprocess[std::min(i, p.preprocess.size() - 1)];
        if (pp != config::Preprocess::None) {
            const VolumeStatistics stats = input_statistics(v, part);
            for (std::int64_t c = 0; c < v.channels; ++c)
                if (!std::isfinite(stats.channel(c).sum_sq))
                    throw core::InputError("the volume holds NaN or infinite values").at(v.uri.str()).scope(core::ErrorScope::AllRanks);
            preprocess_region(part.data.view(), part.region.origin, v, pp, stats);
        }
        tensor::copy(part.data.cview(), in.held.data.view().channels(first_channel, v.channels));
        first_channel += v.channels;
    }
    return in;
}

SampleData::Output SampleData::Loader::load_output(const SamplePlan::Output& p, const FetchRule& rule, const Box3& slab) const
{
    Output out;
    out.node = p.node;
    const CheckedVolume& lv = p.label.label;
    out.file = lv.uri.str();
    out.patch = p.patch;
    out.shape = p.label.shape;
    const Box3 region = rule.coverage(out.shape, out.patch, slab);
    const MirroredVolume label{lv.uri, out.shape, crop_offset(lv.info.shape.zyx, out.shape), {}, {}, 1};
    out.label = {label.read<std::uint32_t>(region, comm_), region};
    std::optional<MirroredVolume> mask;
    if (const auto& mv = p.label.mask) {
        mask = MirroredVolume{mv->uri, out.shape, crop_offset(mv->info.shape.zyx, out.shape), {}, {}, 1};
        out.mask = {mask_of(mask->read_float(region, comm_)), region};
    }
    if (options_.rebalance == config::Rebalance::Global) set_global_weights(out, class_counts(label, mask, out));
    return out;
}

void SampleData::Loader::set_global_weights(Output& out, const std::vector<std::int64_t>& counts) const
{
    switch (options_.out_type) {
    case config::OutType::Boundary: {
        const ClassWeights w = global_boundary_weights(counts[0], counts[1]);
        out.global_weights = {w, {w.zero, w.positive}};  // channel 1 is the complement of channel 0
        break;
    }
    case config::OutType::Affinity:
        for (int a = 0; a < 3; ++a) out.global_weights.push_back(normalized_weights(counts[2 * a], counts[2 * a + 1]));
        break;
    case config::OutType::Semantic:
        if (counts.back() > 0)
            throw core::InputError(std::to_string(counts.back()) + " label voxels have a class >= num_classes (" +
                                   std::to_string(options_.num_classes) + ")")
                .at(out.file)
                .scope(core::ErrorScope::AllRanks);
        out.global_class_weights = semantic_weights({counts.begin(), counts.end() - 1});
        break;
    }
}

CandidateSet SampleData::Loader::candidates(const std::vector<Output>& outputs, const Box3& slab)
{
    bool any_mask = false;
    tensor::Tensor<std::uint8_t> valid(1, slab.size, core::Init::Uninitialized);
    tensor::fill(valid.view(), std::uint8_t{1});
    for (const Output& out : outputs) {
        if (out.mask.data.empty()) continue;
        any_mask = true;
        const tensor::TensorView<const std::uint8_t> m = out.mask.view({volume_centre(out.shape) + slab.origin, slab.size});
        for (std::int64_t z = 0; z < slab.size.z; ++z)
            for (std::int64_t y = 0; y < slab.size.y; ++y) {
                const std::uint8_t* src = m.row(0, z, y);
                std::uint8_t* dst = valid.view().row(0, z, y);
                for (std::int64_t x = 0; x < slab.size.x; ++x) dst[x] = std::uint8_t(dst[x] & (src[x] > 0 ? 1 : 0));
            }
    }
    return any_mask ? CandidateSet::masked(slab, std::move(valid)) : CandidateSet::all(slab);
}

namespace {

/// out(c, z, y, x) = in(c, z, y + m + dy, x + m + dx), where (dy, dx) applies to sections with shifted(z).
template <class T, class Shifted>
tensor::Tensor<T> crop_shifted(const tensor::Tensor<T>& in, std::int64_t m, std::int64_t dy, std::int64_t dx, Shifted&& shifted)
{
    if (m == 0) return in;
    const Vec3i S{in.size().z, in.size().y - 2 * m, in.size().x - 2 * m};
    tensor::Tensor<T> out(in.channels(), S, core::Init::Uninitialized);
    for (std::int64_t c = 0; c < in.channels(); ++c)
        for (std::int64_t z = 0; z < S.z; ++z) {
            const bool s = shifted(z);
            for (std::int64_t y = 0; y < S.y; ++y) {
                const T* src = in.view().row(c, z, y + m + (s ? dy : 0)) + m + (s ? dx : 0);
                std::copy_n(src, S.x, out.view().row(c, z, y));
            }
        }
    return out;
}

template <class T> tensor::Tensor<T> copy_box(const tensor::Tensor<T>& in, const Box3& box)
{
    tensor::Tensor<T> out(in.channels(), box.size, core::Init::Uninitialized);
    tensor::copy(in.box(box), out.view());
    return out;
}

/// A region cut at deviation d and transformed; `fetch` is the size after the transform.
template <class T>
tensor::Tensor<T> cut(const HeldRegion<T>& held, const Vec3i& shape, const Vec3i& d, const Vec3i& fetch, const SpatialTransform& t)
{
    const Vec3i oriented = t.transpose ? swap_yx(fetch) : fetch;
    return t.apply<T>(held.view(patch_box(shape, d, oriented)));
}

}  // namespace

std::optional<SamplePlan> SamplePlan::make(const config::ResolvedSample& sample, const SampleOptions& options, config::Diagnostics& d)
{
    const std::size_t errors_before = d.errors().size();
    const PatchGeometry& g = options.geometry;
    SamplePlan plan;
    plan.id = sample.id;
    plan.rule = FetchRule::of(options.out_type, options.augment, g);
    const std::string where = sample.where.empty() ? "sample " + std::to_string(sample.id) : sample.where;
    if (options.out_type == config::OutType::Semantic && options.num_classes < 1)
        d.error_at(where, "semantic output needs num_classes (or an output node size)");
    for (const auto& [node, image] : sample.inputs)
        if (g.inputs.count(node))
            if (auto c = check_image(*image, d)) {
                const Vec3i fov = g.fov(node);
                plan.inputs.push_back({node, std::move(*c), image->preprocess, g.inputs.at(node), options.mirror ? low_margin(fov) : Vec3i{},
                                       options.mirror ? high_margin(fov) : Vec3i{}});
            }
    for (const auto& [node, label] : sample.outputs)
        if (g.outputs.count(node))
            if (auto c = check_label(*label, d)) plan.outputs.push_back({node, std::move(*c), g.outputs.at(node)});
    if (d.errors().size() > errors_before) return std::nullopt;

    constexpr std::int64_t kLow = std::numeric_limits<std::int64_t>::min() / 4, kBig = std::numeric_limits<std::int64_t>::max() / 2;
    Box3 devs{{kLow, kLow, kLow}, {kBig, kBig, kBig}};
    std::string fits;
    for (const Input& p : plan.inputs) {
        devs = core::intersect(devs, plan.rule.deviations(p.padded(), p.patch));
        fits += "\n    input '" + p.node + "': patch " + core::to_string(plan.rule.fetch(p.patch)) + " in " +
                (options.mirror ? "mirrored volume " : "volume ") + core::to_string(p.padded()) + " (" + p.image.files.front().uri.str() +
                (p.image.files.size() > 1 ? ", ..." : "") + ")";
    }
    for (const Output& p : plan.outputs) {
        devs = core::intersect(devs, plan.rule.deviations(p.label.shape, p.patch));
        fits += "\n    output '" + p.node + "': patch " + core::to_string(plan.rule.fetch(p.patch)) + " in label volume " +
                core::to_string(p.label.shape) + " (" + p.label.label.uri.str() + ")";
    }
    if (devs.empty()) {
        d.error_at(where, "sample " + std::to_string(sample.id) + ": no patch position fits in every volume" + fits +
                              (plan.rule.affinity ? "\n  (affinity outputs fetch one voxel more per axis, z included)" : "") +
                              (options.mirror ? "" : "\n  (a smaller train_outsz, or is_bd_mirror = yes, would help)"));
        return std::nullopt;
    }
    plan.deviations = devs;
    return plan;
}

SampleData SampleData::load(const config::ResolvedSample& sample, const SampleOptions& options, const dist::Comm& comm)
{
    return Loader(sample, options, comm).load();
}

Patch SampleData::extract(const core::Vec3i& d, const SpatialTransform& t, core::Rng* augment) const
{
    Patch patch;
    patch.sample = id_;
    patch.deviation = d;
    patch.transform = t;

    // Misalignment: sections of the label patch after `split` (and the input sections level with
    // them) shift by (dy, dx).
    const std::int64_t m = rule_.misalign;
    std::int64_t split = std::numeric_limits<std::int64_t>::max(), dy = 0, dx = 0;
    const Vec3i label_fetch = outputs_.empty() ? Vec3i{} : rule_.fetch(outputs_.front().patch);
    if (augment && m > 0 && !outputs_.empty() && label_fetch.z > 1 && augment->bernoulli(options_.augment.misalign)) {
        split = augment->uniform_int(0, label_fetch.z - 2);
        dy = augment->uniform_int(-m, m);
        dx = augment->uniform_int(-m, m);
        patch.misaligned = dy != 0 || dx != 0;
    }

    for (const Input& in : inputs_) {
        const Vec3i fetch = rule_.fetch(in.patch);
        tensor::Tensor<float> x = cut(in.held, in.padded, d, fetch, t);
        // Where the label patch starts inside the input patch along z, in the transformed frame.
        std::int64_t offset = low_margin(fetch).z - low_margin(label_fetch).z;
        if (t.flip_z) offset = (fetch.z - label_fetch.z) - offset;
        x = crop_shifted(x, m, dy, dx, [&](std::int64_t z) { return z - offset > split; });
        if (rule_.affinity) x = copy_box(x, {{1, 1, 1}, x.size() - 1});
        if (augment) augment_intensity(x.view(), options_.augment, *augment);
        patch.inputs.emplace(in.node, std::move(x));
    }

    for (const Output& out : outputs_) {
        const Vec3i fetch = rule_.fetch(out.patch);
        auto shifted = [&](std::int64_t z) { return z > split; };
        const tensor::Tensor<std::uint32_t> label = crop_shifted(cut(out.label, out.shape, d, fetch, t), m, dy, dx, shifted);
        tensor::Tensor<std::uint8_t> mask;
        if (!out.mask.data.empty()) mask = crop_shifted(cut(out.mask, out.shape, d, fetch, t), m, dy, dx, shifted);
        PatchTarget target = target_of(out, label, mask, d);
        weigh(out, target);
        patch.outputs.emplace(out.node, std::move(target));
    }
    return patch;
}

PatchTarget SampleData::target_of(const Output& out, const tensor::Tensor<std::uint32_t>& label,
                                  const tensor::Tensor<std::uint8_t>& mask, const core::Vec3i& d) const
{
    PatchTarget target;
    const Vec3i S = out.patch;
    switch (options_.out_type) {
    case config::OutType::Boundary:
        target.target = tensor::Tensor<float>(2, S, core::Init::Uninitialized);
        boundary_targets(label.cview(), target.target.view());
        if (!mask.empty()) {
            target.mask = tensor::Tensor<float>(2, S, core::Init::Uninitialized);
            channel_mask(mask.cview(), target.mask.view());
        }
        break;
    case config::OutType::Affinity:
        target.target = tensor::Tensor<float>(3, S, core::Init::Uninitialized);
        affinity_targets(label.cview(), target.target.view());
        if (!mask.empty()) {
            target.mask = tensor::Tensor<float>(3, S, core::Init::Uninitialized);
            affinity_mask(mask.cview(), target.mask.view());
        }
        break;
    case config::OutType::Semantic: {
        target.target = tensor::Tensor<float>(options_.num_classes, S, core::Init::Uninitialized);
        const std::int64_t bad = semantic_targets(label.cview(), target.target.view());
        if (bad >= 0)
            throw core::InputError("label " + std::to_string(bad) + " is not a class (num_classes = " +
                                   std::to_string(options_.num_classes) + ") near deviation " + core::to_string(d))
                .at(out.file);
        if (!mask.empty()) {
            target.mask = tensor::Tensor<float>(options_.num_classes, S, core::Init::Uninitialized);
            channel_mask(mask.cview(), target.mask.view());
        }
        break;
    }
    }
    return target;
}

void SampleData::weigh(const Output& out, PatchTarget& target) const
{
    if (options_.rebalance == config::Rebalance::None) return;
    target.weight = tensor::Tensor<float>(target.target.channels(), out.patch, core::Init::Uninitialized);
    const bool semantic = options_.out_type == config::OutType::Semantic;
    if (options_.rebalance == config::Rebalance::Global) {
        if (semantic)
            apply_semantic_weights(target.target.cview(), out.global_class_weights, target.weight.view());
        else
            apply_class_weights(target.target.cview(), out.global_weights, target.weight.view());
        return;
    }
    const tensor::TensorView<const float> mv = target.mask.cview();
    const ClassCounts counts = ClassCounts::of(target.target.cview(), target.mask.empty() ? nullptr : &mv);
    if (semantic) {
        apply_semantic_weights(target.target.cview(), semantic_weights(counts.positives), target.weight.view());
        return;
    }
    std::vector<ClassWeights> w;
    for (std::size_t c = 0; c < counts.positives.size(); ++c) w.push_back(normalized_weights(counts.positives[c], counts.zeros[c]));
    apply_class_weights(target.target.cview(), w, target.weight.view());
}

std::int64_t SampleData::bytes_held() const
{
    std::int64_t bytes = 0;
    for (const Input& in : inputs_) bytes += in.held.data.count() * static_cast<std::int64_t>(sizeof(float));
    for (const Output& out : outputs_)
        bytes += out.label.data.count() * static_cast<std::int64_t>(sizeof(std::uint32_t)) + out.mask.data.count();
    return bytes;
}

std::string SampleData::describe() const
{
    std::ostringstream os;
    os << "sample " << id_ << ":";
    for (const Input& in : inputs_)
        os << " input '" << in.node << "' " << in.held.data.channels() << "x" << core::to_string(in.padded) << (options_.mirror ? " mirrored" : "");
    for (const Output& out : outputs_) os << ", label '" << out.node << "' " << core::to_string(out.shape) << (out.mask.data.empty() ? "" : " masked");
    os << "; " << candidates_.count() << " candidate patches here of " << deviations_.voxels() << " positions, "
       << (bytes_held() + (1 << 19)) / (1 << 20) << " MiB held";
    return os.str();
}

}  // namespace znn::data
