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
    /// The communicator of a Fortran handle (what mpi4py's `comm.py2f()` gives), without taking
    /// ownership. MpiError when MPI is not initialised (whoever owns the handle initialises MPI).
    static Comm from_fortran(std::int64_t handle);

    int rank() const noexcept { return rank_; }
    int size() const noexcept { return size_; }
    bool is_root() const noexcept { return rank_ == 0; }
    bool is_serial() const noexcept { return serial_; }
    /// The MPI handle: MPI_COMM_SELF in serial mode when MPI is initialised, else MPI_COMM_NULL.
    MPI_Comm native() const noexcept;

    /// How many ranks of this communicator run on this rank's node (MPI_COMM_TYPE_SHARED). Collective.
    int ranks_on_node() const;
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

    /// Every rank sends outgoing[d] to rank d (outgoing.size() == size()) and receives what the ranks
    /// sent it, concatenated in rank order (MPI_Alltoall of the counts, then MPI_Alltoallv). At most
    /// 2 GiB may arrive at one rank. Serial: returns outgoing[0].
    template <class T> std::vector<T> exchange(const std::vector<std::vector<T>>& outgoing) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        ZNN_CHECK(outgoing.size() == static_cast<std::size_t>(size_), "Comm::exchange: one vector per rank");
        if (serial_ || size_ == 1) return outgoing.front();
        std::vector<int> send_counts(outgoing.size()), send_displs(outgoing.size()), recv_counts(outgoing.size()),
            recv_displs(outgoing.size());
        std::vector<T> send;
        for (std::size_t d = 0; d < outgoing.size(); ++d) {
            send_displs[d] = byte_count<T>(send.size());
            send_counts[d] = byte_count<T>(outgoing[d].size());
            send.insert(send.end(), outgoing[d].begin(), outgoing[d].end());
        }
        byte_count<T>(send.size());
        check_mpi(MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm_), "MPI_Alltoall");
        std::int64_t total = 0;
        for (std::size_t d = 0; d < outgoing.size(); ++d) {
            recv_displs[d] = static_cast<int>(total);
            total += recv_counts[d];
            ZNN_CHECK(total < (std::int64_t(1) << 31), "Comm::exchange: more than 2 GiB for one rank");
        }
        std::vector<T> received(static_cast<std::size_t>(total) / sizeof(T));
        check_mpi(MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_BYTE, received.data(),
                                recv_counts.data(), recv_displs.data(), MPI_BYTE, comm_),
                  "MPI_Alltoallv");
        return received;
    }
    /// Rank `root` receives every rank's `data`, concatenated in rank order (MPI_Gatherv); the other
    /// ranks get an empty vector. At most 2 GiB in all.
    template <class T> std::vector<T> gather(std::span<const T> data, int root = 0) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        if (serial_ || size_ == 1) return {data.begin(), data.end()};
        const int mine = byte_count<T>(data.size());
        std::vector<int> counts(rank_ == root ? static_cast<std::size_t>(size_) : 0), displs(counts.size());
        check_mpi(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
        std::int64_t total = 0;
        for (std::size_t d = 0; d < counts.size(); ++d) {
            displs[d] = static_cast<int>(total);
            total += counts[d];
            ZNN_CHECK(total < (std::int64_t(1) << 31), "Comm::gather: more than 2 GiB");
        }
        std::vector<T> all(static_cast<std::size_t>(total) / sizeof(T));
        check_mpi(MPI_Gatherv(data.data(), mine, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, root,
                              comm_),
                  "MPI_Gatherv");
        return all;
    }
    /// Copies the vector of rank `root` (its size and elements) to every rank.
    template <class T> void broadcast_vector(std::vector<T>& v, int root = 0) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        if (serial_ || size_ == 1) return;
        v.resize(broadcast_value<std::uint64_t>(v.size(), root));
        std::span<std::uint8_t> bytes(reinterpret_cast<std::uint8_t*>(v.data()), v.size() * sizeof(T));
        broadcast(bytes, root);
    }
    /// Sends `send` to rank `dest` while receiving `recv` (of the size the sender sends) from rank
    /// `source` (MPI_Sendrecv); -1 for either means none. Serial: both must be -1.
    template <class T> void sendrecv(std::span<const T> send, int dest, std::span<T> recv, int source) const
    {
        static_assert(std::is_trivially_copyable_v<T>);
        if (serial_ || size_ == 1) {
            ZNN_CHECK(dest < 0 && source < 0, "Comm::sendrecv: a serial communicator has no other rank");
            return;
        }
        check_mpi(MPI_Sendrecv(send.data(), dest < 0 ? 0 : byte_count<T>(send.size()), MPI_BYTE,
                               dest < 0 ? MPI_PROC_NULL : dest, 0, recv.data(),
                               source < 0 ? 0 : byte_count<T>(recv.size()), MPI_BYTE,
                               source < 0 ? MPI_PROC_NULL : source, 0, comm_, MPI_STATUS_IGNORE),
                  "MPI_Sendrecv");
    }

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

    /// The byte count of n elements of T as an MPI count (at most 2 GiB).
    template <class T> static int byte_count(std::size_t n)
    {
        ZNN_CHECK(n * sizeof(T) < (std::size_t(1) << 31), "Comm: a message of more than 2 GiB");
        return static_cast<int>(n * sizeof(T));
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
