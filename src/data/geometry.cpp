#include "znn/data/geometry.hpp"

#include <limits>

#include "znn/core/error.hpp"

namespace znn::data {

Vec3i PatchGeometry::output_size() const
{
    ZNN_CHECK(!outputs.empty(), "PatchGeometry without outputs");
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    Vec3i s{kMax, kMax, kMax};
    for (const auto& [node, size] : outputs) s = min(s, size);
    return s;
}

Vec3i PatchGeometry::fov(const std::string& input_node) const
{
    const auto it = inputs.find(input_node);
    ZNN_CHECK(it != inputs.end(), "no input node " + input_node);
    return it->second - output_size() + 1;
}

Box3 deviation_range(Vec3i shape, Vec3i p)
{
    const Vec3i c = volume_centre(shape);
    const Vec3i lo = low_margin(p) - c;
    const Vec3i hi = shape - 1 - high_margin(p) - c;  // inclusive
    return {lo, max(hi - lo + 1, Vec3i{0, 0, 0})};
}

FetchRule FetchRule::of(config::OutType out_type, const config::Augmentation& augment, const PatchGeometry& g)
{
    FetchRule r;
    r.affinity = out_type == config::OutType::Affinity;
    r.misalign = g.outputs.empty() || g.output_size().z > 1 ? augment.margin() : 0;
    r.either_orientation = augment.transpose || augment.rot90;
    return r;
}

Vec3i FetchRule::fetch(Vec3i p) const
{
    if (affinity) p = p + 1;
    p.y += 2 * misalign;
    p.x += 2 * misalign;
    return p;
}

Box3 FetchRule::deviations(Vec3i shape, Vec3i p) const
{
    const Vec3i f = fetch(p);
    Box3 d = deviation_range(shape, f);
    if (either_orientation) d = core::intersect(d, deviation_range(shape, swap_yx(f)));
    return d;
}

Box3 FetchRule::coverage(Vec3i shape, Vec3i p, const Box3& devs) const
{
    const Vec3i f = fetch(p);
    const Vec3i hi = devs.end() - 1;
    Vec3i lo_m = low_margin(f), hi_m = high_margin(f);
    if (either_orientation) {
        lo_m = max(lo_m, low_margin(swap_yx(f)));
        hi_m = max(hi_m, high_margin(swap_yx(f)));
    }
    const Vec3i c = volume_centre(shape);
    const Vec3i first = c + devs.origin - lo_m;
    const Vec3i last = c + hi + hi_m;
    return {first, last - first + 1};
}

}  // namespace znn::data
