#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "znn/tensor/any_tensor.hpp"
#include "znn/tensor/tensor.hpp"

using namespace znn;
using namespace znn::tensor;

TEST(Tensor, IsAlignedZeroedAndCOrdered)
{
    Tensor<float> t(2, {3, 4, 5});
    EXPECT_EQ(t.count(), 120);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % core::kBufferAlignment, 0u);
    for (float v : t.span())
        EXPECT_EQ(v, 0.0f);
    t(1, 2, 3, 4) = 7.0f;
    EXPECT_EQ(t.data()[((1 * 3 + 2) * 4 + 3) * 5 + 4], 7.0f);
    Tensor<float> copy = t;  // deep copy
    copy(1, 2, 3, 4) = 1.0f;
    EXPECT_EQ(t(1, 2, 3, 4), 7.0f);
}

TEST(TensorView, ChannelsAndBoxesAddressTheParent)
{
    Tensor<int> t(3, {4, 5, 6});
    int n = 0;
    for (int& v : t.span())
        v = n++;
    const TensorView<int> inner = t.view().channels(1, 2).box({{1, 2, 3}, {2, 2, 3}});
    EXPECT_EQ(inner.shape(), (Shape4{2, {2, 2, 3}}));
    EXPECT_FALSE(inner.is_contiguous());
    for (int c = 0; c < 2; ++c)
        for (int z = 0; z < 2; ++z)
            for (int y = 0; y < 2; ++y)
                for (int x = 0; x < 3; ++x)
                    EXPECT_EQ(inner(c, z, y, x), t(c + 1, z + 1, y + 2, x + 3));
    EXPECT_EQ(inner.row(1, 1, 1), &t(2, 2, 3, 3));

    Tensor<int> out(2, {2, 2, 3});
    copy<int>(inner, out.view());
    EXPECT_EQ(out(1, 1, 1, 2), t(2, 2, 3, 5));
    fill(inner, -1);
    EXPECT_EQ(t(1, 1, 2, 3), -1);
    EXPECT_EQ(t(0, 1, 2, 3), (1 * 5 + 2) * 6 + 3);  // channel 0 untouched
    EXPECT_TRUE(t.view().channel(2).is_contiguous());
    EXPECT_TRUE(t.view().box({{1, 0, 0}, {2, 5, 6}}).channel(0).is_contiguous());
}

TEST(TensorView, OutOfBoundsWindowsAreRejected)
{
    Tensor<float> t(1, {4, 4, 4});
    EXPECT_THROW(t.view().box({{1, 1, 1}, {4, 1, 1}}), core::InternalError);
    EXPECT_THROW(t.view().channels(1, 1), core::InternalError);
    EXPECT_THROW(Tensor<float>(-1, {1, 1, 1}), core::InternalError);
    EXPECT_THROW(t.view().box({{0, 0, 0}, {2, 2, 2}}).span(), core::InternalError);
}

TEST(AnyTensor, ConversionRoundsClampsAndRejectsNaN)
{
    Tensor<float> f(1, {1, 1, 6});
    const float values[] = {-3.6f, 0.5f, 2.49f, 254.5f, 300.0f, -0.4f};
    for (int i = 0; i < 6; ++i)
        f(0, 0, 0, i) = values[i];
    const AnyTensor any(std::move(f), 3);
    EXPECT_EQ(any.dtype(), core::DType::Float32);
    ConversionStats stats;
    const Tensor<std::uint8_t> u = any.to<std::uint8_t>(&stats);
    const std::uint8_t expected[] = {0, 1, 2, 255, 255, 0};
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(u(0, 0, 0, i), expected[i]) << i;
    EXPECT_EQ(stats.clamped, 2);  // -3.6 and 300

    const AnyTensor i16 = any.converted(core::DType::Int16);
    EXPECT_EQ(i16.as<std::int16_t>()(0, 0, 0, 0), -4);
    EXPECT_EQ(i16.ndim(), 3);

    Tensor<double> nan(1, {1, 1, 1});
    nan(0, 0, 0, 0) = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(AnyTensor(std::move(nan)).to<std::int32_t>(), core::InputError);
}

TEST(AnyTensor, IntegerConversionSaturatesAt64Bits)
{
    std::int64_t clamped = 0;
    EXPECT_EQ(convert_value<std::uint8_t>(std::int64_t{-1}, clamped), 0);
    EXPECT_EQ(convert_value<std::int32_t>(std::uint64_t{1} << 40, clamped), std::numeric_limits<std::int32_t>::max());
    EXPECT_EQ(convert_value<std::uint64_t>(1e30, clamped), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(convert_value<std::int64_t>(-9.3e18, clamped), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(clamped, 4);
    EXPECT_EQ(convert_value<std::uint64_t>(std::uint64_t{18446744073709551615ull}, clamped), 18446744073709551615ull);
    EXPECT_EQ(convert_value<std::int64_t>(9007199254740993.0L, clamped), 9007199254740993);  // exact in long double
    EXPECT_EQ(convert_value<std::int64_t>(static_cast<double>(9007199254740993.0L), clamped), 9007199254740992);
    EXPECT_EQ(convert_value<float>(std::uint32_t{16777217}, clamped), 16777216.0f);
    EXPECT_EQ(clamped, 4);
}

TEST(AnyTensor, TypeErasedAccessAndBytes)
{
    AnyTensor t(core::DType::UInt16, Shape4{2, {3, 4, 5}}, 4);
    EXPECT_EQ(t.bytes(), 2u * 60u * 2u);
    EXPECT_TRUE(t.holds<std::uint16_t>());
    EXPECT_THROW(t.as<float>(), core::InternalError);
    t.as<std::uint16_t>()(1, 2, 3, 4) = 65535;
    EXPECT_EQ(static_cast<const std::uint16_t*>(t.data())[119], 65535);
}
