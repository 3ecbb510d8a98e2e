#pragma once
/// @file
/// @brief A job's `.cfg` and the `.spec` it names, read together as the original read them (one
/// ConfigParser: the sample sections may be in either file).

#include <string>
#include <vector>

#include "znn/config/diagnostics.hpp"
#include "znn/config/job_config.hpp"
#include "znn/config/sample_spec.hpp"

namespace znn::config {

/// @brief The resolved options and sample sections of a job.
struct JobFiles {
    JobConfig config;
    SampleSpec samples;
    /// What reading them warned of (legacy keys, paths read the original's way, ...), for the log.
    std::vector<Diagnostics::Entry> warnings;

    /// Reads `cfg_path` with `overrides` (`key=value`), then the `fdata_spec` it names, and the
    /// sample sections of both. Every problem goes to `diagnostics`.
    static JobFiles read(const std::string& cfg_path, const std::vector<std::string>& overrides, Diagnostics& diagnostics);
    /// The same, throwing one InputError that lists every problem.
    static JobFiles load(const std::string& cfg_path, const std::vector<std::string>& overrides = {});
};

}  // namespace znn::config
