#pragma once
/// @file
/// @brief RAII ownership of the MPI library for the lifetime of the program.
///
/// Threading model: MPI is initialised with MPI_THREAD_FUNNELED. Only the thread that created the
/// MpiEnvironment (the main thread) calls MPI; worker threads never do. The environment also sets
/// MPI_ERRORS_RETURN on MPI_COMM_WORLD so that failed calls become MpiError exceptions instead of
/// silent aborts.
///
/// Running without mpirun works: MPI starts as a singleton of one rank.

#include <string>

namespace znn::dist {

/// @brief Initialises MPI in its constructor and finalises it in its destructor.
///
/// If MPI was already initialised by someone else (a test harness), it is left to its owner.
class MpiEnvironment {
public:
    /// Initialises MPI (collective over all processes of the job). Throws MpiError on failure.
    MpiEnvironment(int& argc, char**& argv);
    ~MpiEnvironment();
    MpiEnvironment(const MpiEnvironment&) = delete;
    MpiEnvironment& operator=(const MpiEnvironment&) = delete;

    /// The thread level MPI provided (MPI_THREAD_FUNNELED or higher).
    int thread_level() const noexcept { return thread_level_; }

    /// True if an MPI launcher (mpirun, mpiexec, srun with PMI/PMIx) started this process, judged by
    /// the environment it sets. A process started directly runs serially and need not start MPI (an
    /// Open MPI singleton costs about 0.3 s here); the env ZNN_MPI=1 forces MPI anyway.
    static bool launched_by_launcher() noexcept;
    /// True between MPI_Init and MPI_Finalize.
    static bool is_initialized() noexcept;
    /// The MPI library's own description, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...",
    /// first line only. Callable before initialisation.
    static std::string library_version();
    /// The MPI standard version implemented, e.g. "3.1".
    static std::string standard_version();

private:
    bool owns_ = false;
    int thread_level_ = 0;
};

/// Name of an MPI thread level ("single", "funneled", "serialized", "multiple").
std::string thread_level_name(int level);

}  // namespace znn::dist
