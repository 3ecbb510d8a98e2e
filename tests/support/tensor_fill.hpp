#pragma once
// Deterministic test contents for tensors of any element type.

#include <cstring>
#include <limits>
#include <type_traits>

#include "znn/core/rng.hpp"
#include "znn/tensor/any_tensor.hpp"

namespace znn::test {

/// Fills t with values spanning T's range (extremes included), reproducible from seed.
template <class T> void fill_random(tensor::Tensor<T>& t, std::uint64_t seed)
{
    core::Rng rng = core::Rng::stream(seed, 0, core::RngPurpose::Test);
    std::int64_t i = 0;
    for (T& v : t.span()) {
        if constexpr (std::is_floating_point_v<T>) {
            v = static_cast<T>(rng.normal(0.0, 1000.0));
        } else {
            v = static_cast<T>(rng.next_u64());
        }
        if (i == 0) v = std::numeric_limits<T>::max();
        if (i == 1) v = std::numeric_limits<T>::lowest();
        ++i;
    }
}

inline tensor::AnyTensor random_any(core::DType dtype, tensor::Shape4 shape, int ndim, std::uint64_t seed)
{
    tensor::AnyTensor t(dtype, shape, ndim);
    core::visit_dtype(dtype, [&]<class T>(core::TypeTag<T>) { fill_random(t.as<T>(), seed); });
    return t;
}

/// Bytewise equality of dtype, shape and contents.
inline bool same_tensor(const tensor::AnyTensor& a, const tensor::AnyTensor& b)
{
    return a.dtype() == b.dtype() && a.shape() == b.shape() && a.bytes() == b.bytes() &&
           std::memcmp(a.data(), b.data(), a.bytes()) == 0;
}

}  // namespace znn::test
