#pragma once
/// @file
/// @brief AnyTensor: a 4D tensor of any DType, as read from or written to a volume file.
///
/// Files hold volumes of many element types (uint8 EM images, uint32/uint64 label IDs, float32
/// predictions); AnyTensor carries whichever one a file had, plus the number of dimensions of the
/// array on disk (`ndim`: 2 for one y,x image, 3 for z,y,x, 4 for c,z,y,x), so a conversion writes
/// back exactly the array it read. Compute code asks for a typed tensor with `to<float>()`.
///
/// Value conversion (`to<U>()`, `converted(DType)`), the rule everywhere in znn:
///  - to a floating type: the nearest representable value;
///  - float to integer: rounded to nearest (ties away from zero) and clamped to the target range;
///    NaN cannot be converted and raises InputError;
///  - integer to integer: clamped to the target range.
/// The number of clamped values is reported through ConversionStats, so callers can warn.

#include <cstdint>
#include <variant>

#include "znn/core/dtype.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::tensor {

/// How many values a conversion had to clamp to the target range.
struct ConversionStats {
    std::int64_t clamped = 0;
};

/// @brief A Tensor<T> for one of the DTypes, with the file's number of dimensions.
class AnyTensor {
public:
    using Variant = std::variant<Tensor<std::uint8_t>, Tensor<std::int8_t>, Tensor<std::uint16_t>, Tensor<std::int16_t>,
                                 Tensor<std::uint32_t>, Tensor<std::int32_t>, Tensor<std::uint64_t>,
                                 Tensor<std::int64_t>, Tensor<float>, Tensor<double>>;

    AnyTensor() = default;
    /// A zeroed tensor of the given type and shape; ndim in [2, 4] (see the file comment).
    AnyTensor(core::DType dtype, Shape4 shape, int ndim = 4, core::Init init = core::Init::Zero);
    /// Takes ownership of a typed tensor.
    template <class T> explicit AnyTensor(Tensor<T> t, int ndim = 4) : tensor_(std::move(t)), ndim_(checked_ndim(ndim))
    {
    }

    core::DType dtype() const;
    const Shape4& shape() const;
    /// Number of dimensions of the array on disk: 2 (y,x), 3 (z,y,x) or 4 (c,z,y,x).
    int ndim() const noexcept { return ndim_; }
    void set_ndim(int ndim) { ndim_ = checked_ndim(ndim); }
    /// Raw bytes of the elements (contiguous, C order).
    void* data();
    const void* data() const;
    std::size_t bytes() const;

    /// True if the tensor holds elements of type T.
    template <class T> bool holds() const noexcept { return std::holds_alternative<Tensor<T>>(tensor_); }
    /// The tensor as its own type T; T must be dtype().
    template <class T> Tensor<T>& as()
    {
        ZNN_CHECK(holds<T>(), "AnyTensor::as: holds " + std::string(core::to_string(dtype())));
        return std::get<Tensor<T>>(tensor_);
    }
    template <class T> const Tensor<T>& as() const
    {
        ZNN_CHECK(holds<T>(), "AnyTensor::as: holds " + std::string(core::to_string(dtype())));
        return std::get<Tensor<T>>(tensor_);
    }

    /// A copy converted to element type U (rules in the file comment).
    template <class U> Tensor<U> to(ConversionStats* stats = nullptr) const;
    /// A copy converted to `dtype`, keeping ndim.
    AnyTensor converted(core::DType dtype, ConversionStats* stats = nullptr) const;

    const Variant& variant() const noexcept { return tensor_; }
    Variant& variant() noexcept { return tensor_; }

private:
    static int checked_ndim(int ndim);

    Variant tensor_;
    int ndim_ = 4;
};

/// Converts one value by the rules above; `clamped` is incremented when the value was clamped.
/// Throws InputError for NaN to an integer type.
template <class U, class T> U convert_value(T v, std::int64_t& clamped);

}  // namespace znn::tensor

#include "znn/tensor/any_tensor_impl.hpp"
