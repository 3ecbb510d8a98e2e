#include <gtest/gtest.h>

#include "znn/core/dtype.hpp"

using namespace znn::core;

TEST(DType, NamesSizesAndDispatchAgree)
{
    for (DType t : kAllDTypes) {
        EXPECT_EQ(parse_dtype(to_string(t)), t);
        visit_dtype(t, [&]<class T>(TypeTag<T>) {
            EXPECT_EQ(dtype_of<T>(), t);
            EXPECT_EQ(dtype_size(t), sizeof(T));
            EXPECT_EQ(dtype_is_signed(t), std::is_signed_v<T>);
            EXPECT_EQ(dtype_is_float(t), std::is_floating_point_v<T>);
        });
    }
    EXPECT_EQ(parse_dtype("double"), DType::Float64);
    EXPECT_EQ(parse_dtype("single"), DType::Float32);
    EXPECT_FALSE(parse_dtype("float16"));
}
