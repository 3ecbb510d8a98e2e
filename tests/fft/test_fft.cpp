// The tests' FFTW oracle (tests/support/fftw_oracle) against the DFT's definition: the transforms
// znn's own are compared with are right.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/fftw_oracle.hpp"
#include "znn/core/rng.hpp"

using namespace znn;
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

TEST(FftwOracle, ForwardAndInverseMatchTheDefinitionAndRoundTrip)
{
    for (const Vec3i n : {Vec3i{4, 5, 6}, Vec3i{1, 7, 8}, Vec3i{3, 3, 3}}) {
        core::Rng rng = core::Rng::stream(1, 0, core::RngPurpose::Test);
        std::vector<float> real(static_cast<std::size_t>(n.product()));
        for (float& v : real) v = rng.uniform_float() - 0.5f;
        const std::vector<test::cfloat> spectrum = test::fftw_r2c(real, n);
        const auto expected = naive_r2c(real, n);
        ASSERT_EQ(spectrum.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            EXPECT_NEAR(spectrum[i].real(), expected[i].real(), 1e-4);
            EXPECT_NEAR(spectrum[i].imag(), expected[i].imag(), 1e-4);
        }
        const std::vector<float> back = test::fftw_c2r(spectrum, n);
        for (std::size_t i = 0; i < real.size(); ++i) EXPECT_NEAR(back[i] / float(n.product()), real[i], 1e-5);
    }
}

TEST(FftwOracle, NamesItsVersion) { EXPECT_NE(test::fftw_version().find("fftw-3"), std::string::npos); }
