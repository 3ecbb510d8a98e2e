#pragma once
/// @file
/// @brief The SIMD paths znn's kernels are built for, and which one this CPU runs.
///
/// The FFT engine's transforms and products and the max-filter are compiled once per path (see
/// simd_begin.hpp); the path is chosen at run time, so one binary runs on any x86-64-v3 (AVX2 + FMA)
/// machine and takes the AVX-512 kernels where the CPU has them. Engines get the path through their
/// context (conv::ConvContext::simd), so a test or a user can force the narrower one.

#include <optional>
#include <string>
#include <string_view>

namespace znn::core {

/// Avx2: 8 floats per vector (AVX2 + FMA, 16 registers). Avx512: 16 floats per vector (AVX-512 F, DQ,
/// BW and VL, 32 registers).
enum class SimdPath { Avx2, Avx512 };

std::string_view to_string(SimdPath path) noexcept;  ///< "avx2", "avx512"
std::optional<SimdPath> parse_simd_path(std::string_view name) noexcept;

/// Whether this CPU (and its operating system, which must save the wider registers) runs `path`.
bool cpu_runs(SimdPath path) noexcept;

/// The widest path this CPU runs. Throws InputError on a CPU without AVX2 and FMA (older than
/// x86-64-v3), naming what it lacks.
SimdPath host_simd_path();

/// `wanted` (or the host's widest when empty), checked against the CPU: InputError when the CPU does not
/// run it, naming the path it does run.
SimdPath choose_simd_path(std::optional<SimdPath> wanted);

/// One line for `znn version` and start-up banners, e.g. "avx512 (AVX-512 kernels; this CPU: avx512)".
std::string describe_simd_path(SimdPath path);

}  // namespace znn::core
