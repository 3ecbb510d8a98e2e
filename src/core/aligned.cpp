#include "znn/core/aligned.hpp"

#include <sys/mman.h>

namespace znn::core::detail {

void* allocate_aligned(std::size_t bytes, std::size_t alignment)
{
    if (alignment == kHugePageSize) bytes = (bytes + kHugePageSize - 1) / kHugePageSize * kHugePageSize;
    void* p = ::operator new(bytes, std::align_val_t(alignment));
#ifdef MADV_HUGEPAGE
    if (alignment == kHugePageSize) ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    return p;
}

void free_aligned(void* p, std::size_t alignment) noexcept { ::operator delete(p, std::align_val_t(alignment)); }

}  // namespace znn::core::detail
