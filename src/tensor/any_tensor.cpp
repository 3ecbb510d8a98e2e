#include "znn/tensor/any_tensor.hpp"

namespace znn::tensor {

std::string to_string(const Shape4& s)
{
    return std::to_string(s.c) + "x" + std::to_string(s.zyx.z) + "x" + std::to_string(s.zyx.y) + "x" +
           std::to_string(s.zyx.x);
}

AnyTensor::AnyTensor(core::DType dtype, Shape4 shape, int ndim, core::Init init) : ndim_(checked_ndim(ndim))
{
    core::visit_dtype(dtype, [&]<class T>(core::TypeTag<T>) { tensor_ = Tensor<T>(shape, init); });
}

int AnyTensor::checked_ndim(int ndim)
{
    ZNN_CHECK(ndim >= 2 && ndim <= 4, "AnyTensor: ndim must be 2, 3 or 4");
    return ndim;
}

core::DType AnyTensor::dtype() const
{
    return std::visit([]<class T>(const Tensor<T>&) { return core::dtype_of<T>(); }, tensor_);
}

const Shape4& AnyTensor::shape() const
{
    return std::visit([](const auto& t) -> const Shape4& { return t.shape(); }, tensor_);
}

void* AnyTensor::data()
{
    return std::visit([](auto& t) -> void* { return t.data(); }, tensor_);
}

const void* AnyTensor::data() const
{
    return std::visit([](const auto& t) -> const void* { return t.data(); }, tensor_);
}

std::size_t AnyTensor::bytes() const
{
    return static_cast<std::size_t>(shape().count()) * core::dtype_size(dtype());
}

AnyTensor AnyTensor::converted(core::DType dtype, ConversionStats* stats) const
{
    return core::visit_dtype(dtype, [&]<class U>(core::TypeTag<U>) { return AnyTensor(to<U>(stats), ndim_); });
}

}  // namespace znn::tensor
