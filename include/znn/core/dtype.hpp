#pragma once
/// @file
/// @brief Element types of volumes on disk and in memory, with compile-time mapping and dispatch.
///
/// Example: convert whatever a file holds to float:
/// @code
///   visit_dtype(volume.dtype(), [&]<class T>(TypeTag<T>) { ... T is uint8_t, float, ... });
/// @endcode

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "znn/core/error.hpp"

namespace znn::core {

/// Every element type a volume may have. Names follow numpy (`uint8`, `float32`, ...).
enum class DType { UInt8, Int8, UInt16, Int16, UInt32, Int32, UInt64, Int64, Float32, Float64 };

inline constexpr DType kAllDTypes[] = {DType::UInt8, DType::Int8,   DType::UInt16, DType::Int16,   DType::UInt32,
                                       DType::Int32, DType::UInt64, DType::Int64,  DType::Float32, DType::Float64};

/// numpy name: "uint8", "float32", ...
std::string_view to_string(DType t) noexcept;
/// Parses a numpy name (also accepts "float"=float32, "double"=float64, "single"=float32).
std::optional<DType> parse_dtype(std::string_view name) noexcept;

/// Size of one element in bytes.
std::size_t dtype_size(DType t) noexcept;
bool dtype_is_float(DType t) noexcept;
bool dtype_is_signed(DType t) noexcept;

/// A value-less tag carrying a type, for generic lambdas in visit_dtype.
template <class T> struct TypeTag {
    using type = T;
};

/// The DType of a C++ element type.
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<std::uint8_t>()
{
    return DType::UInt8;
}
template <> constexpr DType dtype_of<std::int8_t>()
{
    return DType::Int8;
}
template <> constexpr DType dtype_of<std::uint16_t>()
{
    return DType::UInt16;
}
template <> constexpr DType dtype_of<std::int16_t>()
{
    return DType::Int16;
}
template <> constexpr DType dtype_of<std::uint32_t>()
{
    return DType::UInt32;
}
template <> constexpr DType dtype_of<std::int32_t>()
{
    return DType::Int32;
}
template <> constexpr DType dtype_of<std::uint64_t>()
{
    return DType::UInt64;
}
template <> constexpr DType dtype_of<std::int64_t>()
{
    return DType::Int64;
}
template <> constexpr DType dtype_of<float>()
{
    return DType::Float32;
}
template <> constexpr DType dtype_of<double>()
{
    return DType::Float64;
}

/// Calls `f(TypeTag<T>{})` with the C++ type T of `t` and returns its result.
template <class F> decltype(auto) visit_dtype(DType t, F&& f)
{
    switch (t) {
        case DType::UInt8: return f(TypeTag<std::uint8_t>{});
        case DType::Int8: return f(TypeTag<std::int8_t>{});
        case DType::UInt16: return f(TypeTag<std::uint16_t>{});
        case DType::Int16: return f(TypeTag<std::int16_t>{});
        case DType::UInt32: return f(TypeTag<std::uint32_t>{});
        case DType::Int32: return f(TypeTag<std::int32_t>{});
        case DType::UInt64: return f(TypeTag<std::uint64_t>{});
        case DType::Int64: return f(TypeTag<std::int64_t>{});
        case DType::Float32: return f(TypeTag<float>{});
        case DType::Float64: return f(TypeTag<double>{});
    }
    throw InternalError("visit_dtype: invalid DType value");
}

}  // namespace znn::core
