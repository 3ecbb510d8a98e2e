#pragma once
/// @file
/// @brief Which directory the relative paths written in a job file are read against.
///
/// znn reads a path in a `.cfg` or `.spec` relative to the directory of the file that names it, so a
/// job runs the same from any working directory. The original ZNN read them relative to the working
/// directory (its scripts ran in `python/` and its own test-suite files name `../networks/N4.znn`
/// from `testsuit/boundary/config.cfg`). To read such files as they are, a file whose inputs are
/// found from the working directory but not from its own directory is read the original's way, all
/// of its paths at once (never a mix), and the caller says so in a warning.

#include <map>
#include <string>

#include "znn/config/ini.hpp"

namespace znn::config {

/// @brief The directory one file's relative paths are resolved against.
struct PathBase {
    std::string directory;           ///< absolute
    bool working_directory = false;  ///< true: the original's convention was chosen for this file
    std::string evidence;            ///< when it was: one input found only that way, e.g. "fnet_spec = ../networks/N4.znn"
};

/// For `file` (one of the files read into `ini`): its own directory, unless the inputs it names
/// (the values of fnet_spec, fdata_spec, fnames and fmasks in its entries: files that must exist
/// before a run) are better found from the working directory — more of them exist there, or as
/// many and more of their directories — in which case the working directory. A file naming no
/// relative input, or lying in the working directory, keeps its own directory.
PathBase choose_path_base(const IniFile& ini, const std::string& file);

/// @brief choose_path_base for each file of one IniFile, decided once per file.
class PathBases {
public:
    explicit PathBases(const IniFile& ini) : ini_(ini) {}
    const PathBase& of(const std::string& file);

private:
    const IniFile& ini_;
    std::map<std::string, PathBase> chosen_;
};

}  // namespace znn::config
