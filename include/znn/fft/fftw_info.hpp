#pragma once
/// @file
/// @brief Facts about the FFTW library znn runs with.

#include <string>

namespace znn::fft {

/// FFTW's own version string, e.g. "fftw-3.3.10-sse2-avx" (single precision library).
std::string fftw_version();

}  // namespace znn::fft
