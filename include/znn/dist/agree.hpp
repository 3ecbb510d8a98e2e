#pragma once
/// @file
/// @brief root_decides(): one rank checks, every rank fails or proceeds together.
///
/// Some checks (does this file exist, is this directory writable) are run by rank 0 on behalf of
/// all ranks, either because they are costly or because ranks could see the filesystem differently
/// for a moment. If each rank checked for itself, one could throw while the others went on into a
/// collective call and hung there. root_decides() runs the check on rank 0 only and sends its verdict
/// to everyone: on failure every rank throws the same error, marked ErrorScope::AllRanks, so rank 0
/// prints it once and all ranks exit cleanly.

#include <functional>

#include "znn/dist/comm.hpp"

namespace znn::dist {

/// Runs `check` on the root rank; if it throws a core::Error, every rank of comm throws an error of
/// the same kind, location and message. Collective over comm. Other exceptions are not caught.
void root_decides(const Comm& comm, const std::function<void()>& check);

}  // namespace znn::dist
