// Patch centres (reference §5.3), candidate sets and boundary mirroring (§5.4) on hand-computed cases.

#include <gtest/gtest.h>

#include <map>

#include "support/temp_dir.hpp"
#include "znn/data/candidates.hpp"
#include "znn/data/geometry.hpp"
#include "znn/data/region.hpp"
#include "znn/io/volume_io.hpp"

using namespace znn;
using namespace znn::data;
using core::Box3;
using core::Vec3i;
using tensor::Tensor;

TEST(Geometry, CentresAndMarginsFollowTheOriginal)
{
    // centre = (shape - 1) // 2; low margin = (p - 1) // 2; high margin = p // 2.
    EXPECT_EQ(volume_centre({1, 10, 9}), (Vec3i{0, 4, 4}));
    EXPECT_EQ(low_margin({1, 4, 5}), (Vec3i{0, 1, 2}));
    EXPECT_EQ(high_margin({1, 4, 5}), (Vec3i{0, 2, 2}));
    // An even patch (4) in an even volume (10): centre 4, box [centre + d - 1, centre + d + 2].
    EXPECT_EQ(patch_box({1, 1, 10}, {0, 0, 0}, {1, 1, 4}), (Box3{{0, 0, 3}, {1, 1, 4}}));
    // Deviations keeping it inside: d in [-3, 3] (boxes [0, 4) ... [6, 10)).
    EXPECT_EQ(deviation_range({1, 1, 10}, {1, 1, 4}), (Box3{{0, 0, -3}, {1, 1, 7}}));
    EXPECT_EQ(patch_box({1, 1, 10}, {0, 0, -3}, {1, 1, 4}).origin.x, 0);
    EXPECT_EQ(patch_box({1, 1, 10}, {0, 0, 3}, {1, 1, 4}).end().x, 10);
    // A patch as large as the volume has one position; a larger one none.
    EXPECT_EQ(deviation_range({3, 5, 6}, {3, 5, 6}).voxels(), 1);
    EXPECT_TRUE(deviation_range({3, 5, 6}, {3, 5, 7}).empty());
}

TEST(Geometry, ImageAndLabelStayCentreAligned)
{
    // Image 1x12x12, label 1x8x8 (an FOV of 5 without mirroring), output patch 1x2x2, input 1x6x6.
    // Volumes align at their centres: label voxel j is image voxel j + 2. The output voxel must be
    // the centre of its input window (FOV 5: 2 voxels in) at every deviation.
    const Vec3i image{1, 12, 12}, label{1, 8, 8}, out{1, 2, 2}, in{1, 6, 6};
    const Box3 devs = intersect(deviation_range(image, in), deviation_range(label, out));
    EXPECT_EQ(devs, (Box3{{0, -3, -3}, {1, 7, 7}}));
    for (std::int64_t d = -3; d <= 3; ++d) {
        const Box3 bi = patch_box(image, {0, d, d}, in), bl = patch_box(label, {0, d, d}, out);
        EXPECT_EQ(bl.origin + (volume_centre(image) - volume_centre(label)), bi.origin + low_margin(Vec3i{1, 5, 5}));
    }
}

TEST(Geometry, FetchRuleAddsAffinityAndMisalignMarginsAndBothOrientations)
{
    FetchRule r;
    r.affinity = true;
    r.misalign = 3;
    EXPECT_EQ(r.fetch({2, 4, 6}), (Vec3i{3, 11, 13}));
    r = {};
    r.either_orientation = true;
    // A 1x2x6 patch in a 1x10x8 volume: y fits with 2 or 6, x with 6 or 2 -> the intersection.
    const Box3 d = r.deviations({1, 10, 8}, {1, 2, 6});
    EXPECT_EQ(d, intersect(deviation_range({1, 10, 8}, {1, 2, 6}), deviation_range({1, 10, 8}, {1, 6, 2})));
    EXPECT_EQ(d.size, (Vec3i{1, 5, 3}));
    // The coverage holds every fetched patch, in either orientation, of those deviations.
    const Box3 cover = r.coverage({1, 10, 8}, {1, 2, 6}, d);
    for (std::int64_t y = d.origin.y; y < d.end().y; ++y)
        for (std::int64_t x = d.origin.x; x < d.end().x; ++x) {
            EXPECT_TRUE(cover.contains(patch_box({1, 10, 8}, {0, y, x}, {1, 2, 6})));
            EXPECT_TRUE(cover.contains(patch_box({1, 10, 8}, {0, y, x}, {1, 6, 2})));
        }
}

TEST(Candidates, EnumeratesExactlyTheValidDeviationsAndDrawsThemUniformly)
{
    const Box3 box{{-1, 2, -3}, {2, 3, 4}};
    Tensor<std::uint8_t> valid(1, box.size);
    std::vector<Vec3i> expected;
    for (std::int64_t z = 0; z < 2; ++z)
        for (std::int64_t y = 0; y < 3; ++y)
            for (std::int64_t x = 0; x < 4; ++x)
                if ((z * 7 + y * 3 + x) % 3 == 0) {
                    valid(0, z, y, x) = 1;
                    expected.push_back(box.origin + Vec3i{z, y, x});
                }
    const CandidateSet set = CandidateSet::masked(box, valid);
    ASSERT_EQ(set.count(), static_cast<std::int64_t>(expected.size()));
    for (std::size_t k = 0; k < expected.size(); ++k) EXPECT_EQ(set.at(static_cast<std::int64_t>(k)), expected[k]);

    std::map<std::int64_t, int> hits;
    core::Rng rng(5);
    const int draws = 8000;
    for (int i = 0; i < draws; ++i) {
        const Vec3i d = set.draw(rng);
        ++hits[(d.z * 100 + d.y) * 100 + d.x];
    }
    ASSERT_EQ(hits.size(), expected.size());
    const double mean = double(draws) / double(expected.size());
    for (const auto& [key, n] : hits) EXPECT_NEAR(n, mean, 5 * std::sqrt(mean));  // 5 sigma

    const CandidateSet all = CandidateSet::all(box);
    EXPECT_EQ(all.count(), 24);
    EXPECT_EQ(all.at(0), box.origin);
    EXPECT_EQ(all.at(23), box.end() - 1);
}

TEST(Mirror, ReflectRepeatsTheEdgeVoxelLikeNumpySymmetric)
{
    // numpy.pad([0, 1, 2], 4, mode="symmetric") = [2 2 1 0 | 0 1 2 | 2 1 0 0]
    const std::vector<std::int64_t> expected = {2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0};
    for (std::int64_t i = -4; i <= 6; ++i) EXPECT_EQ(reflect(i, 3), expected[static_cast<std::size_t>(i + 4)]) << i;
    EXPECT_EQ(reflect(-5, 1), 0);
}

TEST(Mirror, PadsByFovMinusOneLowAndHigh)
{
    // FOV 4 per axis: 1 voxel before, 2 after ((4 - 1) // 2 and 4 // 2).
    Tensor<std::uint32_t> v(1, {1, 2, 3});
    for (std::int64_t i = 0; i < 6; ++i) v.data()[i] = static_cast<std::uint32_t>(i);
    const Vec3i fov{1, 4, 4};
    const Tensor<std::uint32_t> p = mirror_pad(v, low_margin(fov), high_margin(fov));
    ASSERT_EQ(p.size(), (Vec3i{1, 5, 6}));
    // Rows of the padded 2x3 image [[0 1 2] [3 4 5]]: y = -1, 0, 1, 2, 3 -> 0, 0, 1, 1, 0.
    const std::uint32_t expected[5][6] = {
        {0, 0, 1, 2, 2, 1}, {0, 0, 1, 2, 2, 1}, {3, 3, 4, 5, 5, 4}, {3, 3, 4, 5, 5, 4}, {0, 0, 1, 2, 2, 1}};
    for (std::int64_t y = 0; y < 5; ++y)
        for (std::int64_t x = 0; x < 6; ++x) EXPECT_EQ(p(0, 0, y, x), expected[y][x]) << y << "," << x;
}

TEST(Mirror, RegionsOfTheVirtualPaddingMatchAPaddedCopy)
{
    test::TempDir dir;
    Tensor<float> v(2, {3, 5, 4});
    for (std::int64_t i = 0; i < v.count(); ++i) v.data()[i] = float(i) * 0.5f;
    // Stored inside a larger file with an auto-crop offset of (1, 0, 2).
    Tensor<float> file(2, {5, 5, 8});
    tensor::copy(v.cview(), file.box({{1, 0, 2}, v.size()}));
    io::write_volume(io::VolumeUri::parse(dir.file("v.h5")), tensor::AnyTensor(file));

    MirroredVolume m{io::VolumeUri::parse(dir.file("v.h5")), v.size(), {1, 0, 2}, {2, 3, 4}, {3, 2, 6}, 2};
    const Tensor<float> padded = mirror_pad(v, m.pad_low, m.pad_high);
    ASSERT_EQ(padded.size(), m.size());
    const Box3 regions[] = {{{0, 0, 0}, m.size()}, {{0, 0, 0}, {2, 2, 2}}, {{4, 6, 9}, {4, 4, 5}}, {{2, 3, 4}, {3, 5, 4}}};
    for (const Box3& r : regions) {
        const Tensor<float> got = m.read_float(r, dist::Comm::serial());
        ASSERT_EQ(got.shape(), (tensor::Shape4{2, r.size}));
        for (std::int64_t c = 0; c < 2; ++c)
            for (std::int64_t z = 0; z < r.size.z; ++z)
                for (std::int64_t y = 0; y < r.size.y; ++y)
                    for (std::int64_t x = 0; x < r.size.x; ++x)
                        ASSERT_EQ(got(c, z, y, x), padded(c, r.origin.z + z, r.origin.y + y, r.origin.x + x)) << core::to_string(r);
    }
}
