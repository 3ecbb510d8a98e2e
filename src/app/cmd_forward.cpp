// znn forward: inference of a job over whole volumes (infer::run_forward); this file only reads the
// command line, sets up threads and logging, and reports.

#include <filesystem>

#include "commands.hpp"
#include "znn/core/stop_signals.hpp"
#include "znn/config/job_files.hpp"
#include "znn/core/build_info.hpp"
#include "znn/dist/agree.hpp"
#include "znn/dist/mpi_env.hpp"
#include "znn/infer/forward.hpp"
#include "znn/sched/thread_pool.hpp"

namespace znn::app {

int run_forward(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"forward",
                    "-c JOB.cfg [-n NET.h5] [-r RANGE] [--set key=value ...] [options]",
                    "Runs the network of a job over every sample of forward_range, in blocks of forward_outsz,\n"
                    "and writes <output_prefix>_sample<N>_<node>.h5 (dataset /main: C, Z, Y, X), as the original\n"
                    "ZNN's forward.py did. Volumes of any size: each block reads only its input region and\n"
                    "writes only its output. Under MPI the ranks share the blocks and write one file. While a\n"
                    "sample runs its output is <output>.partial; after a kill, the same command computes only\n"
                    "the missing blocks (with any rank count). A finished output is not computed again unless\n"
                    "--overwrite. With --shard I/N it computes only part I of the blocks (a task of a job\n"
                    "array) and leaves the output file to a run without --shard. SIGTERM, SIGUSR1 or SIGINT\n"
                    "stops it after the blocks in flight are stored (exit code 75); run it again to continue.",
                    po::options_description("Options"),
                    {}};
    cli.options.add_options()("config,c", po::value<std::string>(), "the job file (.cfg)")(
        "net,n", po::value<std::string>(), "the network file (.h5), instead of forward_net")(
        "range,r", po::value<std::string>(), "sample ids, instead of forward_range (e.g. 1-3,5)")(
        "set", po::value<std::vector<std::string>>()->composing(), "override an option: --set key=value (repeatable)")(
        "threads", po::value<int>(), "threads per rank (default: num_threads of the job; 0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the affinity mask)")(
        "overwrite", po::bool_switch(), "recompute outputs that exist, finished or not")(
        "shard", po::value<std::string>(),
        "I/N: compute only part I (0 to N-1) of every sample's blocks into the shared <output>.partial and "
        "write no output file; a run without --shard writes it once all N parts are done (a job array: "
        "slurm/forward-array.sbatch)");
    add_common_options(cli.options);
    cli.positional.add("config", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    if (!vm->count("config")) usage_error("config", "give the job file: znn forward -c JOB.cfg");
    const std::string cfg = (*vm)["config"].as<std::string>();
    std::vector<std::string> overrides =
        vm->count("set") ? (*vm)["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (vm->count("net"))
        overrides.push_back("forward_net=" + std::filesystem::absolute((*vm)["net"].as<std::string>()).string());
    if (vm->count("range")) overrides.push_back("forward_range=" + (*vm)["range"].as<std::string>());

    dist::root_decides(context.comm, [&] { config::JobFiles::load(cfg, overrides); });
    const config::JobFiles job = config::JobFiles::load(cfg, overrides);
    const auto log = make_logger(*vm, context.comm);
    const ThreadChoice threads = choose_threads(*vm, job.config.num_threads, *log);
    sched::ThreadPool pool(threads.threads);
    log->info("znn ", core::build_info().version_string(), ": ", context.comm.size(), " rank(s) x ", pool.threads(),
              " thread(s), ", core::to_string(context.engines.simd), " kernels");
    report_layout(context.comm, threads, context.mpi_thread_level, *log);
    log->info("job ", cfg);
    infer::ForwardOptions options;
    options.overwrite = (*vm)["overwrite"].as<bool>();
    if (vm->count("shard")) {
        const std::string text = (*vm)["shard"].as<std::string>();
        options.shard = infer::parse_shard(text);
        if (!options.shard)
            usage_error("shard", "'" + text + "' is not a shard: give I/N with 0 <= I < N (e.g. 0/8; in a job array, "
                                 "slurm/forward-array.sbatch passes the task's place in the array)");
        if (options.overwrite)
            usage_error("shard", "--overwrite cannot be combined with --shard: the shards of a job share one store, and "
                                 "one shard would delete the others' blocks (remove the old output first)");
    }
    core::StopSignals signals;
    const auto outcomes = infer::run_forward(job, options, {context.comm, pool, context.engines, *log, &signals.flag()});
    if (!outcomes.empty() && outcomes.back().stopped) {
        log->info("stopped before the end with every computed block stored; exit code ", kStoppedExitCode, " (run again to continue)");
        return kStoppedExitCode;
    }
    for (const infer::SampleOutcome& o : outcomes)
        for (const std::string& path : o.outputs)
            log->info("  sample ", o.sample, ": ", path, o.left_unfinished ? ".partial (" + std::to_string(o.finished) + " of " +
                                                                                 std::to_string(o.blocks) + " blocks)"
                                                                           : std::string());
    return 0;
}

}  // namespace znn::app
