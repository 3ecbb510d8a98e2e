#include "znn/app/cli.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "znn/core/error.hpp"
#include "znn/dist/mpi_env.hpp"

namespace znn::app {
namespace {

/// Seconds to wait for all ranks to agree on a shared error before aborting instead.
constexpr double kShutdownAgreementSeconds = 30.0;

const std::vector<Command>& commands()
{
    static const std::vector<Command> list = {
        {"version", "print the version, build and library information", run_version},
        {"convert", "convert a volume between TIFF stacks and HDF5 datasets", run_convert},
        {"init", "write a network file with freshly initialised parameters", run_init},
        {"apply", "one dense forward pass of a trained network over a whole volume", run_apply},
        {"info", "what a network is at a patch size: field of view, shapes, parameters, FLOPs", run_info},
        {"check", "validate a job (.cfg, sample spec, every volume) without running it", run_check},
        {"train", "train the network of a job (.cfg): checkpoints, learning curve, resume, MPI ranks", run_train},
        {"forward", "inference of a job over volumes of any size: blocks, MPI ranks, restart after a kill", run_forward},
        {"eval", "scores of a segmentation or network output against ground truth: adapted Rand error, VOI", run_eval},
        {"synth", "write a synthetic EM-like dataset (HDF5, TIFF, .spec)", run_synth},
        {"bench", "benchmarks (conv: one convolution layer), one JSON line per run", run_bench},
    };
    return list;
}

void print_overview(std::ostream& os)
{
    os << "usage: znn <command> [options]   (znn <command> --help for details)\n\ncommands:\n";
    for (const Command& c : commands()) {
        std::string name = c.name;
        name.resize(10, ' ');
        os << "  " << name << c.summary << "\n";
    }
    os << "\nexit codes: 0 success, 1 runtime failure, 2 usage or input error\n";
}

void print_error(const std::string& text)
{
    const std::string line = "znn: error: " + text + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace

int report_error(const core::Error& e, const dist::Comm& comm, const std::string& command)
{
    std::string text = e.what();
    if (e.kind() == core::ErrorKind::Usage && !command.empty())
        text += "\n(run 'znn " + command + " --help' for usage)";
    if (comm.size() == 1) {
        print_error(text);
        return e.exit_code();
    }
    if (e.error_scope() == core::ErrorScope::AllRanks) {
        if (comm.is_root()) print_error(text);
        if (comm.barrier_within(kShutdownAgreementSeconds)) return e.exit_code();
        print_error("rank " + std::to_string(comm.rank()) + ": the other ranks did not reach the shutdown; aborting");
        comm.abort(e.exit_code());
    }
    print_error(text + (e.rank() < 0 ? " (rank " + std::to_string(comm.rank()) + ")" : ""));
    comm.abort(e.exit_code());
}

namespace {

int dispatch(const std::vector<std::string>& argv, Context& context, std::string& command_name)
{
    if (argv.size() < 2) {
        if (context.comm.is_root()) print_overview(std::cerr);
        throw core::UsageError("no command given").scope(core::ErrorScope::AllRanks);
    }
    const std::string& name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        if (argv.size() == 3) return dispatch({argv[0], argv[2], "--help"}, context, command_name);
        if (context.comm.is_root()) print_overview(std::cout);
        return 0;
    }
    if (name == "--version") return dispatch({argv[0], "version"}, context, command_name);
    for (const Command& c : commands()) {
        if (name == c.name) {
            command_name = name;
            return c.run(std::vector<std::string>(argv.begin() + 2, argv.end()), context);
        }
    }
    std::string known;
    for (const Command& c : commands())
        known += std::string(known.empty() ? "" : ", ") + c.name;
    throw core::UsageError("unknown command '" + name + "' (commands: " + known + ")")
        .scope(core::ErrorScope::AllRanks);
}

}  // namespace

int run(int argc, char** argv)
{
    // MPI starts only under a launcher; a process started directly is one rank in serial mode.
    std::optional<dist::MpiEnvironment> mpi;
    if (dist::MpiEnvironment::launched_by_launcher()) {
        try {
            mpi.emplace(argc, argv);
        } catch (const core::Error& e) {
            print_error(e.what());
            return e.exit_code();
        }
    }
    Context context{mpi ? dist::Comm::world() : dist::Comm::serial(), mpi ? mpi->thread_level() : 0, {}};
    std::string command_name;
    try {
        context.engines = engine_options_from_environment();
        return dispatch(std::vector<std::string>(argv, argv + argc), context, command_name);
    } catch (const core::Error& e) {
        return report_error(e, context.comm, command_name);
    } catch (const std::bad_alloc&) {
        return report_error(core::IoError("out of memory"), context.comm, command_name);
    } catch (const std::exception& e) {
        return report_error(core::InternalError(std::string("unexpected exception: ") + e.what()), context.comm,
                            command_name);
    }
}

}  // namespace znn::app
