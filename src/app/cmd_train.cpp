// znn train: trains the network of a .cfg job (train::Trainer); this file only reads the command
// line, sets up threads, logging and signals, and reports the outcome.

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "znn/core/stop_signals.hpp"
#include "znn/config/job_files.hpp"
#include "znn/core/build_info.hpp"
#include "znn/core/error.hpp"
#include "znn/dist/agree.hpp"
#include "znn/dist/mpi_env.hpp"
#include "znn/io/atomic_file.hpp"
#include "znn/sched/thread_pool.hpp"
#include "znn/train/trainer.hpp"

namespace znn::app {
namespace {

std::string timestamp()
{
    const std::time_t now = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%d_%H%M%S", std::localtime(&now));
    return text;
}

}  // namespace

int run_train(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"train", "-c JOB.cfg [-s SEED.h5] [--set key=value ...] [options]",
                    "Trains the network of a job (the original ZNN's .cfg and .spec files): every Num_iter_per_show\n"
                    "iterations a progress line, every Num_iter_per_test a validation, every Num_iter_per_save a\n"
                    "checkpoint <prefix>_<iteration>.h5 and <prefix>_current.h5, the learning curve in\n"
                    "<prefix>_curve.csv. Without -s, a job whose <prefix>_current.h5 exists resumes from it exactly;\n"
                    "-s seeds a new run's parameters from another network file, by group name. SIGTERM, SIGUSR1 or\n"
                    "SIGINT stops the run after the current iteration with a checkpoint (exit code 75); run the\n"
                    "same command again to continue. Under MPI every rank trains on its own patches and the\n"
                    "gradients are averaged.",
                    po::options_description("Options"), {}};
    cli.options.add_options()("config,c", po::value<std::string>(), "the job file (.cfg)")(
        "seed,s", po::value<std::string>(), "seed the parameters from this network file (.h5), by group name")(
        "set", po::value<std::vector<std::string>>()->composing(), "override an option: --set key=value (repeatable)")(
        "is_check,k", po::value<std::string>(), "yes: run one iteration and write nothing (the original's -k)")(
        "dtype,d", po::value<std::string>(), "float32, float64, single or double: the original's -d, as dtype (znn computes in float32)")(
        "threads", po::value<int>(), "threads per rank (default: num_threads of the job; 0: $OMP_NUM_THREADS, else $SLURM_CPUS_PER_TASK, else the affinity mask)")(
        "loader-threads", po::value<int>()->default_value(1), "background threads making batches")(
        "iterations", po::value<std::int64_t>()->default_value(0),
        "run at most this many iterations, then checkpoint and exit 75 (0: to Max_iter)")(
        "signal-lead", po::value<double>()->default_value(0),
        "seconds between the batch system's stop signal and its kill (the LEAD of sbatch --signal=USR1@LEAD; with "
        "only SIGTERM, Slurm's KillWait): warns at start when one iteration plus a checkpoint would not fit");
    add_common_options(cli.options);
    cli.positional.add("config", 1);
    const auto vm = parse_command_line(cli, args, context.comm);
    if (!vm) return 0;
    if (!vm->count("config")) usage_error("config", "give the job file: znn train -c JOB.cfg");
    const std::string cfg = (*vm)["config"].as<std::string>();
    std::vector<std::string> overrides = vm->count("set") ? (*vm)["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (vm->count("is_check")) overrides.push_back("is_check=" + (*vm)["is_check"].as<std::string>());
    if (vm->count("dtype")) {
        const std::string d = (*vm)["dtype"].as<std::string>();
        if (d != "float32" && d != "float64" && d != "single" && d != "double") usage_error("dtype", "expected float32, float64, single or double, got '" + d + "'");
        overrides.push_back("dtype=" + std::string(d == "single" || d == "float32" ? "float32" : "float64"));
    }
    const int loader_threads = (*vm)["loader-threads"].as<int>();
    if (loader_threads < 1 || loader_threads > 64) usage_error("loader-threads", "must be 1 to 64");
    const std::int64_t iterations = (*vm)["iterations"].as<std::int64_t>();
    if (iterations < 0) usage_error("iterations", "must be 0 (up to Max_iter) or more");
    const double signal_lead = (*vm)["signal-lead"].as<double>();
    if (!(signal_lead >= 0 && signal_lead < 1e7)) usage_error("signal-lead", "must be 0 (not known) or a number of seconds");

    dist::root_decides(context.comm, [&] { config::JobFiles::load(cfg, overrides); });
    const config::JobFiles job = config::JobFiles::load(cfg, overrides);
    const config::JobConfig& c = job.config;

    // The log: stderr, and with `logging = yes` also <prefix>_train_<time>.log beside the resolved .cfg.
    std::shared_ptr<std::ofstream> log_file;
    if (c.logging && context.comm.is_root() && !c.is_check && !c.train_net_prefix.empty()) {
        const std::string stem = c.train_net_prefix + "_train_" + timestamp();
        io::create_parent_directories(stem + ".cfg");
        std::ofstream(stem + ".cfg") << c.resolved_text();
        log_file = std::make_shared<std::ofstream>(stem + ".log", std::ios::app);
    }
    const core::Logger::Options log_options = logger_options(*vm);
    core::Logger log(context.comm.rank(), log_options, [log_file](std::string_view line) {
        const std::string text = std::string(line) + "\n";
        std::fwrite(text.data(), 1, text.size(), stderr);
        std::fflush(stderr);
        if (log_file) *log_file << text << std::flush;
    });

    const ThreadChoice threads = choose_threads(*vm, c.num_threads, log);
    sched::ThreadPool pool(threads.threads);
    log.info("znn ", core::build_info().version_string(), ": ", context.comm.size(), " rank(s) x ", pool.threads(), " thread(s), ",
             core::to_string(context.engines.simd), " kernels",
             context.mpi_thread_level ? ", MPI thread level " + dist::thread_level_name(context.mpi_thread_level) : std::string());
    report_layout(context.comm, threads, context.mpi_thread_level, log);
    log.info("job ", cfg);

    core::StopSignals signals;
    train::Trainer trainer(job, {vm->count("seed") ? std::optional<std::string>((*vm)["seed"].as<std::string>()) : std::nullopt, loader_threads, iterations, signal_lead},
                           {context.comm, pool, context.engines, log, &signals.flag()});
    const train::TrainResult result = trainer.run();
    switch (result.outcome) {
    case train::TrainOutcome::Checked: return 0;
    case train::TrainOutcome::Stopped:
        log.info("checkpoint ", result.network, " at iteration ", result.iteration, "; exit code ", kStoppedExitCode, " (run again to continue)");
        return kStoppedExitCode;
    case train::TrainOutcome::Finished: break;
    }
    log.info("done: iteration ", result.iteration, " of ", c.max_iter);
    if (result.last_test_pixel_error >= 0)
        log.info("  validation pixel error ", result.last_test_pixel_error, " (always predicting the majority class: ",
                 result.last_test_majority_error, ")");
    log.info("  network        ", result.network);
    log.info("  learning curve ", result.curve, "   (plot: tools/plot-curve ", result.curve, " -o curve.png)");
    return 0;
}

}  // namespace znn::app
