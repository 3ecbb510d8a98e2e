#pragma once
/// @file
/// @brief Parsing of option values as the original's files write them. Each returns nullopt (or an
/// error text) for a malformed value; the caller reports it with the entry's location.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "znn/core/vec3.hpp"

namespace znn::config {

/// `s` without leading and trailing white space.
std::string trim(std::string_view s);
/// `s` in lower case (ASCII).
std::string lower(std::string s);

/// `yes/no`, `true/false`, `on/off`, `1/0` (any case), as ConfigParser.getboolean accepted.
std::optional<bool> parse_bool(std::string_view text);
std::optional<std::int64_t> parse_int(std::string_view text);
/// A finite number.
std::optional<double> parse_real(std::string_view text);
/// `z,y,x` or one number for all three.
std::optional<core::Vec3i> parse_vec3(std::string_view text);

/// Sample ids: comma-separated integers and `a-b` ranges, e.g. `2-3,7` = {2, 3, 7}. Unlike the
/// original, which silently dropped tokens it could not read, a bad token is an error (text returned
/// in `error`).
std::optional<std::set<std::int64_t>> parse_id_ranges(std::string_view text, std::string* error = nullptr);
/// Canonical text of a set of ids: `2-3,7`.
std::string to_string(const std::set<std::int64_t>& ids);

/// Comma- or newline-separated items, trimmed, empty items dropped.
std::vector<std::string> split_list(std::string_view text);
/// `a,b` comma-separated reals.
std::optional<std::vector<double>> parse_real_list(std::string_view text);

/// `path` made absolute against `base_dir` (itself made absolute against the working directory) when relative (empty paths stay empty). An HDF5 address
/// `file.h5:/dataset` keeps its dataset part.
std::string resolve_path(const std::string& path, const std::string& base_dir);
/// The directory of a file path ("." when it has none).
std::string directory_of(const std::string& file);

}  // namespace znn::config
