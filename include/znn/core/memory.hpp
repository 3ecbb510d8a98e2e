#pragma once
/// @file
/// @brief The memory of this process and of the machine it runs on.
#include <cstdint>
#include <optional>
#include <string>

namespace znn::core {

/// The largest resident memory this process has had, in bytes (getrusage).
std::int64_t peak_resident_bytes();
/// The resident memory of this process now, in bytes (/proc/self/statm; 0 where unknown).
std::int64_t resident_bytes();
/// The machine's physical memory, in bytes.
std::int64_t physical_memory_bytes();
/// The memory limit of this process's control group (cgroup v2 memory.max, or v1
/// memory.limit_in_bytes), when it has one: what Slurm's --mem sets.
std::optional<std::int64_t> cgroup_memory_limit();
/// The memory this process may use: the smaller of the two above.
std::int64_t usable_memory_bytes();

/// Throws InputError when `bytes` (an estimate made before allocating) exceed usable_memory_bytes():
/// "<what> would need about 3.1 TiB, more than the 23.4 GiB this process may use".
void require_memory(double bytes, const std::string& what);

/// A size with a binary suffix: "512M", "4G", "1.5GiB", "2T", "800K" (a bare number is bytes);
/// nullopt when malformed.
std::optional<std::int64_t> parse_byte_size(const std::string& text);
/// "812 MiB", "3.2 GiB", "1.5 TiB".
std::string bytes_text(double bytes);

}  // namespace znn::core
