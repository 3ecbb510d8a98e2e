#include "command_line.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <span>
#include <vector>

#include "znn/config/values.hpp"
#include "znn/core/error.hpp"
#include "znn/core/limits.hpp"
#include "znn/core/memory.hpp"
#include "znn/dist/mpi_env.hpp"
#include "znn/sched/thread_pool.hpp"

namespace znn::app {

conv::EngineOptions engine_options_from_environment()
{
    std::optional<core::SimdPath> wanted;
    if (const char* name = std::getenv("ZNN_SIMD"); name && *name) {
        wanted = core::parse_simd_path(name);
        if (!wanted)
            throw core::UsageError("ZNN_SIMD: unknown SIMD path '" + std::string(name) + "' (avx2 or avx512)").scope(core::ErrorScope::AllRanks);
    }
    conv::EngineOptions engines;
    engines.simd = core::choose_simd_path(wanted);
    if (engines.simd != core::host_simd_path()) conv::limit_onednn_isa(engines.simd);
    return engines;
}

void add_common_options(po::options_description& options)
{
    options.add_options()("help,h", "show this help and exit")(
        "log-level", po::value<std::string>()->default_value("info"), "error, warn, info, debug or trace")(
        "log-all-ranks", po::bool_switch(), "log on every MPI rank (lines carry the rank), not only rank 0");
}

std::optional<po::variables_map> parse_command_line(const CommandLine& cli, const std::vector<std::string>& args,
                                                    const dist::Comm& comm)
{
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(cli.options).positional(cli.positional).run(), vm);
        if (vm.count("help")) {
            if (comm.is_root()) {
                std::cout << "usage: znn " << cli.name << " " << cli.synopsis << "\n\n"
                          << cli.description << "\n\n"
                          << cli.options << std::flush;
            }
            return std::nullopt;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw core::UsageError(e.what()).scope(core::ErrorScope::AllRanks);
    }
    const std::string level = vm["log-level"].as<std::string>();
    if (!core::parse_log_level(level))
        usage_error("log-level", "unknown level '" + level + "' (error, warn, info, debug, trace)");
    return vm;
}

core::Logger::Options logger_options(const po::variables_map& vm)
{
    core::Logger::Options options;
    options.level = core::parse_log_level(vm["log-level"].as<std::string>()).value();  // validated when parsed
    options.all_ranks = vm["log-all-ranks"].as<bool>();
    // Under Slurm a requeued job appends to the same log (%x-%j, --open-mode=append): every line says
    // which run of the job wrote it.
    if (std::getenv("SLURM_JOB_ID")) {
        const char* restarts = std::getenv("SLURM_RESTART_COUNT");
        options.tag = std::string("restart ") + (restarts && *restarts ? restarts : "0");
    }
    return options;
}

std::unique_ptr<core::Logger> make_logger(const po::variables_map& vm, const dist::Comm& comm)
{
    return std::make_unique<core::Logger>(comm.rank(), logger_options(vm));
}

core::Vec3i parse_vec3_option(const std::string& option, const std::string& text, bool allow_zero)
{
    const auto v = core::parse_vec3i(text);
    if (!v) usage_error(option, "expected z,y,x (three integers, e.g. 1,64,64), got '" + text + "'");
    if (v->min_component() < (allow_zero ? 0 : 1))
        usage_error(option,
                    std::string("every component must be ") + (allow_zero ? ">= 0" : "> 0") + ", got '" + text + "'");
    if (v->max_component() > core::kMaxAxis)
        usage_error(option, "every component must be at most " + std::to_string(core::kMaxAxis) + ", got '" + text + "'");
    return *v;
}

std::pair<std::int64_t, core::Vec3i> parse_maps_and_size_option(const std::string& option, const std::string& text)
{
    const std::size_t comma = text.find(',');
    const auto maps = comma == std::string::npos ? std::nullopt : config::parse_int(text.substr(0, comma));
    const auto size = comma == std::string::npos ? std::nullopt : core::parse_vec3i(text.substr(comma + 1));
    if (!maps || !size || text.substr(comma + 1).find(',') == std::string::npos)
        usage_error(option, "expected C,Z,Y,X (four positive integers), got '" + text + "'");
    if (*maps < 1 || size->min_component() < 1) usage_error(option, "every component must be > 0, got '" + text + "'");
    if (*maps > core::kMaxAxis || size->max_component() > core::kMaxAxis)
        usage_error(option, "every component must be at most " + std::to_string(core::kMaxAxis) + ", got '" + text + "'");
    return {*maps, *size};
}

void check_output_file(const std::string& option, const std::string& path, bool overwrite)
{
    if (path.empty()) usage_error(option, "expected a file name, got ''");
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;  // a new file
    if (S_ISDIR(st.st_mode)) usage_error(option, path + " is a directory; give a file name");
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        usage_error(option, path + " exists and is not a regular file (a device, FIFO or socket); znn writes only files");
    if (!overwrite)
        throw core::InputError("file exists; choose another name, or replace it with --overwrite").at(path).scope(core::ErrorScope::AllRanks);
}

int thread_count(const po::variables_map& vm, std::int64_t fallback, core::Logger& log)
{
    return choose_threads(vm, fallback, log).threads;
}

void require_network_memory(const config::NetSpec& spec, const graph::NetShapes& shapes, const graph::NetworkOptions& options,
                            const graph::NetworkResources& resources, const std::string& option)
{
    const std::string what = "the network " + spec.file;
    try {
        core::require_memory(double(shapes.memory_bytes()) * double(std::max<std::int64_t>(options.batch, 1)), what);
        core::require_memory(double(graph::estimate_memory(spec, shapes, options, resources).total()), what);
    } catch (const core::InputError& e) {
        usage_error(option, e.message());
    }
}

ThreadChoice choose_threads(const po::variables_map& vm, std::int64_t job_threads, core::Logger& log)
{
    const bool given = vm.count("threads") > 0;
    const std::int64_t requested = given ? vm["threads"].as<int>() : job_threads;
    if (requested < 0 || requested > std::numeric_limits<int>::max())
        usage_error("threads", std::to_string(requested) +
                                   " is not a thread count (0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the affinity mask)");
    std::string note;
    ThreadChoice c;
    c.threads = sched::resolve_thread_count(static_cast<int>(requested), &note);
    if (!note.empty()) log.warn("--threads: ", note);
    c.source = requested > 0 ? (given ? "--threads" : "num_threads") : sched::default_threads().source;
    return c;
}

void report_layout(const dist::Comm& comm, const ThreadChoice& threads, int mpi_thread_level, core::Logger& log)
{
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "?");
    const std::string mine = "rank " + std::to_string(comm.rank()) + ": host " + host + ", CPUs " + sched::affinity_text() + ", " +
                             std::to_string(threads.threads) + " thread(s) (" + threads.source + ")\n";
    const std::vector<char> all = comm.gather(std::span<const char>(mine.data(), mine.size()));
    if (comm.is_root()) {
        std::string text(all.begin(), all.end());
        for (std::size_t start = 0; start < text.size();) {
            const std::size_t end = text.find('\n', start);
            log.info(text.substr(start, end - start));
            start = end + 1;
        }
    }
    const std::vector<int> counts = comm.allgather(threads.threads);
    const bool uniform = std::all_of(counts.begin(), counts.end(), [&](int n) { return n == counts.front(); });
    log.info("layout: ", comm.size(), " rank(s) x ", uniform ? std::to_string(counts.front()) : std::string("varying"), " thread(s)",
             mpi_thread_level ? ", MPI thread level " + dist::thread_level_name(mpi_thread_level) : std::string(", no MPI"));
}

graph::NetworkOptions network_options(const std::string& conv, const config::NetSpec& spec)
{
    graph::NetworkOptions options;
    if (conv == "fft") {
        options.conv_mode = config::ConvMode::Fft;
    } else if (conv == "direct") {
        for (const config::EdgeGroupSpec& e : spec.edges)
            if (e.type == config::EdgeType::Conv) options.conv_choices[e.name] = conv::ConvAlgo::Direct;
    } else if (conv != "auto") {
        usage_error("conv", "fft, direct or auto, got '" + conv + "'");
    }
    return options;
}

void usage_error(const std::string& option, const std::string& message)
{
    throw core::UsageError(message).at("--" + option).scope(core::ErrorScope::AllRanks);
}

}  // namespace znn::app
