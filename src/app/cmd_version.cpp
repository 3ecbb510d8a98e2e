// znn version: what this binary is and what it runs with.

#include <boost/version.hpp>

#include <iostream>

#include "commands.hpp"
#include "znn/conv/engine.hpp"
#include "znn/core/build_info.hpp"
#include "znn/dist/mpi_env.hpp"
#include "znn/core/simd_path.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/io/tiff.hpp"
#include "znn/sched/thread_pool.hpp"

namespace znn::app {

int run_version(const std::vector<std::string>& args, Context& context)
{
    CommandLine cli{"version",
                    "[options]",
                    "Prints the znn version and git commit, how it was built, and the versions of the MPI,\n"
                    "oneDNN, HDF5, libtiff and Boost libraries it runs with, and which SIMD kernels run (ZNN_SIMD=avx2\n"
                    "forces the AVX2 kernels on an AVX-512 machine).",
                    po::options_description("Options"),
                    {}};
    add_common_options(cli.options);
    if (!parse_command_line(cli, args, context.comm)) return 0;
    if (!context.comm.is_root()) return 0;

    const core::BuildInfo& b = core::build_info();
    std::string boost = std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
                        "." + std::to_string(BOOST_VERSION % 100);
    std::cout << "znn " << b.version_string() << "\n"
              << "build:    " << b.build_type << ", " << b.compiler << ", flags: " << b.flags << "\n"
              << "MPI:      " << dist::MpiEnvironment::library_version() << " (MPI "
              << dist::MpiEnvironment::standard_version() << ", "
              << (context.comm.is_serial() ? std::string("not started: serial run without a launcher")
                                           : "thread level " + dist::thread_level_name(context.mpi_thread_level) +
                                                 ", " + std::to_string(context.comm.size()) + " rank(s)")
              << ")\n"
              << "kernels:  " << core::describe_simd_path(context.engines.simd) << "\n"
              << "threads:  one team per rank: " << sched::ThreadPool::runtime() << "\n"
              << "oneDNN:   " << conv::onednn_version() << "\n"
              << "HDF5:     " << io::hdf5_version() << " (parallel)\n"
              << "libtiff:  " << io::tiff_version() << "\n"
              << "Boost:    " << boost << "\n"
              << std::flush;
    return 0;
}

}  // namespace znn::app
