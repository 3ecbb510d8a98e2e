#include <gtest/gtest.h>

#include "znn/core/vec3.hpp"

using namespace znn::core;

TEST(Vec3, ArithmeticIsElementWiseInZyxOrder)
{
    const Vec3i a{1, 2, 3};
    const Vec3i b{4, 5, 6};
    EXPECT_EQ(a + b, (Vec3i{5, 7, 9}));
    EXPECT_EQ(b - a, (Vec3i{3, 3, 3}));
    EXPECT_EQ(a * b, (Vec3i{4, 10, 18}));
    EXPECT_EQ(b / a, (Vec3i{4, 2, 2}));
    EXPECT_EQ(a + 1, (Vec3i{2, 3, 4}));
    EXPECT_EQ(a.product(), 6);
    EXPECT_EQ(a[0], 1);
    EXPECT_EQ(a[2], 3);
    EXPECT_EQ(min(a, Vec3i{0, 9, 3}), (Vec3i{0, 2, 3}));
    EXPECT_EQ(b.max_component(), 6);
    EXPECT_TRUE(all_le(a, b));
    EXPECT_FALSE(all_lt(a, Vec3i{2, 3, 3}));
}

TEST(Vec3, ParsesAndPrintsZyxText)
{
    EXPECT_EQ(parse_vec3i("1,4,4"), (Vec3i{1, 4, 4}));
    EXPECT_EQ(parse_vec3i("7"), (Vec3i{7, 7, 7}));
    EXPECT_EQ(parse_vec3i("+2,-3,0"), (Vec3i{2, -3, 0}));
    EXPECT_EQ(to_string(Vec3i{1, 64, 128}), "1,64,128");
    for (const char* bad : {"", "1,2", "1,2,3,4", "1, 2, 3", "a,b,c", "1,,3", "1.5,2,3", "9999999999999999999999,1,1"})
        EXPECT_FALSE(parse_vec3i(bad)) << bad;
    const auto d = parse_vec3d("0.5,1,2e1");
    ASSERT_TRUE(d);
    EXPECT_DOUBLE_EQ(d->x, 20.0);
    EXPECT_FALSE(parse_vec3d("nan,1,1"));
}

TEST(Box3, IntersectionContainmentAndText)
{
    const Box3 a{{0, 0, 0}, {10, 10, 10}};
    const Box3 b{{5, -2, 8}, {10, 4, 4}};
    EXPECT_EQ(intersect(a, b), (Box3{{5, 0, 8}, {5, 2, 2}}));
    EXPECT_TRUE(intersect(a, Box3{{20, 0, 0}, {1, 1, 1}}).empty());
    EXPECT_TRUE(a.contains(Box3{{1, 1, 1}, {9, 9, 9}}));
    EXPECT_FALSE(a.contains(Box3{{1, 1, 1}, {10, 9, 9}}));
    EXPECT_EQ(a.voxels(), 1000);
    EXPECT_EQ(to_string(b), "5,-2,8+10,4,4");
}
