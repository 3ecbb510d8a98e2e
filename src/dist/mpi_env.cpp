#include "znn/dist/mpi_env.hpp"

#include <mpi.h>

#include <cstdlib>

#include "znn/core/error.hpp"

namespace znn::dist {

MpiEnvironment::MpiEnvironment(int& argc, char**& argv)
{
    if (is_initialized()) {
        MPI_Query_thread(&thread_level_);
    } else {
        const int rc = MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &thread_level_);
        if (rc != MPI_SUCCESS) throw core::MpiError("MPI_Init_thread failed (error code " + std::to_string(rc) + ")");
        owns_ = true;
    }
    if (thread_level_ < MPI_THREAD_FUNNELED) {
        throw core::MpiError("the MPI library provides thread level '" + thread_level_name(thread_level_) +
                             "', but znn needs at least 'funneled'");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiEnvironment::~MpiEnvironment()
{
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_ && !finalized) MPI_Finalize();
}

bool MpiEnvironment::launched_by_launcher() noexcept
{
    const char* force = std::getenv("ZNN_MPI");
    if (force && std::string(force) == "1") return true;
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
        if (std::getenv(var)) return true;
    return false;
}

bool MpiEnvironment::is_initialized() noexcept
{
    int initialized = 0;
    int finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
}

std::string MpiEnvironment::library_version()
{
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(text, &length);
    std::string version(text, static_cast<std::size_t>(length));
    const auto cut = version.find_first_of("\n,");
    return version.substr(0, cut);
}

std::string MpiEnvironment::standard_version()
{
    int major = 0;
    int minor = 0;
    MPI_Get_version(&major, &minor);
    return std::to_string(major) + "." + std::to_string(minor);
}

std::string thread_level_name(int level)
{
    switch (level) {
        case MPI_THREAD_SINGLE: return "single";
        case MPI_THREAD_FUNNELED: return "funneled";
        case MPI_THREAD_SERIALIZED: return "serialized";
        case MPI_THREAD_MULTIPLE: return "multiple";
        default: return "unknown(" + std::to_string(level) + ")";
    }
}

}  // namespace znn::dist
