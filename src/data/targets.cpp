#include "znn/data/targets.hpp"

#include "znn/core/error.hpp"

namespace znn::data {

void boundary_targets(TensorView<const std::uint32_t> label, TensorView<float> targets)
{
    ZNN_CHECK(label.channels() == 1 && targets.channels() == 2 && label.size() == targets.size(), "boundary_targets: shapes");
    const core::Vec3i S = label.size();
    for (std::int64_t z = 0; z < S.z; ++z)
        for (std::int64_t y = 0; y < S.y; ++y) {
            const std::uint32_t* l = label.row(0, z, y);
            float* inside = targets.row(0, z, y);
            float* outside = targets.row(1, z, y);
            for (std::int64_t x = 0; x < S.x; ++x) {
                inside[x] = l[x] > 0 ? 1.0f : 0.0f;
                outside[x] = 1.0f - inside[x];
            }
        }
}

void affinity_targets(TensorView<const std::uint32_t> label, TensorView<float> targets)
{
    ZNN_CHECK(label.channels() == 1 && targets.channels() == 3 && label.size() == targets.size() + 1, "affinity_targets: shapes");
    const core::Vec3i S = targets.size();
    // Channel order x, y, z (the original's, PR #65): neighbour offsets along x, then y, then z.
    const core::Vec3i offsets[3] = {{0, 0, 1}, {0, 1, 0}, {1, 0, 0}};
    for (int a = 0; a < 3; ++a)
        for (std::int64_t z = 0; z < S.z; ++z)
            for (std::int64_t y = 0; y < S.y; ++y) {
                const std::uint32_t* here = label.row(0, z + 1, y + 1) + 1;
                const std::uint32_t* there = label.row(0, z + 1 - offsets[a].z, y + 1 - offsets[a].y) + 1 - offsets[a].x;
                float* out = targets.row(a, z, y);
                for (std::int64_t x = 0; x < S.x; ++x) out[x] = (here[x] == there[x] && here[x] > 0) ? 1.0f : 0.0f;
            }
}

void affinity_mask(TensorView<const std::uint8_t> mask, TensorView<float> out)
{
    ZNN_CHECK(mask.channels() == 1 && out.channels() == 3 && mask.size() == out.size() + 1, "affinity_mask: shapes");
    const core::Vec3i S = out.size();
    const core::Vec3i offsets[3] = {{0, 0, 1}, {0, 1, 0}, {1, 0, 0}};
    for (int a = 0; a < 3; ++a)
        for (std::int64_t z = 0; z < S.z; ++z)
            for (std::int64_t y = 0; y < S.y; ++y) {
                const std::uint8_t* here = mask.row(0, z + 1, y + 1) + 1;
                const std::uint8_t* there = mask.row(0, z + 1 - offsets[a].z, y + 1 - offsets[a].y) + 1 - offsets[a].x;
                float* o = out.row(a, z, y);
                for (std::int64_t x = 0; x < S.x; ++x) o[x] = (here[x] > 0 || there[x] > 0) ? 1.0f : 0.0f;
            }
}

std::int64_t semantic_targets(TensorView<const std::uint32_t> label, TensorView<float> targets)
{
    ZNN_CHECK(label.channels() == 1 && label.size() == targets.size(), "semantic_targets: shapes");
    const std::int64_t classes = targets.channels();
    tensor::fill(targets, 0.0f);
    const core::Vec3i S = label.size();
    for (std::int64_t z = 0; z < S.z; ++z)
        for (std::int64_t y = 0; y < S.y; ++y) {
            const std::uint32_t* l = label.row(0, z, y);
            for (std::int64_t x = 0; x < S.x; ++x) {
                if (static_cast<std::int64_t>(l[x]) >= classes) return l[x];
                targets(l[x], z, y, x) = 1.0f;
            }
        }
    return -1;
}

void channel_mask(TensorView<const std::uint8_t> mask, TensorView<float> out)
{
    ZNN_CHECK(mask.channels() == 1 && mask.size() == out.size(), "channel_mask: shapes");
    for (std::int64_t c = 0; c < out.channels(); ++c)
        for (std::int64_t z = 0; z < out.size().z; ++z)
            for (std::int64_t y = 0; y < out.size().y; ++y) {
                const std::uint8_t* m = mask.row(0, z, y);
                float* o = out.row(c, z, y);
                for (std::int64_t x = 0; x < out.size().x; ++x) o[x] = m[x] > 0 ? 1.0f : 0.0f;
            }
}

ClassCounts ClassCounts::of(TensorView<const float> targets, const TensorView<const float>* mask)
{
    ClassCounts counts;
    counts.positives.assign(static_cast<std::size_t>(targets.channels()), 0);
    counts.zeros.assign(static_cast<std::size_t>(targets.channels()), 0);
    for (std::int64_t c = 0; c < targets.channels(); ++c)
        for (std::int64_t z = 0; z < targets.size().z; ++z)
            for (std::int64_t y = 0; y < targets.size().y; ++y) {
                const float* t = targets.row(c, z, y);
                const float* m = mask ? mask->row(c, z, y) : nullptr;
                for (std::int64_t x = 0; x < targets.size().x; ++x) {
                    if (m && m[x] <= 0) continue;
                    ++(t[x] > 0.5f ? counts.positives : counts.zeros)[static_cast<std::size_t>(c)];
                }
            }
    return counts;
}

void ClassCounts::merge(const ClassCounts& o)
{
    if (positives.empty()) {
        *this = o;
        return;
    }
    for (std::size_t c = 0; c < positives.size() && c < o.positives.size(); ++c) {
        positives[c] += o.positives[c];
        zeros[c] += o.zeros[c];
    }
}

ClassWeights global_boundary_weights(std::int64_t positives, std::int64_t zeros)
{
    if (positives == 0 || zeros == 0) return {};
    const double n = static_cast<double>(positives + zeros);
    return {0.5 * n / static_cast<double>(positives), 0.5 * n / static_cast<double>(zeros)};
}

ClassWeights normalized_weights(std::int64_t positives, std::int64_t zeros)
{
    if (positives == 0 || zeros == 0) return {};
    const double n = static_cast<double>(positives + zeros);
    return {static_cast<double>(zeros) / n, static_cast<double>(positives) / n};
}

std::vector<double> semantic_weights(const std::vector<std::int64_t>& class_counts)
{
    std::vector<double> w(class_counts.size(), 0.0);
    double total = 0;
    for (std::size_t k = 0; k < w.size(); ++k)
        if (class_counts[k] > 0) total += w[k] = 1.0 / static_cast<double>(class_counts[k]);
    if (total == 0) return std::vector<double>(w.size(), 1.0);
    for (double& x : w) x /= total;
    return w;
}

void apply_class_weights(TensorView<const float> targets, const std::vector<ClassWeights>& per_channel, TensorView<float> weights)
{
    ZNN_CHECK(targets.shape() == weights.shape() && per_channel.size() == static_cast<std::size_t>(targets.channels()),
              "apply_class_weights: shapes");
    for (std::int64_t c = 0; c < targets.channels(); ++c) {
        const ClassWeights w = per_channel[static_cast<std::size_t>(c)];
        for (std::int64_t z = 0; z < targets.size().z; ++z)
            for (std::int64_t y = 0; y < targets.size().y; ++y) {
                const float* t = targets.row(c, z, y);
                float* o = weights.row(c, z, y);
                for (std::int64_t x = 0; x < targets.size().x; ++x)
                    o[x] = static_cast<float>(t[x] > 0.5f ? w.positive : w.zero);
            }
    }
}

void apply_semantic_weights(TensorView<const float> targets, const std::vector<double>& class_weights, TensorView<float> weights)
{
    ZNN_CHECK(targets.shape() == weights.shape() && class_weights.size() == static_cast<std::size_t>(targets.channels()),
              "apply_semantic_weights: shapes");
    for (std::int64_t z = 0; z < targets.size().z; ++z)
        for (std::int64_t y = 0; y < targets.size().y; ++y)
            for (std::int64_t x = 0; x < targets.size().x; ++x) {
                double w = 1;
                for (std::int64_t k = 0; k < targets.channels(); ++k)
                    if (targets(k, z, y, x) > 0.5f) w = class_weights[static_cast<std::size_t>(k)];
                for (std::int64_t k = 0; k < targets.channels(); ++k) weights(k, z, y, x) = static_cast<float>(w);
            }
}

}  // namespace znn::data
