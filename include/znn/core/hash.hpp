#pragma once
/// @file
/// @brief Hash64: a 64-bit FNV-1a hash of bytes, for fingerprints of files, texts and data blocks
/// (not cryptographic: it detects a different or damaged input, not a forged one).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace znn::core {

class Hash64 {
public:
    Hash64& add(const void* data, std::size_t bytes) noexcept
    {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < bytes; ++i)
            state_ = (state_ ^ p[i]) * 0x100000001b3ULL;
        return *this;
    }
    Hash64& add(std::string_view text) noexcept { return add(text.data(), text.size()); }
    std::uint64_t value() const noexcept { return state_; }
    /// 16 lowercase hex digits.
    std::string hex() const;

private:
    std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

/// 16 lowercase hex digits of `v`.
std::string to_hex(std::uint64_t v);

}  // namespace znn::core
