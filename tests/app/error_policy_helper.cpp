// Drives znn::app::report_error under mpiexec, for tests/app/test_cli.sh:
//   error_policy_helper shared  -> every rank throws the same AllRanks error: printed once, exit 2
//   error_policy_helper local   -> only the last rank fails (an I/O error), while the others wait in
//                                  a collective: the job must abort with exit 1, not hang.

#include <cstring>
#include <string>

#include "znn/app/cli.hpp"
#include "znn/dist/comm.hpp"
#include "znn/dist/mpi_env.hpp"

int main(int argc, char** argv)
{
    znn::dist::MpiEnvironment mpi(argc, argv);
    const znn::dist::Comm world = znn::dist::Comm::world();
    const std::string mode = argc > 1 ? argv[1] : "";
    try {
        if (mode == "shared")
            throw znn::core::InputError("bad key").at_line("job.cfg", 7).scope(znn::core::ErrorScope::AllRanks);
        if (mode == "local") {
            if (world.rank() == world.size() - 1) throw znn::core::IoError("disk full").at("out.h5");
            world.barrier();  // the healthy ranks block here forever unless the job is aborted
        }
    } catch (const znn::core::Error& e) {
        return znn::app::report_error(e, world, "");
    }
    return 0;
}
