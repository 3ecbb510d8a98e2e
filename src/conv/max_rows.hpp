#pragma once
// One output row of a max-filter or max-pool (private to src/conv): the kernel pool.cpp runs per row,
// compiled once per SIMD path (max_rows.cpp).

#include <cstdint>
#include <vector>

#include "znn/core/simd_path.hpp"

namespace znn::conv {

/// The input rows an output row's window reads: one pointer per tap, in (z, y, x) order, with the
/// flat index (within the channel) of the tap's first voxel. One per thread, each on its own cache
/// lines: the vectors' headers change on every row, and sharing a line between threads serialises them.
struct alignas(64) Taps {
    std::vector<const float*> rows;
    std::vector<std::int32_t> base;
};

/// For every output voxel x < n of one row, the maximum over the taps (strict ">", taps in order) and
/// the flat input index of the winner. `step` is the x-stride (1 for a max-filter).
using MaxRowKernel = void (*)(const Taps& taps, std::int64_t n, std::int64_t step, float* best, std::int32_t* index);

namespace avx2 {
extern const MaxRowKernel kMaxRow;
}
namespace avx512 {
extern const MaxRowKernel kMaxRow;
}

/// The kernel of `path` (InputError when this CPU does not run it).
MaxRowKernel max_row_kernel(core::SimdPath path);

}  // namespace znn::conv
