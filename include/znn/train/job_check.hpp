#pragma once
/// @file
/// @brief What a job must satisfy to be trained: the checks `znn train` makes before it reads or
/// writes anything, which `znn check` reports too.

#include <optional>
#include <string>

#include "znn/config/diagnostics.hpp"
#include "znn/config/job_files.hpp"
#include "znn/config/net_spec.hpp"

namespace znn::train {

/// Every problem of `job`'s options for training, to `diagnostics`: keys znn does not do or that do
/// nothing together, MALIS settings, the checkpoint prefix (its directory must exist or be
/// creatable), the seed file and the conv_plan file.
void check_training_options(const config::JobFiles& job, const std::optional<std::string>& seed_file, config::Diagnostics& diagnostics);

/// Every problem of `net` for `job`'s training: its outputs against `out_type`, the cost.
void check_training_network(const config::JobFiles& job, const config::NetSpec& net, config::Diagnostics& diagnostics);

}  // namespace znn::train
