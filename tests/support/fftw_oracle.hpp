#pragma once
// FFTW as the tests' oracle for znn's own transforms (fft::LaneFft): 3D r2c and c2r of one volume,
// unnormalised, in FFTW's layout (n.z · n.y · (n.x/2 + 1) complex values, C order). znn itself does
// not run FFTW (README, "Dependencies"). Plans are made per call (FFTW_ESTIMATE) under one lock.

#include <complex>
#include <string>
#include <vector>

#include "znn/core/vec3.hpp"

namespace znn::test {

using cfloat = std::complex<float>;

std::vector<cfloat> fftw_r2c(const std::vector<float>& volume, const core::Vec3i& n);
std::vector<float> fftw_c2r(const std::vector<cfloat>& spectrum, const core::Vec3i& n);
std::string fftw_version();

}  // namespace znn::test
