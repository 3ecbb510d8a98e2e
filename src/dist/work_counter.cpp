#include "znn/dist/work_counter.hpp"

#include <exception>

namespace znn::dist {

WorkCounter::WorkCounter(const Comm& comm) : comm_(comm)
{
    if (comm_.is_serial()) return;
    const MPI_Aint bytes = comm_.is_root() ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
    check_mpi(MPI_Win_allocate(bytes, sizeof(std::int64_t), MPI_INFO_NULL, comm_.native(), &base_, &window_),
              "MPI_Win_allocate");
    if (comm_.is_root()) {
        check_mpi(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, window_), "MPI_Win_lock");
        *base_ = 0;
        check_mpi(MPI_Win_unlock(0, window_), "MPI_Win_unlock");
    }
    comm_.barrier();  // the counter is 0 before anyone takes a value
}

WorkCounter::~WorkCounter()
{
    // MPI_Win_free is collective: while an exception unwinds on this rank only, the others would
    // never join it (the error policy aborts the job instead), so the window is left to MPI_Abort.
    if (window_ != MPI_WIN_NULL && std::uncaught_exceptions() == 0) MPI_Win_free(&window_);
}

std::int64_t WorkCounter::next()
{
    if (comm_.is_serial()) return local_++;
    const std::int64_t one = 1;
    std::int64_t value = 0;
    check_mpi(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, window_), "MPI_Win_lock");
    check_mpi(MPI_Fetch_and_op(&one, &value, MPI_INT64_T, 0, 0, MPI_SUM, window_), "MPI_Fetch_and_op");
    check_mpi(MPI_Win_unlock(0, window_), "MPI_Win_unlock");
    return value;
}

}  // namespace znn::dist
