#pragma once
/// @file
/// @brief read_text_file: what every reader of a user's text file (.znn, .cfg, .spec) reads through.
///
/// Users name files by hand, so a path may be a directory, a FIFO, a device, an HDF5 file or a
/// multi-gigabyte volume. Each of those gets one clear error here instead of a hang (a FIFO blocks,
/// /dev/zero never ends), an empty parse (a directory) or hundreds of "problems" (binary bytes).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "znn/config/diagnostics.hpp"

namespace znn::config {

/// The largest text file read (16 MiB: far beyond any network or job file).
inline constexpr std::int64_t kMaxTextFileBytes = std::int64_t{16} << 20;

/// The contents of the text file `path` (`what` names it in messages, e.g. "network file"): it must be
/// a regular file of at most kMaxTextFileBytes with no NUL byte; a UTF-8 byte-order mark is dropped.
/// Otherwise the problem goes to `d` (at `path`, or at `path:line` of the first NUL byte) and the
/// result is nullopt. Nothing is opened before the file is known to be regular.
std::optional<std::string> read_text_file(const std::string& path, std::string_view what, Diagnostics& d);

/// `text` fit for a message: control characters and bytes that are not UTF-8 shown as \xNN.
std::string printable(std::string_view text);

}  // namespace znn::config
