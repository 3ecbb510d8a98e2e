// Augmentations: spatial transforms inverted exactly, composed correctly, consistent for affinities;
// intensity transforms against their definitions.

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "znn/core/rng.hpp"
#include "znn/data/augment.hpp"
#include "znn/data/targets.hpp"

using namespace znn;
using namespace znn::data;
using core::Vec3i;
using tensor::Tensor;

namespace {

std::vector<SpatialTransform> every_transform()
{
    std::vector<SpatialTransform> all;
    for (int bits = 0; bits < 16; ++bits) all.push_back({(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0});
    return all;
}

template <class T> Tensor<T> random_tensor(std::int64_t c, Vec3i s, std::uint64_t seed, std::int64_t range = 1000)
{
    Tensor<T> t(c, s);
    core::Rng rng(seed);
    for (std::int64_t i = 0; i < t.count(); ++i) t.data()[i] = static_cast<T>(rng.uniform_int(0, range));
    return t;
}

template <class T> bool same(const Tensor<T>& a, const Tensor<T>& b)
{
    return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.count(), b.data());
}

/// Where output voxel q of t.apply() comes from in the input (of size `in`).
Vec3i source_of(const SpatialTransform& t, Vec3i q, Vec3i out)
{
    if (t.flip_z) q.z = out.z - 1 - q.z;
    if (t.flip_y) q.y = out.y - 1 - q.y;
    if (t.flip_x) q.x = out.x - 1 - q.x;
    if (t.transpose) std::swap(q.y, q.x);
    return q;
}

}  // namespace

TEST(SpatialTransform, InverseUndoesEveryTransformExactly)
{
    const auto v = random_tensor<float>(2, {3, 4, 5}, 1);
    const auto l = random_tensor<std::uint32_t>(1, {2, 5, 3}, 2);
    for (const SpatialTransform& t : every_transform()) {
        const auto there = t.apply<float>(v.cview());
        EXPECT_EQ(there.size(), t.transpose ? (Vec3i{3, 5, 4}) : (Vec3i{3, 4, 5}));
        EXPECT_TRUE(same(t.inverse().apply<float>(there.cview()), v));
        EXPECT_TRUE(same(t.inverse().apply<std::uint32_t>(t.apply<std::uint32_t>(l.cview()).cview()), l));
        EXPECT_EQ(t.after(t.inverse()), SpatialTransform{});
        EXPECT_EQ(t.inverse().after(t), SpatialTransform{});
    }
}

TEST(SpatialTransform, CompositionMatchesApplyingInTurn)
{
    const auto v = random_tensor<std::uint8_t>(1, {2, 3, 4}, 3, 255);
    for (const SpatialTransform& a : every_transform())
        for (const SpatialTransform& b : every_transform()) {
            const auto in_turn = b.apply<std::uint8_t>(a.apply<std::uint8_t>(v.cview()).cview());
            EXPECT_TRUE(same(b.after(a).apply<std::uint8_t>(v.cview()), in_turn));
        }
}

TEST(SpatialTransform, RotationFollowsNumpyRot90)
{
    // numpy.rot90([[1, 2, 3], [4, 5, 6]]) = [[3, 6], [2, 5], [1, 4]]
    Tensor<float> m(1, {1, 2, 3});
    for (int i = 0; i < 6; ++i) m.data()[i] = float(i + 1);
    const auto r = SpatialTransform::rotation(1).apply<float>(m.cview());
    ASSERT_EQ(r.size(), (Vec3i{1, 3, 2}));
    EXPECT_EQ(std::vector<float>(r.data(), r.data() + 6), (std::vector<float>{3, 6, 2, 5, 1, 4}));
    // Four quarter turns are the identity; two are both reflections.
    EXPECT_EQ(SpatialTransform::rotation(1).after(SpatialTransform::rotation(3)), SpatialTransform{});
    EXPECT_EQ(SpatialTransform::rotation(2), (SpatialTransform{false, false, true, true}));
    EXPECT_EQ(SpatialTransform::rotation(-1), SpatialTransform::rotation(3));
}

TEST(SpatialTransform, DrawReachesEveryTransformOfTheConfiguredSet)
{
    core::Rng rng(11);
    std::set<int> seen, seen_no_transpose;
    auto key = [](const SpatialTransform& t) { return int(t.transpose) | int(t.flip_z) << 1 | int(t.flip_y) << 2 | int(t.flip_x) << 3; };
    for (int i = 0; i < 2000; ++i) {
        seen.insert(key(SpatialTransform::draw(rng, true, true, true)));
        const SpatialTransform t = SpatialTransform::draw(rng, true, false, false);
        EXPECT_FALSE(t.transpose);
        seen_no_transpose.insert(key(t));
    }
    EXPECT_EQ(seen.size(), 16u);
    EXPECT_EQ(seen_no_transpose.size(), 8u);
    EXPECT_TRUE(SpatialTransform::draw(rng, false, false, false).identity());
}

namespace {

/// Affinities of t(label) (label one voxel larger than S per axis) at every output voxel q along axis
/// a join voxels p = q + 1 and p - e_a of the transformed label; mapped back, these must be
/// neighbours in the original, and the affinity their edge there.
void expect_affinities_are_edges(const Tensor<std::uint32_t>& label, const SpatialTransform& t)
{
    const auto moved = t.apply<std::uint32_t>(label.cview());
    const Vec3i S = moved.size() - 1;
    Tensor<float> aff(3, S);
    affinity_targets(moved.cview(), aff.view());
    const Vec3i e[3] = {{0, 0, 1}, {0, 1, 0}, {1, 0, 0}};
    for (int a = 0; a < 3; ++a)
        for (std::int64_t z = 0; z < S.z; ++z)
            for (std::int64_t y = 0; y < S.y; ++y)
                for (std::int64_t x = 0; x < S.x; ++x) {
                    const Vec3i p = Vec3i{z, y, x} + 1;
                    const Vec3i p1 = source_of(t, p, S + 1), p2 = source_of(t, p - e[a], S + 1);
                    const Vec3i diff = p1 - p2;
                    ASSERT_EQ(std::abs(diff.z) + std::abs(diff.y) + std::abs(diff.x), 1);
                    const std::uint32_t l1 = label(0, p1.z, p1.y, p1.x), l2 = label(0, p2.z, p2.y, p2.x);
                    ASSERT_EQ(aff(a, z, y, x), (l1 == l2 && l1 > 0) ? 1.0f : 0.0f);
                }
}

}  // namespace

TEST(SpatialTransform, AffinitiesOfTransformedLabelsAreEdgesOfTheOriginal)
{
    // Small label IDs, so that neighbours often agree. Reflections on a box; transposes on a
    // square xy (they swap the y and x sizes).
    const auto box = random_tensor<std::uint32_t>(1, Vec3i{3, 4, 5} + 1, 4, 2);
    const auto square = random_tensor<std::uint32_t>(1, Vec3i{2, 4, 4} + 1, 5, 2);
    for (const SpatialTransform& t : every_transform()) {
        if (!t.transpose) expect_affinities_are_edges(box, t);
        expect_affinities_are_edges(square, t);
    }
}

TEST(Intensity, GaussianBlurMatchesADirectSumWithClampedBorders)
{
    auto v = random_tensor<float>(2, {3, 7, 9}, 6);
    const Tensor<float> original = v;
    const double sigma = 1.3;
    gaussian_blur(v.view(), 2, sigma);
    const auto radius = static_cast<std::int64_t>(std::ceil(3 * sigma));
    double norm = 0;
    for (std::int64_t k = -radius; k <= radius; ++k) norm += std::exp(-0.5 * double(k * k) / (sigma * sigma));
    for (std::int64_t c = 0; c < 2; ++c)
        for (std::int64_t z = 0; z < 3; ++z)
            for (std::int64_t y = 0; y < 7; ++y)
                for (std::int64_t x = 0; x < 9; ++x) {
                    double s = 0;
                    for (std::int64_t k = -radius; k <= radius; ++k)
                        s += std::exp(-0.5 * double(k * k) / (sigma * sigma)) * original(c, z, y, std::clamp<std::int64_t>(x + k, 0, 8));
                    EXPECT_NEAR(v(c, z, y, x), s / norm, 1e-3);
                }
}

TEST(Intensity, BlurSectionTouchesOnlyThatSection)
{
    auto v = random_tensor<float>(1, {3, 6, 6}, 7);
    const Tensor<float> original = v;
    blur_section(v.view(), 1, 1.0);
    for (std::int64_t z : {0, 2})
        for (std::int64_t i = 0; i < 36; ++i) EXPECT_EQ(v.data()[z * 36 + i], original.data()[z * 36 + i]);
    double before = 0, after = 0, spread_before = 0, spread_after = 0;
    for (std::int64_t i = 0; i < 36; ++i) {
        before += original.data()[36 + i];
        after += v.data()[36 + i];
    }
    for (std::int64_t i = 0; i < 36; ++i) {
        spread_before += std::abs(original.data()[36 + i] - before / 36);
        spread_after += std::abs(v.data()[36 + i] - after / 36);
    }
    EXPECT_LT(spread_after, 0.7 * spread_before);  // smoothing reduces the spread
}

TEST(Intensity, GrayscaleIsMonotoneAndMissingSectionsAreBlank)
{
    config::Augmentation a;
    a.grayscale = 1;
    auto v = random_tensor<float>(1, {2, 5, 5}, 8);
    const Tensor<float> original = v;
    core::Rng rng(9);
    augment_intensity(v.view(), a, rng);
    bool changed = false;
    for (std::int64_t i = 0; i < v.count(); ++i) {
        changed = changed || v.data()[i] != original.data()[i];
        for (std::int64_t j = 0; j < v.count(); ++j)
            if (original.data()[i] < original.data()[j]) {
                ASSERT_LE(v.data()[i], v.data()[j]);
            }
    }
    EXPECT_TRUE(changed);

    config::Augmentation m;
    m.missing_section = 1;
    m.missing_sections = 1;
    auto w = random_tensor<float>(1, {4, 3, 3}, 10, 100);
    for (std::int64_t i = 0; i < w.count(); ++i) w.data()[i] += 1;  // no zeros before
    augment_intensity(w.view(), m, rng);
    int blank = 0;
    for (std::int64_t z = 0; z < 4; ++z) {
        int zeros = 0;
        for (std::int64_t i = 0; i < 9; ++i) zeros += w.data()[z * 9 + i] == 0;
        EXPECT_TRUE(zeros == 0 || zeros == 9);
        blank += zeros == 9;
    }
    EXPECT_EQ(blank, 1);
}
