#pragma once
/// @file
/// @brief Owning 4D tensors (c, z, y, x) and non-owning strided views of them.
///
/// A `Tensor<T>` owns a 64-byte aligned, C-ordered array of shape (c, z, y, x): x varies fastest
/// (see znn/core/vec3.hpp for the axis convention). A `TensorView<T>` is a window into one: a range of
/// channels and a spatial sub-box. Views always keep x contiguous (stride 1), so every row
/// `view.row(c, z, y)` is a plain pointer to `size().x` consecutive elements; the z, y and channel
/// strides are free. `TensorView<const T>` is the read-only view.
///
/// Example:
/// @code
///   Tensor<float> t(Shape4{2, {8, 64, 64}});        // 2 channels of 8×64×64, zeroed
///   TensorView<float> inner = t.view().box({{1, 1, 1}, {6, 62, 62}});
///   inner(0, 0, 0, 0) = 1.0f;                         // t(0, 1, 1, 1)
/// @endcode

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "znn/core/aligned.hpp"
#include "znn/core/error.hpp"
#include "znn/core/vec3.hpp"

namespace znn::tensor {

using core::Box3;
using core::Vec3i;

/// @brief Shape of a 4D tensor: channels and spatial size (z, y, x).
struct Shape4 {
    std::int64_t c = 0;
    Vec3i zyx;

    constexpr std::int64_t count() const { return c * zyx.product(); }
    friend constexpr bool operator==(const Shape4&, const Shape4&) = default;
};

/// "c×z×y×x", e.g. "2x8x64x64".
std::string to_string(const Shape4& s);

/// @brief Element strides of a view (x stride is always 1).
struct Strides4 {
    std::int64_t c = 0;
    std::int64_t z = 0;
    std::int64_t y = 0;

    /// Strides of a contiguous C-ordered array of shape s.
    static constexpr Strides4 dense(const Shape4& s) { return {s.zyx.product(), s.zyx.y * s.zyx.x, s.zyx.x}; }
    friend constexpr bool operator==(const Strides4&, const Strides4&) = default;
};

/// @brief Non-owning window into a 4D array; x is contiguous. Copying a view copies the window only.
template <class T> class TensorView {
public:
    TensorView() = default;
    TensorView(T* data, Shape4 shape, Strides4 strides) : data_(data), shape_(shape), strides_(strides) {}
    /// A view of a contiguous C-ordered array.
    TensorView(T* data, Shape4 shape) : TensorView(data, shape, Strides4::dense(shape)) {}

    /// Every view converts to a read-only view.
    operator TensorView<const T>() const { return {data_, shape_, strides_}; }

    T* data() const noexcept { return data_; }
    const Shape4& shape() const noexcept { return shape_; }
    const Strides4& strides() const noexcept { return strides_; }
    std::int64_t channels() const noexcept { return shape_.c; }
    /// Spatial size (z, y, x).
    const Vec3i& size() const noexcept { return shape_.zyx; }
    std::int64_t count() const noexcept { return shape_.count(); }
    bool empty() const noexcept { return count() == 0; }

    T& operator()(std::int64_t c, std::int64_t z, std::int64_t y, std::int64_t x) const noexcept
    {
        return data_[c * strides_.c + z * strides_.z + y * strides_.y + x];
    }
    /// Pointer to the first of the `size().x` consecutive elements of row (c, z, y).
    T* row(std::int64_t c, std::int64_t z, std::int64_t y) const noexcept
    {
        return data_ + c * strides_.c + z * strides_.z + y * strides_.y;
    }

    /// Channel `c` alone (a 1-channel view).
    TensorView channel(std::int64_t c) const { return channels(c, 1); }
    /// Channels [first, first + count).
    TensorView channels(std::int64_t first, std::int64_t count) const
    {
        ZNN_CHECK(first >= 0 && count >= 0 && first + count <= shape_.c, "channel range out of bounds");
        return {data_ + first * strides_.c, Shape4{count, shape_.zyx}, strides_};
    }
    /// The spatial sub-box `b` of every channel; `b` must lie inside {0, size()}.
    TensorView box(const Box3& b) const
    {
        ZNN_CHECK((Box3{Vec3i{}, shape_.zyx}.contains(b)) && !(b.size.z < 0 || b.size.y < 0 || b.size.x < 0),
                  "box " + core::to_string(b) + " outside a view of size " + core::to_string(shape_.zyx));
        return {data_ + b.origin.z * strides_.z + b.origin.y * strides_.y + b.origin.x, Shape4{shape_.c, b.size},
                strides_};
    }

    /// True if the view covers one gap-free C-ordered block of memory.
    bool is_contiguous() const noexcept
    {
        const Strides4 d = Strides4::dense(shape_);
        return (shape_.c <= 1 || strides_.c == d.c) && (shape_.zyx.z <= 1 || strides_.z == d.z) &&
               (shape_.zyx.y <= 1 || strides_.y == d.y);
    }
    /// All elements as one span; the view must be contiguous.
    std::span<T> span() const
    {
        ZNN_CHECK(is_contiguous(), "span() of a non-contiguous view");
        return {data_, static_cast<std::size_t>(count())};
    }

    /// Calls f(element&) for every element, in C order.
    template <class F> void for_each(F&& f) const
    {
        for (std::int64_t c = 0; c < shape_.c; ++c)
            for (std::int64_t z = 0; z < shape_.zyx.z; ++z)
                for (std::int64_t y = 0; y < shape_.zyx.y; ++y) {
                    T* r = row(c, z, y);
                    for (std::int64_t x = 0; x < shape_.zyx.x; ++x)
                        f(r[x]);
                }
    }

private:
    T* data_ = nullptr;
    Shape4 shape_;
    Strides4 strides_;
};

/// @brief An owning, aligned, contiguous 4D array (c, z, y, x). Copying deep-copies.
template <class T> class Tensor {
public:
    using value_type = T;

    Tensor() = default;
    explicit Tensor(Shape4 shape, core::Init init = core::Init::Zero)
        : shape_(checked(shape)), data_(shape.count(), init)
    {
    }
    Tensor(std::int64_t channels, Vec3i size, core::Init init = core::Init::Zero) : Tensor(Shape4{channels, size}, init)
    {
    }

    const Shape4& shape() const noexcept { return shape_; }
    std::int64_t channels() const noexcept { return shape_.c; }
    const Vec3i& size() const noexcept { return shape_.zyx; }
    std::int64_t count() const noexcept { return shape_.count(); }
    bool empty() const noexcept { return count() == 0; }
    T* data() noexcept { return data_.data(); }
    const T* data() const noexcept { return data_.data(); }
    std::span<T> span() noexcept { return data_.span(); }
    std::span<const T> span() const noexcept { return data_.span(); }

    TensorView<T> view() noexcept { return {data(), shape_}; }
    TensorView<const T> view() const noexcept { return {data(), shape_}; }
    TensorView<const T> cview() const noexcept { return {data(), shape_}; }
    TensorView<T> channel(std::int64_t c) { return view().channel(c); }
    TensorView<const T> channel(std::int64_t c) const { return view().channel(c); }
    TensorView<T> box(const Box3& b) { return view().box(b); }
    TensorView<const T> box(const Box3& b) const { return view().box(b); }

    T& operator()(std::int64_t c, std::int64_t z, std::int64_t y, std::int64_t x) noexcept
    {
        return data_[static_cast<std::size_t>(((c * shape_.zyx.z + z) * shape_.zyx.y + y) * shape_.zyx.x + x)];
    }
    const T& operator()(std::int64_t c, std::int64_t z, std::int64_t y, std::int64_t x) const noexcept
    {
        return data_[static_cast<std::size_t>(((c * shape_.zyx.z + z) * shape_.zyx.y + y) * shape_.zyx.x + x)];
    }

    void fill(T value)
    {
        for (T& v : data_)
            v = value;
    }

private:
    static Shape4 checked(const Shape4& s)
    {
        ZNN_CHECK(s.c >= 0 && s.zyx.z >= 0 && s.zyx.y >= 0 && s.zyx.x >= 0, "negative tensor shape " + to_string(s));
        return s;
    }

    Shape4 shape_;
    core::AlignedBuffer<T> data_;
};

/// Copies src into dst element by element; the shapes must be equal.
template <class T> void copy(TensorView<const T> src, TensorView<T> dst)
{
    ZNN_CHECK(src.shape() == dst.shape(), "copy: shape " + to_string(src.shape()) + " into " + to_string(dst.shape()));
    const std::size_t row_bytes = static_cast<std::size_t>(src.size().x) * sizeof(T);
    for (std::int64_t c = 0; c < src.channels(); ++c)
        for (std::int64_t z = 0; z < src.size().z; ++z)
            for (std::int64_t y = 0; y < src.size().y; ++y)
                if (row_bytes > 0) std::memcpy(dst.row(c, z, y), src.row(c, z, y), row_bytes);
}

/// @brief Where a tensor holds a value that is NaN or infinite.
struct NonFinite {
    std::int64_t channel = 0;
    Vec3i at;                 ///< z, y, x
    std::int64_t count = 0;   ///< how many such values in all
};

/// The first NaN or infinity of `v` (channel by channel, in memory order) and how many there are;
/// nullopt when every value is finite.
template <class T> std::optional<NonFinite> find_non_finite(TensorView<const T> v)
{
    std::optional<NonFinite> found;
    for (std::int64_t c = 0; c < v.channels(); ++c)
        for (std::int64_t z = 0; z < v.size().z; ++z)
            for (std::int64_t y = 0; y < v.size().y; ++y) {
                const T* row = v.row(c, z, y);
                for (std::int64_t x = 0; x < v.size().x; ++x) {
                    if (std::isfinite(row[x])) continue;
                    if (!found) found = NonFinite{c, {z, y, x}, 0};
                    ++found->count;
                }
            }
    return found;
}

/// Sets every element of dst to value.
template <class T> void fill(TensorView<T> dst, T value)
{
    dst.for_each([value](T& v) { v = value; });
}

}  // namespace znn::tensor
