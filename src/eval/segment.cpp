#include "znn/eval/segment.hpp"

#include <numeric>

#include "znn/core/error.hpp"

namespace znn::eval {

const char* to_string(MapKind kind) noexcept
{
    switch (kind) {
    case MapKind::Labels: return "labels";
    case MapKind::Interior: return "interior";
    case MapKind::Membrane: return "membrane";
    case MapKind::Affinity: return "affinity";
    }
    return "?";
}

std::optional<MapKind> parse_map_kind(std::string_view name) noexcept
{
    for (const MapKind k : {MapKind::Labels, MapKind::Interior, MapKind::Membrane, MapKind::Affinity})
        if (name == to_string(k)) return k;
    return std::nullopt;
}

namespace {

/// Union-find over the voxels of one stack; the root of a set is its smallest index.
class VoxelSets {
public:
    explicit VoxelSets(std::size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), std::int64_t(0)); }
    std::int64_t find(std::int64_t a)
    {
        while (parent_[std::size_t(a)] != a) {
            parent_[std::size_t(a)] = parent_[std::size_t(parent_[std::size_t(a)])];  // path halving
            a = parent_[std::size_t(a)];
        }
        return a;
    }
    void join(std::int64_t a, std::int64_t b)
    {
        a = find(a);
        b = find(b);
        if (a < b)
            parent_[std::size_t(b)] = a;
        else if (b < a)
            parent_[std::size_t(a)] = b;
    }

private:
    std::vector<std::int64_t> parent_;
};

}  // namespace

tensor::Tensor<std::uint64_t> label_stack(tensor::TensorView<const float> map, std::int64_t planes,
                                          std::uint64_t first_index, const Segmenter& how)
{
    const core::Vec3i s = map.size();
    ZNN_CHECK(planes <= s.z && s.z <= planes + 1, "label_stack: the map holds the stack and at most one more section");
    const std::int64_t Y = s.y, X = s.x, plane = Y * X, n = planes * plane;
    tensor::Tensor<std::uint64_t> labels(1, {planes, Y, X});
    std::uint64_t* out = labels.data();
    VoxelSets sets(static_cast<std::size_t>(n));
    const double t = how.threshold;

    if (how.kind == MapKind::Affinity) {
        ZNN_CHECK(map.channels() >= 3, "label_stack: affinity maps have 3 channels");
        // has[v]: v has an edge (to any of its 6 neighbours) above the threshold.
        std::vector<std::uint8_t> has(static_cast<std::size_t>(n), 0);
        for (std::int64_t z = 0; z < s.z; ++z)
            for (std::int64_t y = 0; y < Y; ++y) {
                const float* ax = map.row(0, z, y);
                const float* ay = map.row(1, z, y);
                const float* az = map.row(2, z, y);
                for (std::int64_t x = 0; x < X; ++x) {
                    const std::int64_t v = z * plane + y * X + x;
                    const bool in_stack = z < planes;
                    if (in_stack && x > 0 && double(ax[x]) > t) {
                        has[std::size_t(v)] = has[std::size_t(v - 1)] = 1;
                        sets.join(v, v - 1);
                    }
                    if (in_stack && y > 0 && double(ay[x]) > t) {
                        has[std::size_t(v)] = has[std::size_t(v - X)] = 1;
                        sets.join(v, v - X);
                    }
                    if (!how.planar && double(az[x]) > t) {
                        // z == 0: an edge to the section before the stack (joined by face_pairs, if
                        // there is one: first_index > 0); z == planes: to the last section of the stack.
                        if (z > 0) has[std::size_t(v - plane)] = 1;
                        if (in_stack && (z > 0 || first_index > 0)) has[std::size_t(v)] = 1;
                        if (in_stack && z > 0) sets.join(v, v - plane);
                    }
                }
            }
        for (std::int64_t v = 0; v < n; ++v)
            out[v] = has[std::size_t(v)] ? first_index + std::uint64_t(sets.find(v)) + 1 : 0;
        return labels;
    }

    ZNN_CHECK(how.kind == MapKind::Interior || how.kind == MapKind::Membrane, "label_stack: not a map");
    ZNN_CHECK(how.channel >= 0 && how.channel < map.channels(), "label_stack: no such channel");
    std::vector<std::uint8_t> inside(static_cast<std::size_t>(n));
    for (std::int64_t z = 0; z < planes; ++z)
        for (std::int64_t y = 0; y < Y; ++y) {
            const float* row = map.row(how.channel, z, y);
            std::uint8_t* in = inside.data() + z * plane + y * X;
            for (std::int64_t x = 0; x < X; ++x)
                in[x] = how.kind == MapKind::Interior ? double(row[x]) > t : double(row[x]) < t;
        }
    for (std::int64_t z = 0; z < planes; ++z)
        for (std::int64_t y = 0; y < Y; ++y)
            for (std::int64_t x = 0; x < X; ++x) {
                const std::int64_t v = z * plane + y * X + x;
                if (!inside[std::size_t(v)]) continue;
                if (x > 0 && inside[std::size_t(v - 1)]) sets.join(v, v - 1);
                if (y > 0 && inside[std::size_t(v - X)]) sets.join(v, v - X);
                if (!how.planar && z > 0 && inside[std::size_t(v - plane)]) sets.join(v, v - plane);
            }
    for (std::int64_t v = 0; v < n; ++v)
        out[v] = inside[std::size_t(v)] ? first_index + std::uint64_t(sets.find(v)) + 1 : 0;
    return labels;
}

void face_pairs(const std::uint64_t* previous, const std::uint64_t* first, const float* z_affinity, std::int64_t voxels,
                const Segmenter& how, std::vector<LabelPair>& pairs)
{
    if (how.planar || how.kind == MapKind::Labels) return;
    const std::size_t start = pairs.size();
    for (std::int64_t v = 0; v < voxels; ++v) {
        if (previous[v] == 0 || first[v] == 0) continue;
        if (how.kind == MapKind::Affinity && !(double(z_affinity[v]) > how.threshold)) continue;
        if (pairs.size() > start && pairs.back() == LabelPair{previous[v], first[v]}) continue;
        pairs.push_back({previous[v], first[v]});
    }
}

std::uint64_t Joins::find(std::uint64_t a)
{
    auto it = parent_.find(a);
    if (it == parent_.end()) {
        parent_.emplace(a, a);
        return a;
    }
    std::uint64_t root = a;
    while (parent_[root] != root)
        root = parent_[root];
    while (a != root) {  // path compression
        std::uint64_t& p = parent_[a];
        a = p;
        p = root;
    }
    return root;
}

void Joins::join(std::uint64_t a, std::uint64_t b)
{
    a = find(a);
    b = find(b);
    if (a < b)
        parent_[b] = a;
    else if (b < a)
        parent_[a] = b;
}

std::unordered_map<std::uint64_t, std::uint64_t> Joins::renaming()
{
    std::vector<std::uint64_t> labels;
    labels.reserve(parent_.size());
    for (const auto& [label, parent] : parent_)
        labels.push_back(label);
    std::unordered_map<std::uint64_t, std::uint64_t> rename;
    for (std::uint64_t label : labels) {
        const std::uint64_t root = find(label);
        if (root != label) rename.emplace(label, root);
    }
    return rename;
}

}  // namespace znn::eval
