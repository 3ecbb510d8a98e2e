#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "znn/core/aligned.hpp"
#include "znn/core/rng.hpp"
#include "znn/fft/plan_cache.hpp"

using namespace znn;
using namespace znn::fft;
using core::Vec3i;

namespace {

/// A 3D DFT straight from the definition, in double precision (the oracle).
std::vector<std::complex<double>> naive_r2c(const std::vector<float>& real, const Vec3i& n)
{
    const std::int64_t nxc = n.x / 2 + 1;
    std::vector<std::complex<double>> out(static_cast<std::size_t>(n.z * n.y * nxc));
    for (std::int64_t fz = 0; fz < n.z; ++fz)
        for (std::int64_t fy = 0; fy < n.y; ++fy)
            for (std::int64_t fx = 0; fx < nxc; ++fx) {
                std::complex<double> sum = 0;
                for (std::int64_t z = 0; z < n.z; ++z)
                    for (std::int64_t y = 0; y < n.y; ++y)
                        for (std::int64_t x = 0; x < n.x; ++x) {
                            const double turns = double(fz * z) / double(n.z) + double(fy * y) / double(n.y) + double(fx * x) / double(n.x);
                            sum += double(real[static_cast<std::size_t>((z * n.y + y) * n.x + x)]) * std::polar(1.0, -2 * M_PI * turns);
                        }
                out[static_cast<std::size_t>((fz * n.y + fy) * nxc + fx)] = sum;
            }
    return out;
}

}  // namespace

TEST(PlanCache, ForwardAndInverseMatchTheDefinitionAndRoundTrip)
{
    PlanCache plans(PlanRigor::Estimate);
    for (const Vec3i n : {Vec3i{4, 5, 6}, Vec3i{1, 7, 8}, Vec3i{3, 3, 3}}) {
        core::Rng rng = core::Rng::stream(1, 0, core::RngPurpose::Test);
        std::vector<float> real(static_cast<std::size_t>(n.product()));
        for (float& v : real) v = rng.uniform_float() - 0.5f;
        core::AlignedBuffer<float> in(real.size()), back(real.size());
        std::copy(real.begin(), real.end(), in.begin());
        core::AlignedBuffer<cfloat> spectrum(static_cast<std::size_t>(n.z * n.y * (n.x / 2 + 1)));
        plans.get(PlanSpec::r2c_3d(n)).r2c(in.data(), spectrum.data());
        const auto expected = naive_r2c(real, n);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            EXPECT_NEAR(spectrum[i].real(), expected[i].real(), 1e-4);
            EXPECT_NEAR(spectrum[i].imag(), expected[i].imag(), 1e-4);
        }
        plans.get(PlanSpec::c2r_3d(n)).c2r(spectrum.data(), back.data());
        for (std::size_t i = 0; i < real.size(); ++i) EXPECT_NEAR(back[i] / float(n.product()), real[i], 1e-5);
    }
    EXPECT_EQ(plans.size(), 6u);
}

TEST(PlanCache, ManyThreadsPlanAndExecuteAtOnce)
{
    // Planning is serialised inside the cache; execution runs concurrently on separate buffers.
    PlanCache plans(PlanRigor::Estimate);
    std::vector<std::thread> threads;
    std::vector<int> errors(8, 0);
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 20; ++round) {
                const Vec3i n{2 + (t + round) % 5, 4 + round % 3, 6 + t % 4};  // overlapping shapes across threads
                const Plan& fwd = plans.get(PlanSpec::r2c_3d(n));
                const Plan& inv = plans.get(PlanSpec::c2r_3d(n));
                core::AlignedBuffer<float> in(static_cast<std::size_t>(n.product())), out(in.size());
                core::AlignedBuffer<cfloat> spectrum(static_cast<std::size_t>(n.z * n.y * (n.x / 2 + 1)));
                for (std::size_t i = 0; i < in.size(); ++i) in[i] = float(i % 13) - 6.0f + float(t);
                fwd.r2c(in.data(), spectrum.data());
                inv.c2r(spectrum.data(), out.data());
                for (std::size_t i = 0; i < in.size(); ++i)
                    if (std::abs(out[i] / float(n.product()) - in[i]) > 1e-4f) ++errors[static_cast<std::size_t>(t)];
            }
        });
    for (auto& th : threads) th.join();
    for (int e : errors) EXPECT_EQ(e, 0);
}
