#pragma once
/// @file
/// @brief Build provenance, recorded at build time (tools/cmake/ZnnBuildInfo.cmake).
///
/// It goes into `znn version`, the start-up banner, checkpoints and output files, so any result can
/// be traced to the exact source and compiler that made it. Library versions (MPI, oneDNN, HDF5,
/// libtiff) are queried at run time by their own modules, since the loaded shared library may differ
/// from the headers built against.

#include <string>

namespace znn::core {

struct BuildInfo {
    std::string version;     ///< project version, e.g. "0.1.0"
    std::string git_hash;    ///< 12-character commit hash, or "unknown" outside a git checkout
    bool git_dirty = false;  ///< true when tracked files had uncommitted changes at build time
    std::string build_type;  ///< CMake build type (Release, Debug, ...)
    std::string compiler;    ///< compiler id and version
    std::string flags;       ///< C++ flags of the build type, -march and sanitizers

    /// "0.1.0 (git 0123456789ab)" or "0.1.0 (git 0123456789ab, modified)".
    std::string version_string() const { return version + " (git " + git_hash + (git_dirty ? ", modified)" : ")"); }
};

/// The build information of this binary.
const BuildInfo& build_info();

}  // namespace znn::core
