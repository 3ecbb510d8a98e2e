#pragma once
/// @file
/// @brief Passes over whole stored volumes in rounds of sections, shared out over ranks.

#include <algorithm>
#include <cstdint>

#include "znn/dist/comm.hpp"

namespace znn::data {

/// Calls f(first, count) for this rank's share of `sections` sections, in rounds of about
/// `round_bytes` (at `bytes_per_section`; at least one section). Every rank makes the same number of
/// calls (count 0 when it has no more), so that the reads f makes may be collective.
template <class F>
void for_each_section_round(std::int64_t sections, std::int64_t bytes_per_section, const dist::Comm& comm, F&& f,
                            std::int64_t round_bytes = std::int64_t(64) << 20)
{
    const int R = comm.is_serial() ? 1 : comm.size(), r = comm.is_serial() ? 0 : comm.rank();
    const std::int64_t per_round =
        std::max<std::int64_t>(1, round_bytes / std::max<std::int64_t>(1, bytes_per_section));
    const std::int64_t begin = sections * r / R, end = sections * (r + 1) / R;
    const std::int64_t most = (sections + R - 1) / R;  // the largest share
    for (std::int64_t z0 = begin; z0 - begin < most; z0 += per_round)
        f(z0, std::clamp<std::int64_t>(end - z0, 0, per_round));
}

}  // namespace znn::data
