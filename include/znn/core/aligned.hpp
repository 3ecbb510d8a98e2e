#pragma once
/// @file
/// @brief Owning, 64-byte (cache-line) aligned arrays for SIMD kernels.
///
/// Every buffer starts on a cache line so that two threads writing neighbouring buffers never share
/// a line (false sharing cost a third of the 2-thread speed in an FFT prototype on this hardware).

#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

#include "znn/core/error.hpp"

namespace znn::core {

/// Alignment of every AlignedBuffer, in bytes: one cache line, enough for AVX-512 loads.
inline constexpr std::size_t kBufferAlignment = 64;
/// Buffers of at least this many bytes are placed on huge-page boundaries and advised to use
/// transparent huge pages: large spectra are read with strides of ~100 KB, and 4 KB pages would turn
/// every access into a TLB miss.
inline constexpr std::size_t kHugePageThreshold = std::size_t(4) << 20;
inline constexpr std::size_t kHugePageSize = std::size_t(2) << 20;

namespace detail {
/// Allocates `bytes` (a multiple of kBufferAlignment) aligned to `alignment`; advises huge pages for
/// large blocks. Throws std::bad_alloc.
void* allocate_aligned(std::size_t bytes, std::size_t alignment);
void free_aligned(void* p, std::size_t alignment) noexcept;
}  // namespace detail

/// Whether a new buffer's contents are zeroed or left uninitialised (faster, for buffers about to be
/// overwritten).
enum class Init { Zero, Uninitialized };

/// @brief A heap array of trivially copyable T aligned to kBufferAlignment. Copying deep-copies.
template <class T> class AlignedBuffer {
    static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer holds trivially copyable elements only");

public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(std::size_t count, Init init = Init::Zero) : size_(count)
    {
        if (count == 0) return;
        if (count > (std::size_t(-1) - kBufferAlignment) / sizeof(T))
            throw InternalError("AlignedBuffer: element count overflows the address space");
        // Round the byte count up to whole cache lines: the tail line is never shared either.
        const std::size_t bytes = (count * sizeof(T) + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
        data_ = static_cast<T*>(detail::allocate_aligned(bytes, alignment()));
        if (init == Init::Zero) std::memset(static_cast<void*>(data_), 0, bytes);
    }
    AlignedBuffer(const AlignedBuffer& other) : AlignedBuffer(other.size_, Init::Uninitialized)
    {
        if (size_ > 0) std::memcpy(static_cast<void*>(data_), other.data_, size_ * sizeof(T));
    }
    AlignedBuffer(AlignedBuffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0))
    {
    }
    AlignedBuffer& operator=(AlignedBuffer other) noexcept
    {
        swap(other);
        return *this;
    }
    ~AlignedBuffer()
    {
        if (data_) detail::free_aligned(data_, alignment());
    }

    void swap(AlignedBuffer& other) noexcept
    {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
    }

    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T& operator[](std::size_t i) noexcept { return data_[i]; }
    const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    std::span<T> span() noexcept { return {data_, size_}; }
    std::span<const T> span() const noexcept { return {data_, size_}; }
    T* begin() noexcept { return data_; }
    T* end() noexcept { return data_ + size_; }
    const T* begin() const noexcept { return data_; }
    const T* end() const noexcept { return data_ + size_; }

private:
    std::size_t alignment() const noexcept
    {
        return size_ * sizeof(T) >= kHugePageThreshold ? kHugePageSize : kBufferAlignment;
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace znn::core
