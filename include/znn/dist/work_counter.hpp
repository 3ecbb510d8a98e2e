#pragma once
/// @file
/// @brief WorkCounter: a counter every rank can take the next value of, to hand out work dynamically.
///
/// Each call of next() returns a value no other call on any rank returned (0, 1, 2, ... in the order
/// the calls reach rank 0), so ranks that finish early simply take more items and none idles while
/// others still have a queue. The counter lives in an MPI window on rank 0 and is advanced with
/// MPI_Fetch_and_op under a passive-target lock: the other ranks never wait for rank 0 to call MPI.
/// A serial Comm keeps a plain counter.
///
/// Example:
/// @code
///   WorkCounter counter(comm);                     // collective
///   for (std::int64_t i = counter.next(); i < n; i = counter.next()) process(items[i]);
/// @endcode

#include <cstdint>

#include "znn/dist/comm.hpp"

namespace znn::dist {

class WorkCounter {
public:
    /// A counter at 0. Collective over comm.
    explicit WorkCounter(const Comm& comm);
    /// Frees the window. Collective over comm (every rank must destroy its counter).
    ~WorkCounter();
    WorkCounter(const WorkCounter&) = delete;
    WorkCounter& operator=(const WorkCounter&) = delete;

    /// The next value (main thread only).
    std::int64_t next();

private:
    Comm comm_;
    std::int64_t local_ = 0;  // the serial counter
    MPI_Win window_ = MPI_WIN_NULL;
    std::int64_t* base_ = nullptr;
};

}  // namespace znn::dist
