#pragma once
// Shared command-line plumbing for the subcommands (private to src/app).

#include <boost/program_options.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "znn/config/net_spec.hpp"
#include "znn/core/log.hpp"
#include "znn/core/vec3.hpp"
#include "znn/dist/comm.hpp"
#include "znn/graph/network.hpp"

namespace znn::app {

namespace po = boost::program_options;

/// What every subcommand receives.
struct Context {
    dist::Comm comm;
    int mpi_thread_level = 0;  ///< 0 when MPI was not started (serial run)
};

/// A subcommand: its name, one-line summary, and entry point taking the arguments after the name.
struct Command {
    const char* name;
    const char* summary;
    int (*run)(const std::vector<std::string>& args, Context& context);
};

/// The description of one subcommand's command line.
struct CommandLine {
    std::string name;      ///< e.g. "convert"
    std::string synopsis;  ///< e.g. "IN OUT [options]"
    std::string description;
    po::options_description options{"Options"};
    po::positional_options_description positional;
};

/// Options every subcommand accepts: --help, --log-level, --log-all-ranks.
void add_common_options(po::options_description& options);

/// Parses args. Returns nullopt after printing help (rank 0) when --help was given; throws UsageError
/// (scope AllRanks) for anything malformed.
std::optional<po::variables_map> parse_command_line(const CommandLine& cli, const std::vector<std::string>& args,
                                                    const dist::Comm& comm);

/// The logger configured by the common options.
std::unique_ptr<core::Logger> make_logger(const po::variables_map& vm, const dist::Comm& comm);

/// Parses a `z,y,x` option value; UsageError naming the option when malformed or not positive.
core::Vec3i parse_vec3_option(const std::string& option, const std::string& text, bool allow_zero = false);

/// Network options for `--conv fft|direct|auto` (UsageError otherwise): fft and auto (time both per
/// group) set the mode; direct fixes every conv group of `spec` to direct, whatever its `fft` flag.
graph::NetworkOptions network_options(const std::string& conv, const config::NetSpec& spec);

/// Throws UsageError(message) located at the option `--name`, seen by all ranks.
[[noreturn]] void usage_error(const std::string& option, const std::string& message);

}  // namespace znn::app
