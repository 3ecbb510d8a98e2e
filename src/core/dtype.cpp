#include "znn/core/dtype.hpp"

#include <string>

namespace znn::core {

std::string_view to_string(DType t) noexcept
{
    switch (t) {
        case DType::UInt8: return "uint8";
        case DType::Int8: return "int8";
        case DType::UInt16: return "uint16";
        case DType::Int16: return "int16";
        case DType::UInt32: return "uint32";
        case DType::Int32: return "int32";
        case DType::UInt64: return "uint64";
        case DType::Int64: return "int64";
        case DType::Float32: return "float32";
        case DType::Float64: return "float64";
    }
    return "invalid";
}

std::optional<DType> parse_dtype(std::string_view name) noexcept
{
    for (DType t : kAllDTypes)
        if (to_string(t) == name) return t;
    if (name == "float" || name == "single") return DType::Float32;
    if (name == "double") return DType::Float64;
    return std::nullopt;
}

std::size_t dtype_size(DType t) noexcept
{
    return visit_dtype(t, []<class T>(TypeTag<T>) { return sizeof(T); });
}

bool dtype_is_float(DType t) noexcept
{
    return t == DType::Float32 || t == DType::Float64;
}

bool dtype_is_signed(DType t) noexcept
{
    return visit_dtype(t, []<class T>(TypeTag<T>) { return std::is_signed_v<T>; });
}

}  // namespace znn::core
