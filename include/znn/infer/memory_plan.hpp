#pragma once
/// @file
/// @brief The memory one rank of `znn forward` holds while it runs blocks of one size, known before
/// anything is allocated, and the budget it must fit (`forward_memory`).
///
/// The working set of a rank: the block network (node values, parameters, the convolution engines'
/// workspaces: graph::estimate_memory), the input regions of two blocks (the one computing and the
/// next, read while it computes, with the read buffers of that read), and two output buffers (the
/// block just computed, written while the next computes). The passes before and after the block
/// loop (statistics, the output file, TIFF stacks) read in sections, bands of rows and chunks sized
/// to stay within the same budget. The budget bounds the growth of the process from its start (its
/// code and MPI's are loaded by then).
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "znn/config/net_spec.hpp"
#include "znn/core/vec3.hpp"
#include "znn/graph/network.hpp"

namespace znn::infer {

/// @brief A rank's working set for one block size.
struct ForwardMemory {
    graph::MemoryEstimate network;
    std::int64_t inputs = 0;   ///< input regions of two blocks, and one read with its conversion to float
    std::int64_t outputs = 0;  ///< two output buffers
    /// What the libraries take on first use (oneDNN's generated kernels and scratch, OpenMP thread
    /// stacks, HDF5's caches, the allocator's slack): a fixed allowance, the largest
    /// gap seen between this estimate and the measured peak (tools/bench/forward_memory.py).
    std::int64_t libraries = std::int64_t(24) << 20;
    std::int64_t total() const { return network.total() + inputs + outputs + libraries; }
    /// "1.2 GiB (network 800 MiB, of which convolution workspaces 500 MiB; block buffers 400 MiB)".
    std::string text() const;
};

/// The working set for network blocks of `block` (outputs), from the shapes alone.
ForwardMemory estimate_forward_memory(const config::NetSpec& spec, const core::Vec3i& block,
                                      const graph::NetworkOptions& options, const graph::NetworkResources& resources);

/// The default budget of each rank: 75% of the memory this process may use (the node's, or its
/// cgroup limit, e.g. Slurm's --mem), shared by the `ranks_on_node` ranks of the node.
std::int64_t default_forward_memory(int ranks_on_node);

/// The largest block, from `block` by halving its longest axis, whose working set fits `budget`;
/// nullopt if not even 1,1,1 does. `working_set` is estimate_forward_memory for one block size.
template <class F> std::optional<core::Vec3i> block_within(std::int64_t budget, core::Vec3i block, F&& working_set)
{
    while (true) {
        if (working_set(block) <= budget) return block;
        int longest = 0;
        for (int a = 1; a < 3; ++a)
            if (block[a] > block[longest]) longest = a;
        if (block[longest] == 1) return std::nullopt;
        block[longest] = (block[longest] + 1) / 2;
    }
}

}  // namespace znn::infer
