#include "znn/dist/comm.hpp"

#include <chrono>
#include <cstdlib>
#include <thread>

#include "znn/dist/mpi_env.hpp"

namespace znn::dist {

void check_mpi(int rc, const char* call)
{
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, text, &length);
    throw core::MpiError(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

Comm Comm::world()
{
    if (!MpiEnvironment::is_initialized()) throw core::InternalError("Comm::world() before MPI was initialised");
    return Comm(MPI_COMM_WORLD);
}

Comm::Comm(MPI_Comm comm) : comm_(comm), serial_(false)
{
    check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Comm Comm::from_fortran(std::int64_t handle)
{
    if (!MpiEnvironment::is_initialized())
        throw core::MpiError("MPI is not initialised: the communicator's owner (e.g. mpi4py.MPI) must start it first");
    return Comm(MPI_Comm_f2c(static_cast<MPI_Fint>(handle)));
}

MPI_Comm Comm::native() const noexcept
{
    if (!serial_) return comm_;
    return MpiEnvironment::is_initialized() ? MPI_COMM_SELF : MPI_COMM_NULL;
}

void Comm::barrier() const
{
    if (serial_) return;
    check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
}

bool Comm::barrier_within(double seconds) const
{
    if (serial_ || size_ == 1) return true;
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (true) {
        int done = 0;
        check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
        if (done) return true;
        if (std::chrono::steady_clock::now() > deadline) return false;  // the request is abandoned
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

int Comm::ranks_on_node() const
{
    if (serial_ || size_ == 1) return 1;
    MPI_Comm node = MPI_COMM_NULL;
    check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
    int n = 1;
    check_mpi(MPI_Comm_size(node, &n), "MPI_Comm_size");
    MPI_Comm_free(&node);
    return n;
}

void Comm::broadcast(std::string& text, int root) const
{
    if (serial_) return;
    auto length = broadcast_value<std::uint64_t>(text.size(), root);
    text.resize(length);
    broadcast(std::span<char>(text.data(), text.size()), root);
}

void Comm::wait(std::span<MPI_Request> requests)
{
    if (requests.empty()) return;
    check_mpi(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
}

bool Comm::test(std::span<MPI_Request> requests)
{
    if (requests.empty()) return true;
    int done = 0;
    check_mpi(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    return done != 0;
}

void Comm::abort(int exit_code) const
{
    if (MpiEnvironment::is_initialized()) MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
}

}  // namespace znn::dist
