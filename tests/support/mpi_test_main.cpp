// GoogleTest main for every znn test binary, MPI-aware:
//  - MPI is initialised (a singleton of one rank when started without mpiexec);
//  - every rank runs the tests in the same (shuffled) order;
//  - only rank 0 prints gtest's report; the result is reduced over ranks (any failure fails all);
//  - `--expect-ranks=N` makes the run fail unless exactly N ranks took part, and rank 0 then prints
//    the marker line that tests/support/run_mpi_test.sh requires, so a launcher that silently starts
//    nothing (Open MPI's mpirun as root exits 0) cannot pass.

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "znn/dist/comm.hpp"
#include "znn/dist/mpi_env.hpp"

int main(int argc, char** argv)
{
    int expected_ranks = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--expect-ranks=", 15) == 0) {
            expected_ranks = std::atoi(argv[i] + 15);
            for (int j = i; j + 1 < argc; ++j)
                argv[j] = argv[j + 1];
            --argc;
            break;
        }
    }
    znn::dist::MpiEnvironment mpi(argc, argv);
    const znn::dist::Comm world = znn::dist::Comm::world();
    ::testing::InitGoogleTest(&argc, argv);
    // --gtest_shuffle must give every rank the same order, or collectives would pair up wrongly.
    int seed = GTEST_FLAG_GET(random_seed);
    if (seed == 0) seed = static_cast<int>(std::time(nullptr) % 99991) + 1;
    GTEST_FLAG_SET(random_seed, world.broadcast_value(seed));
    if (!world.is_root()) {
        auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
        delete listeners.Release(listeners.default_result_printer());
    }
    if (expected_ranks > 0 && world.size() != expected_ranks) {
        std::fprintf(stderr, "expected %d MPI ranks, running with %d\n", expected_ranks, world.size());
        return 1;
    }
    const int local = RUN_ALL_TESTS();
    const int result = world.max(local);
    const int ranks_ran = world.sum(1);
    if (world.is_root()) {
        if (result != 0) std::printf("FAILED on at least one of %d ranks\n", ranks_ran);
        std::printf("ZNN_TEST_RANKS_OK ran=%d\n", ranks_ran);
        std::fflush(stdout);
    }
    return result;
}
