#pragma once
// Shared command-line plumbing for the subcommands (private to src/app).

#include <boost/program_options.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "znn/config/net_spec.hpp"
#include "znn/conv/engine.hpp"
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
    /// Every engine's tuning and SIMD path (engine_options_from_environment).
    conv::EngineOptions engines;
};

/// The engines' options of this process: the SIMD path from ZNN_SIMD (avx2 or avx512) when it is set,
/// else the widest this CPU runs; a forced AVX2 path keeps oneDNN to AVX2 as well. UsageError for an
/// unknown value, InputError for a path this CPU cannot run.
conv::EngineOptions engine_options_from_environment();

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

/// The logger's options from --log-level and --log-all-ranks; under Slurm every line also carries
/// "restart N" ($SLURM_RESTART_COUNT, 0 for the first run of a job).
core::Logger::Options logger_options(const po::variables_map& vm);

/// The logger configured by the common options.
std::unique_ptr<core::Logger> make_logger(const po::variables_map& vm, const dist::Comm& comm);

/// Parses a `z,y,x` option value; UsageError naming the option when malformed or not positive.
core::Vec3i parse_vec3_option(const std::string& option, const std::string& text, bool allow_zero = false);

/// Parses a `C,Z,Y,X` option value (maps and size); UsageError naming the option when malformed, not
/// positive or beyond core::kMaxAxis.
std::pair<std::int64_t, core::Vec3i> parse_maps_and_size_option(const std::string& option, const std::string& text);

/// Checks an output file named by --option before any work: not empty, not a directory, device, FIFO
/// or socket (only regular files are replaced, atomically), and not an existing file unless
/// `overwrite` (--overwrite). UsageError at --option, or InputError at the path for "file exists".
void check_output_file(const std::string& option, const std::string& path, bool overwrite);

/// The threads to run: --threads when given, else `fallback` (a job's num_threads). 0 means
/// sched::default_threads(); more than the cores this process may use are capped there, with a
/// warning; a negative count is a usage error naming --threads (sched::resolve_thread_count).
int thread_count(const po::variables_map& vm, std::int64_t fallback, core::Logger& log);

/// @brief How many threads a rank runs, and why.
struct ThreadChoice {
    int threads = 1;
    std::string source;  ///< "--threads", "num_threads", or sched::default_threads()'s source
};
/// thread_count() with its source: --threads, else the job's num_threads when not 0, else
/// $OMP_NUM_THREADS, $SLURM_CPUS_PER_TASK or the affinity mask.
ThreadChoice choose_threads(const po::variables_map& vm, std::int64_t job_threads, core::Logger& log);

/// Rank 0 prints, once, every rank's host, CPU mask, thread count and its source, and then the layout
/// (ranks x threads, MPI thread level). Collective over comm.
void report_layout(const dist::Comm& comm, const ThreadChoice& threads, int mpi_thread_level, core::Logger& log);

/// Refuses a network whose memory, estimated before anything is allocated (NetShapes::memory_bytes,
/// then graph::estimate_memory with its engines), exceeds what this process may use: a UsageError at
/// --option saying how much it would need.
void require_network_memory(const config::NetSpec& spec, const graph::NetShapes& shapes, const graph::NetworkOptions& options,
                            const graph::NetworkResources& resources, const std::string& option);

/// Network options for `--conv fft|direct|auto` (UsageError otherwise): fft and auto (time both per
/// group) set the mode; direct fixes every conv group of `spec` to direct, whatever its `fft` flag.
graph::NetworkOptions network_options(const std::string& conv, const config::NetSpec& spec);

/// Throws UsageError(message) located at the option `--name`, seen by all ranks.
[[noreturn]] void usage_error(const std::string& option, const std::string& message);

}  // namespace znn::app
