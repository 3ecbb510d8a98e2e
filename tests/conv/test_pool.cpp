// Max-filter and max-pool against a naive scan, with many ties, on both SIMD paths (the AVX-512 one
// where the CPU runs it), plus finite differences.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "znn/conv/pool.hpp"
#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/core/simd_path.hpp"
#include "znn/sched/thread_pool.hpp"

using namespace znn;
using namespace znn::conv;
using tensor::Tensor;

namespace {

/// The obvious scan: strict ">" in (z, y, x) window order.
void naive_max(const Tensor<float>& in, const MaxWindow& w, Tensor<float>& out, Tensor<std::int32_t>& argmax)
{
    const Vec3i O = w.out_size(in.size()), I = in.size();
    for (std::int64_t c = 0; c < in.channels(); ++c)
        for (std::int64_t z = 0; z < O.z; ++z)
            for (std::int64_t y = 0; y < O.y; ++y)
                for (std::int64_t x = 0; x < O.x; ++x) {
                    float best = -std::numeric_limits<float>::infinity();
                    std::int32_t at = -1;
                    for (std::int64_t kz = 0; kz < w.window.z; ++kz)
                        for (std::int64_t ky = 0; ky < w.window.y; ++ky)
                            for (std::int64_t kx = 0; kx < w.window.x; ++kx) {
                                const std::int64_t iz = z * w.stride.z + kz * w.dilation.z;
                                const std::int64_t iy = y * w.stride.y + ky * w.dilation.y;
                                const std::int64_t ix = x * w.stride.x + kx * w.dilation.x;
                                const float v = in(c, iz, iy, ix);
                                if (at < 0 || v > best) {
                                    best = v;
                                    at = static_cast<std::int32_t>((iz * I.y + iy) * I.x + ix);
                                }
                            }
                    out(c, z, y, x) = best;
                    argmax(c, z, y, x) = at;
                }
}

void check(const MaxWindow& w, const Vec3i& in_size, std::int64_t channels, core::ParallelFor& threads, std::uint64_t seed, core::SimdPath simd)
{
    SCOPED_TRACE("window " + core::to_string(w.window) + " stride " + core::to_string(w.stride) + " dilation " +
                 core::to_string(w.dilation) + " input " + core::to_string(in_size));
    core::Rng rng = core::Rng::stream(seed, 0, core::RngPurpose::Test);
    Tensor<float> in(channels, in_size);
    for (float& v : in.span()) v = static_cast<float>(rng.uniform_int(0, 4));  // many ties
    const Vec3i O = w.out_size(in_size);
    Tensor<float> out(channels, O), ref(channels, O);
    Tensor<std::int32_t> argmax(channels, O), ref_argmax(channels, O);
    max_forward(in.view(), w, out.view(), argmax.view(), threads, simd);
    naive_max(in, w, ref, ref_argmax);
    for (std::size_t i = 0; i < out.span().size(); ++i) {
        ASSERT_EQ(out.span()[i], ref.span()[i]) << i;
        ASSERT_EQ(argmax.span()[i], ref_argmax.span()[i]) << i;
    }
    // Backward: the scatter-add of the naive argmax.
    Tensor<float> gout(channels, O);
    for (float& v : gout.span()) v = static_cast<float>(rng.uniform(-1, 1));
    Tensor<float> gin(in.shape()), expected(in.shape());
    for (float& v : gin.span()) v = 7.0f;  // Overwrite must clear it
    max_backward(gout.view(), argmax.view(), gin.view(), Accumulate::Overwrite, threads);
    for (std::int64_t c = 0; c < channels; ++c)
        for (std::int64_t i = 0; i < O.product(); ++i)
            expected.channel(c).data()[ref_argmax.channel(c).data()[i]] += gout.channel(c).data()[i];
    for (std::size_t i = 0; i < gin.span().size(); ++i) ASSERT_FLOAT_EQ(gin.span()[i], expected.span()[i]) << i;
    max_backward(gout.view(), argmax.view(), gin.view(), Accumulate::Add, threads);
    for (std::size_t i = 0; i < gin.span().size(); ++i)  // the same sums, added in another order
        ASSERT_NEAR(gin.span()[i], 2 * expected.span()[i], 1e-5 * std::max(1.0f, std::abs(expected.span()[i]))) << i;
}

}  // namespace

class MaxPaths : public ::testing::TestWithParam<core::SimdPath> {
protected:
    void SetUp() override
    {
        if (!core::cpu_runs(GetParam())) GTEST_SKIP() << "this CPU does not run the " << core::to_string(GetParam()) << " kernels";
    }
};

TEST_P(MaxPaths, FilterAndPoolMatchTheNaiveScanWithTies)
{
    const core::SimdPath simd = GetParam();
    sched::ThreadPool pool(2);
    std::uint64_t seed = 0;
    check(MaxWindow::filter({2, 2, 2}), {5, 6, 7}, 3, pool, ++seed, simd);
    check(MaxWindow::filter({1, 2, 2}, {1, 2, 2}), {3, 11, 12}, 2, pool, ++seed, simd);  // 2D, dilated (N4 style)
    check(MaxWindow::filter({3, 1, 4}, {2, 1, 3}), {9, 4, 17}, 1, pool, ++seed, simd);
    check(MaxWindow::filter({1, 1, 1}), {2, 3, 4}, 2, pool, ++seed, simd);
    check(MaxWindow::pool({2, 2, 2}), {4, 6, 8}, 3, pool, ++seed, simd);
    check(MaxWindow::pool({1, 3, 2}), {2, 9, 10}, 2, pool, ++seed, simd);
    // Rows of whole vector groups and a tail (AVX-512: 4 vectors of 16 at a time), dense and strided.
    check(MaxWindow::filter({2, 2, 3}), {3, 4, 150}, 2, pool, ++seed, simd);
    check(MaxWindow::pool({1, 2, 2}), {2, 4, 260}, 2, pool, ++seed, simd);
    core::SerialFor serial;
    check(MaxWindow::filter({2, 3, 2}, {1, 2, 1}), {6, 13, 9}, 4, serial, ++seed, simd);
}

INSTANTIATE_TEST_SUITE_P(Simd, MaxPaths, ::testing::Values(core::SimdPath::Avx2, core::SimdPath::Avx512),
                         [](const ::testing::TestParamInfo<core::SimdPath>& p) { return std::string(core::to_string(p.param)); });

TEST(MaxPool, GradientMatchesFiniteDifferences)
{
    // With distinct values the max is differentiable: d out / d in is exactly the argmax scatter.
    core::SerialFor serial;
    core::Rng rng = core::Rng::stream(3, 0, core::RngPurpose::Test);
    const MaxWindow w = MaxWindow::filter({2, 2, 2}, {1, 2, 1});
    // Distinct values at least 0.1 apart, in random order: a ±0.01 nudge never changes a winner.
    Tensor<float> in(2, {4, 7, 5});
    std::vector<float> values(in.span().size());
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.1f;
    for (std::size_t i = values.size() - 1; i > 0; --i)
        std::swap(values[i], values[static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(i)))]);
    std::copy(values.begin(), values.end(), in.span().begin());
    const Vec3i O = w.out_size(in.size());
    Tensor<float> r(2, O);
    for (float& v : r.span()) v = static_cast<float>(rng.uniform(-1, 1));
    auto loss = [&](const Tensor<float>& x) {
        Tensor<float> out(2, O);
        Tensor<std::int32_t> am(2, O);
        max_forward(x.view(), w, out.view(), am.view(), serial);
        double l = 0;
        for (std::size_t i = 0; i < out.span().size(); ++i) l += double(out.span()[i]) * r.span()[i];
        return l;
    };
    Tensor<float> out(2, O), gin(in.shape());
    Tensor<std::int32_t> am(2, O);
    max_forward(in.view(), w, out.view(), am.view(), serial);
    max_backward(r.view(), am.view(), gin.view(), Accumulate::Overwrite, serial);
    for (std::size_t i = 0; i < in.span().size(); ++i) {
        Tensor<float> up = in, down = in;
        up.span()[i] += 0.01f;
        down.span()[i] -= 0.01f;
        EXPECT_NEAR((loss(up) - loss(down)) / 0.02, gin.span()[i], 1e-3) << i;
    }
}

TEST(MaxPool, BadWindowsAreInputErrors)
{
    EXPECT_EQ(MaxWindow::pool({2, 2, 2}).out_size({4, 6, 8}), (Vec3i{2, 3, 4}));
    EXPECT_EQ(MaxWindow::filter({2, 2, 2}, {1, 4, 4}).out_size({4, 10, 10}), (Vec3i{3, 6, 6}));
    try {
        (void)MaxWindow::pool({2, 2, 2}).out_size({4, 7, 8});
        FAIL();
    } catch (const core::InputError& e) {
        EXPECT_STREQ(e.what(), "max-pool window 2,2,2 does not divide its input 4,7,8");
    }
    EXPECT_THROW((void)MaxWindow::filter({3, 3, 3}, {2, 2, 2}).out_size({4, 9, 9}), core::InputError);
}
