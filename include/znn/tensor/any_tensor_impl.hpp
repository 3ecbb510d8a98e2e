#pragma once
// Template definitions for any_tensor.hpp; include that header, not this one.

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

namespace znn::tensor {

template <class U, class T> U convert_value(T v, std::int64_t& clamped)
{
    if constexpr (std::is_floating_point_v<U>) {
        return static_cast<U>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(v))
            throw core::InputError("cannot convert NaN to " + std::string(core::to_string(core::dtype_of<U>())));
        // double represents every 32-bit integer exactly; 64-bit targets need x87 long double.
        using Wide = std::conditional_t<(sizeof(U) <= 4), double, long double>;
        const Wide r = std::round(static_cast<Wide>(v));
        if (r < static_cast<Wide>(std::numeric_limits<U>::min())) {
            ++clamped;
            return std::numeric_limits<U>::min();
        }
        if (r > static_cast<Wide>(std::numeric_limits<U>::max())) {
            ++clamped;
            return std::numeric_limits<U>::max();
        }
        return static_cast<U>(r);
    } else {
        if (std::in_range<U>(v)) return static_cast<U>(v);
        ++clamped;
        return std::cmp_less(v, 0) ? std::numeric_limits<U>::min() : std::numeric_limits<U>::max();
    }
}

template <class U> Tensor<U> AnyTensor::to(ConversionStats* stats) const
{
    return std::visit(
        [&]<class T>(const Tensor<T>& src) {
            Tensor<U> dst(src.shape(), core::Init::Uninitialized);
            std::int64_t clamped = 0;
            const T* s = src.data();
            U* d = dst.data();
            const std::int64_t n = src.count();
            if constexpr (std::is_same_v<T, U>) {
                if (n > 0) std::memcpy(d, s, static_cast<std::size_t>(n) * sizeof(T));
            } else {
                for (std::int64_t i = 0; i < n; ++i)
                    d[i] = convert_value<U>(s[i], clamped);
            }
            if (stats) stats->clamped += clamped;
            return dst;
        },
        tensor_);
}

}  // namespace znn::tensor
