#pragma once
/// @file
/// @brief 3-vectors and boxes of voxel coordinates; **the axis convention of the whole program**.
///
/// Axis order is **(z, y, x)** everywhere: in memory, in files, on the command line and in the
/// original ZNN's `.znn`/`.cfg` files. x varies fastest in memory (C order), z slowest; 2D data has
/// z = 1. A 4D volume adds a leading channel axis: (c, z, y, x). This matches numpy/h5py arrays of
/// shape (c, z, y, x) and the original's user-facing convention (its C++ core stored x fastest under
/// the name "z"; nothing here does). A 3-vector is written `z,y,x` in text, e.g. `1,4,4` is a 2D 4×4
/// kernel one voxel deep in z.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace znn::core {

/// @brief A (z, y, x) triple. Arithmetic is element-wise.
template <class T> struct Vec3 {
    T z{};
    T y{};
    T x{};

    constexpr Vec3() = default;
    constexpr Vec3(T z_, T y_, T x_) : z(z_), y(y_), x(x_) {}
    /// All three components equal to v.
    static constexpr Vec3 all(T v) { return {v, v, v}; }

    constexpr T& operator[](int axis) { return axis == 0 ? z : (axis == 1 ? y : x); }
    constexpr const T& operator[](int axis) const { return axis == 0 ? z : (axis == 1 ? y : x); }

    /// z·y·x (the number of voxels of a box of this size).
    constexpr T product() const { return z * y * x; }
    constexpr T min_component() const { return std::min({z, y, x}); }
    constexpr T max_component() const { return std::max({z, y, x}); }

    friend constexpr Vec3 operator+(Vec3 a, Vec3 b) { return {a.z + b.z, a.y + b.y, a.x + b.x}; }
    friend constexpr Vec3 operator-(Vec3 a, Vec3 b) { return {a.z - b.z, a.y - b.y, a.x - b.x}; }
    friend constexpr Vec3 operator*(Vec3 a, Vec3 b) { return {a.z * b.z, a.y * b.y, a.x * b.x}; }
    friend constexpr Vec3 operator/(Vec3 a, Vec3 b) { return {a.z / b.z, a.y / b.y, a.x / b.x}; }
    friend constexpr Vec3 operator%(Vec3 a, Vec3 b) { return {a.z % b.z, a.y % b.y, a.x % b.x}; }
    friend constexpr Vec3 operator+(Vec3 a, T s) { return {a.z + s, a.y + s, a.x + s}; }
    friend constexpr Vec3 operator-(Vec3 a, T s) { return {a.z - s, a.y - s, a.x - s}; }
    friend constexpr Vec3 operator*(Vec3 a, T s) { return {a.z * s, a.y * s, a.x * s}; }
    friend constexpr bool operator==(Vec3 a, Vec3 b) = default;

    /// True if every component of a is <= the corresponding component of b.
    friend constexpr bool all_le(Vec3 a, Vec3 b) { return a.z <= b.z && a.y <= b.y && a.x <= b.x; }
    friend constexpr bool all_lt(Vec3 a, Vec3 b) { return a.z < b.z && a.y < b.y && a.x < b.x; }
    friend constexpr Vec3 min(Vec3 a, Vec3 b) { return {std::min(a.z, b.z), std::min(a.y, b.y), std::min(a.x, b.x)}; }
    friend constexpr Vec3 max(Vec3 a, Vec3 b) { return {std::max(a.z, b.z), std::max(a.y, b.y), std::max(a.x, b.x)}; }
};

using Vec3i = Vec3<std::int64_t>;
using Vec3d = Vec3<double>;

/// Text form `z,y,x`.
std::string to_string(const Vec3i& v);
std::string to_string(const Vec3d& v);

/// Parses `z,y,x` (or a single `n`, meaning `n,n,n`); no spaces inside. Returns nullopt when malformed.
std::optional<Vec3i> parse_vec3i(std::string_view text);
std::optional<Vec3d> parse_vec3d(std::string_view text);

/// @brief An axis-aligned box of voxels: `origin` inclusive, `origin + size` exclusive.
struct Box3 {
    Vec3i origin;
    Vec3i size;

    constexpr Vec3i end() const { return origin + size; }
    constexpr std::int64_t voxels() const { return size.product(); }
    constexpr bool empty() const { return size.z <= 0 || size.y <= 0 || size.x <= 0; }
    /// True if `inner` lies entirely inside this box.
    constexpr bool contains(const Box3& inner) const
    {
        return all_le(origin, inner.origin) && all_le(inner.end(), end());
    }
    friend constexpr bool operator==(const Box3&, const Box3&) = default;
};

/// Intersection of two boxes (size clamped to zero when they do not overlap).
Box3 intersect(const Box3& a, const Box3& b);

/// Text form `z0,y0,x0+dz,dy,dx` (origin + size).
std::string to_string(const Box3& b);

}  // namespace znn::core
