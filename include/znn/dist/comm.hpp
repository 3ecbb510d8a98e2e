#pragma once
/// @file
/// @brief Comm: a communicator with a serial mode, and the collectives znn uses.
///
/// Every collective is "collective over comm": all ranks of the communicator must call it, in the
/// same order, with the same element counts. A serial Comm (`Comm::serial()`) has one rank and makes
/// no MPI calls at all, so single-process code paths and unit tests need neither mpirun nor an
/// initialised MPI. Library code never uses MPI_COMM_WORLD directly; it receives a Comm.
///
/// Threading: only the main thread calls these functions (MPI_THREAD_FUNNELED, see mpi_env.hpp).
///
/// Example:
/// @code
///   Comm comm = Comm::world();
///   comm.allreduce_mean(std::span<float>(gradients));   // data-parallel averaging
///   if (comm.is_root()) save_checkpoint();
/// @endcode

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "znn/core/error.hpp"
#include "znn/dist/mpi_types.hpp"

namespace znn::dist {

/// Throws MpiError naming `call` if rc is not MPI_SUCCESS.
void check_mpi(int rc, const char* call);

/// @brief A non-owning handle to an MPI communicator, or the serial (one rank, no MPI) mode.
class Comm {
public:
    /// The serial communicator: rank 0 of 1, no MPI calls.
    static Comm serial() noexcept { return Comm(); }
    /// MPI_COMM_WORLD; MPI must be initialised.
    static Comm world();
    /// Wraps an existing communicator without taking ownership.
    explicit Comm(MPI_Comm comm);

    int rank() const noexcept { return rank_; }
    int size() const noexcept { return size_; }
    bool is_root() const noexcept { return rank_ == 0; }
    bool is_serial() const noexcept { return serial_; }
    /// The MPI handle: MPI_COMM_SELF in serial mode when MPI is initialised, else MPI_COMM_NULL.
    MPI_Comm native() const noexcept;

    /// Blocks until every rank arrived.
    void barrier() const;
    /// Like barrier(), but gives up after `seconds`: returns false if some rank never arrived (it
    /// failed or is stuck), so a shutdown can abort instead of hanging.
    bool barrier_within(double seconds) const;

    /// Copies `data` of rank `root` to every rank.
    template <class T> void broadcast(std::span<T> data, int root = 0) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        if (serial_) return;
        for_chunks(data.size(), [&](std::size_t offset, int count) {
            check_mpi(MPI_Bcast(data.data() + offset, count, mpi_type<T>(), root, comm_), "MPI_Bcast");
        });
    }
    /// Copies one value of rank `root` to every rank and returns it.
    template <class T> T broadcast_value(T value, int root = 0) const
    {
        broadcast(std::span<T>(&value, 1), root);
        return value;
    }
    /// Copies a string of rank `root` to every rank.
    void broadcast(std::string& text, int root = 0) const;

    /// Element-wise sum over ranks, in place; every rank gets the result.
    template <class T> void allreduce_sum(std::span<T> data) const { allreduce(data, MPI_SUM); }
    /// Element-wise minimum / maximum over ranks, in place.
    template <class T> void allreduce_min(std::span<T> data) const { allreduce(data, MPI_MIN); }
    template <class T> void allreduce_max(std::span<T> data) const { allreduce(data, MPI_MAX); }
    /// Element-wise mean over ranks, in place (sum, then divide by size()).
    template <class T> void allreduce_mean(std::span<T> data) const
    {
        static_assert(std::is_floating_point_v<T>, "allreduce_mean needs a floating-point type");
        allreduce(data, MPI_SUM);
        if (size_ > 1) {
            const T inv = T(1) / static_cast<T>(size_);
            for (T& v : data)
                v *= inv;
        }
    }
    template <class T> T sum(T value) const
    {
        allreduce(std::span<T>(&value, 1), MPI_SUM);
        return value;
    }
    template <class T> T max(T value) const
    {
        allreduce(std::span<T>(&value, 1), MPI_MAX);
        return value;
    }
    template <class T> T min(T value) const
    {
        allreduce(std::span<T>(&value, 1), MPI_MIN);
        return value;
    }
    /// Every rank's `value`, in rank order, on every rank.
    template <class T> std::vector<T> allgather(T value) const
    {
        static_assert(std::is_arithmetic_v<T>);
        std::vector<T> all(static_cast<std::size_t>(size_), value);
        if (serial_ || size_ == 1) return all;
        check_mpi(MPI_Allgather(&value, 1, mpi_type<T>(), all.data(), 1, mpi_type<T>(), comm_), "MPI_Allgather");
        return all;
    }
    /// Starts an element-wise sum over ranks of `data`, in place (MPI_Iallreduce); the request must be
    /// completed with wait() or test() before `data` is touched. Serial: completes at once.
    template <class T> MPI_Request start_allreduce_sum(std::span<T> data) const
    {
        static_assert(std::is_arithmetic_v<T>);
        MPI_Request request = MPI_REQUEST_NULL;
        if (serial_ || size_ == 1 || data.empty()) return request;
        ZNN_CHECK(data.size() <= (std::size_t(1) << 30), "start_allreduce_sum: more than 2^30 elements");
        check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data.data(), static_cast<int>(data.size()), mpi_type<T>(), MPI_SUM, comm_, &request),
                  "MPI_Iallreduce");
        return request;
    }
    /// Completes every request (MPI_Waitall); null requests are skipped.
    static void wait(std::span<MPI_Request> requests);
    /// Lets pending requests progress (MPI_Testall); true when all are complete.
    static bool test(std::span<MPI_Request> requests);

    /// True on every rank if `flag` is true on at least one rank.
    bool any(bool flag) const { return max<int>(flag ? 1 : 0) != 0; }
    /// True on every rank if `flag` is true on all ranks.
    bool all(bool flag) const { return min<int>(flag ? 1 : 0) != 0; }

    /// Terminates every process of the job with `exit_code` (MPI_Abort on MPI_COMM_WORLD, or exit in
    /// serial mode when MPI is not running). Only app/ calls this.
    [[noreturn]] void abort(int exit_code) const;

private:
    Comm() = default;

    template <class T> void allreduce(std::span<T> data, MPI_Op op) const
    {
        static_assert(std::is_arithmetic_v<T>);
        if (serial_ || size_ == 1) return;
        for_chunks(data.size(), [&](std::size_t offset, int count) {
            check_mpi(MPI_Allreduce(MPI_IN_PLACE, data.data() + offset, count, mpi_type<T>(), op, comm_),
                      "MPI_Allreduce");
        });
    }

    /// MPI counts are int: split large transfers into chunks of at most 2^30 elements.
    template <class F> static void for_chunks(std::size_t n, F&& f)
    {
        constexpr std::size_t kChunk = std::size_t(1) << 30;
        for (std::size_t offset = 0; offset < n; offset += kChunk)
            f(offset, static_cast<int>(std::min(kChunk, n - offset)));
    }

    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0;
    int size_ = 1;
    bool serial_ = true;
};

}  // namespace znn::dist
