#pragma once
/// @file
/// @brief The words and numbers of the trainer's progress lines: durations, sizes, fixed decimals,
/// and this process's peak memory.

#include <string>

namespace znn::train {

/// "45s", "3m12s", "2h05m", "1d3h" ("?" for a negative or infinite time).
std::string duration_text(double seconds);
/// "812 MiB", "1.8 GiB".
std::string bytes_text(double bytes);
/// `value` with `digits` decimals.
std::string fixed(double value, int digits);
/// The largest resident memory this process has had, in bytes (getrusage).
double peak_memory_bytes();

}  // namespace znn::train
