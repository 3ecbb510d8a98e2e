#pragma once
/// @file
/// @brief The bounds every size read from a user is held to, and overflow-checked integer arithmetic.
///
/// Sizes, offsets, strides, dilations and map counts come from command lines, `.znn`, `.cfg` and
/// network files and from volume headers; each is checked against kMaxAxis where it is read, and
/// every product of them (voxel and element counts) against kMaxElements, so that the sums and products
/// the shape arithmetic makes of a few of them (kernel extents (K − 1)·d + 1, fields of view, byte
/// counts) stay far inside 64 bits.

#include <cstdint>
#include <optional>

#include "znn/core/vec3.hpp"

namespace znn::core {

/// The largest size, offset, stride, dilation or map count along one axis (2^31).
inline constexpr std::int64_t kMaxAxis = std::int64_t{1} << 31;
/// The largest number of elements of one volume, tensor or parameter array (2^56: 256 PiB of floats).
inline constexpr std::int64_t kMaxElements = std::int64_t{1} << 56;

/// a + b, or nullopt when it overflows.
inline std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b) noexcept
{
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
    return r;
}

/// a · b, or nullopt when it overflows.
inline std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) noexcept
{
    std::int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}

/// a + b for non-negative values, held at INT64_MAX instead of overflowing (totals for reports).
inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept
{
    return checked_add(a, b).value_or(INT64_MAX);
}

/// factor · z · y · x for non-negative values, or nullopt when it exceeds kMaxElements.
inline std::optional<std::int64_t> checked_count(const Vec3i& v, std::int64_t factor = 1) noexcept
{
    std::optional<std::int64_t> n = factor;
    for (int a = 0; a < 3 && n; ++a)
        n = checked_mul(*n, v[a]);
    if (!n || *n > kMaxElements) return std::nullopt;
    return n;
}

/// Whether every component lies in [low, kMaxAxis].
inline bool within_axis_limit(const Vec3i& v, std::int64_t low = 1) noexcept
{
    return v.min_component() >= low && v.max_component() <= kMaxAxis;
}

}  // namespace znn::core
