#pragma once
/// @file
/// @brief The words and numbers of the trainer's progress lines: durations and fixed decimals (sizes:
/// core::bytes_text).

#include <string>

namespace znn::train {

/// "45s", "3m12s", "2h05m", "1d3h" ("?" for a negative or infinite time).
std::string duration_text(double seconds);

/// `value` with `digits` decimals.
std::string fixed(double value, int digits);

}  // namespace znn::train
