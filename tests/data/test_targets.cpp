// Targets, masks and rebalance weights against small hand-computed cases (reference §3.4, §5.6).

#include <gtest/gtest.h>

#include "znn/data/targets.hpp"

using namespace znn;
using namespace znn::data;
using tensor::Tensor;

namespace {

template <class T> Tensor<T> make(std::int64_t c, core::Vec3i s, std::initializer_list<T> values)
{
    Tensor<T> t(c, s);
    EXPECT_EQ(static_cast<std::int64_t>(values.size()), t.count());
    std::copy(values.begin(), values.end(), t.data());
    return t;
}

template <class T> std::vector<T> values(const Tensor<T>& t) { return {t.data(), t.data() + t.count()}; }

}  // namespace

TEST(Targets, BoundaryIsInsideAndItsComplement)
{
    const auto label = make<std::uint32_t>(1, {1, 2, 3}, {0, 7, 255, 1, 0, 0});
    Tensor<float> t(2, {1, 2, 3});
    boundary_targets(label.cview(), t.view());
    EXPECT_EQ(values(t), (std::vector<float>{0, 1, 1, 1, 0, 0, /* channel 1 */ 1, 0, 0, 0, 1, 1}));
}

TEST(Targets, AffinityChannelsAreXYZAndUseTheVoxelBefore)
{
    // Label patch 2x2x3 (one larger than the 1x1x2 output per axis). Output voxel q looks at label
    // voxel p = q + 1 and its neighbour p - e_axis.
    //   z=0: [1 1 2]    z=1: [1 1 1]
    //        [1 1 2]         [3 1 1]
    const auto label = make<std::uint32_t>(1, {2, 2, 3}, {1, 1, 2, 1, 1, 2, 1, 1, 1, 3, 1, 1});
    Tensor<float> t(3, {1, 1, 2});
    affinity_targets(label.cview(), t.view());
    // p = (1,1,1): label 1; x-neighbour (1,1,0)=3 -> 0; y-neighbour (1,0,1)=1 -> 1; z-neighbour (0,1,1)=1 -> 1.
    // p = (1,1,2): label 1; x-neighbour (1,1,1)=1 -> 1; y-neighbour (1,0,2)=1 -> 1; z-neighbour (0,1,2)=2 -> 0.
    EXPECT_EQ(values(t), (std::vector<float>{0, 1, /* y */ 1, 1, /* z */ 1, 0}));

    // Boundary voxels (ID 0) have no affinity, even to another 0.
    const auto zeros = make<std::uint32_t>(1, {2, 2, 2}, {0, 0, 0, 0, 0, 0, 0, 0});
    Tensor<float> tz(3, {1, 1, 1});
    affinity_targets(zeros.cview(), tz.view());
    EXPECT_EQ(values(tz), (std::vector<float>{0, 0, 0}));
}

TEST(Targets, AffinityMaskIsTheOrOfBothVoxels)
{
    // Mask 2x2x2, output 1x1x1 at p = (1,1,1); neighbours (1,1,0), (1,0,1), (0,1,1).
    const auto mask = make<std::uint8_t>(1, {2, 2, 2}, {0, 0, 0, /*(0,1,1)*/ 0, 0, /*(1,0,1)*/ 3, /*(1,1,0)*/ 0, /*(1,1,1)*/ 0});
    Tensor<float> m(3, {1, 1, 1});
    affinity_mask(mask.cview(), m.view());
    EXPECT_EQ(values(m), (std::vector<float>{0, 1, 0}));
}

TEST(Targets, SemanticOneHotAndItsOutOfRangeClass)
{
    const auto label = make<std::uint32_t>(1, {1, 1, 4}, {0, 2, 1, 2});
    Tensor<float> t(3, {1, 1, 4});
    EXPECT_EQ(semantic_targets(label.cview(), t.view()), -1);
    EXPECT_EQ(values(t), (std::vector<float>{1, 0, 0, 0, /* 1 */ 0, 0, 1, 0, /* 2 */ 0, 1, 0, 1}));
    const auto bad = make<std::uint32_t>(1, {1, 1, 2}, {1, 5});
    Tensor<float> tb(3, {1, 1, 2});
    EXPECT_EQ(semantic_targets(bad.cview(), tb.view()), 5);
}

TEST(Targets, MasksRepeatOnEveryChannel)
{
    const auto mask = make<std::uint8_t>(1, {1, 1, 3}, {0, 9, 1});
    Tensor<float> m(2, {1, 1, 3});
    channel_mask(mask.cview(), m.view());
    EXPECT_EQ(values(m), (std::vector<float>{0, 1, 1, 0, 1, 1}));
}

TEST(Rebalance, GlobalBoundaryWeightsAreHalfNOverCount)
{
    // pn = 1, zn = 3, N = 4: w_pos = 0.5*4/1 = 2, w_zero = 0.5*4/3.
    const ClassWeights w = global_boundary_weights(1, 3);
    EXPECT_DOUBLE_EQ(w.positive, 2.0);
    EXPECT_DOUBLE_EQ(w.zero, 2.0 / 3.0);
    // A missing class leaves every weight at 1.
    EXPECT_DOUBLE_EQ(global_boundary_weights(0, 5).positive, 1.0);
    EXPECT_DOUBLE_EQ(global_boundary_weights(5, 0).zero, 1.0);
}

TEST(Rebalance, PatchWeightsAreInverseCountsSummingToOne)
{
    // 1/pn : 1/zn = 1 : 1/3 -> 0.75, 0.25.
    const ClassWeights w = normalized_weights(1, 3);
    EXPECT_DOUBLE_EQ(w.positive, 0.75);
    EXPECT_DOUBLE_EQ(w.zero, 0.25);
    EXPECT_DOUBLE_EQ(normalized_weights(0, 3).positive, 1.0);
    const std::vector<double> s = semantic_weights({2, 0, 6});
    EXPECT_DOUBLE_EQ(s[0], 0.75);
    EXPECT_DOUBLE_EQ(s[1], 0.0);
    EXPECT_DOUBLE_EQ(s[2], 0.25);
}

TEST(Rebalance, CountsRespectTheMaskAndWeightsFollowTheTargets)
{
    const auto target = make<float>(2, {1, 1, 4}, {1, 0, 0, 1, 0, 1, 1, 0});
    const auto mask = make<float>(2, {1, 1, 4}, {1, 1, 1, 0, 1, 1, 1, 0});
    const tensor::TensorView<const float> mv = mask.cview();
    const ClassCounts counts = ClassCounts::of(target.cview(), &mv);
    EXPECT_EQ(counts.positives, (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(counts.zeros, (std::vector<std::int64_t>{2, 1}));
    Tensor<float> weights(2, {1, 1, 4});
    apply_class_weights(target.cview(), {{0.75, 0.25}, {0.1, 0.9}}, weights.view());
    EXPECT_EQ(values(weights), (std::vector<float>{0.75f, 0.25f, 0.25f, 0.75f, 0.9f, 0.1f, 0.1f, 0.9f}));

    const auto onehot = make<float>(2, {1, 1, 2}, {1, 0, 0, 1});
    Tensor<float> sw(2, {1, 1, 2});
    apply_semantic_weights(onehot.cview(), {0.2, 0.8}, sw.view());
    EXPECT_EQ(values(sw), (std::vector<float>{0.2f, 0.8f, 0.2f, 0.8f}));
}
