#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "tensor/dtype.h"

namespace winnow {
namespace {

TEST(DType, HalfToFloatKnownValues) {
    EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
    EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
    EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
    EXPECT_FLOAT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
    EXPECT_FLOAT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
    EXPECT_EQ(f16_to_f32(0x7c00), std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
    EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(DType, BFloat16RoundTripAndRounding) {
    EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(-3.5f)), -3.5f);
    // 1 + 2^-8 is halfway between two bf16 values: ties go to even (1.0).
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DType, ConvertBuffersAndNames) {
    const std::uint16_t half[] = {0x3c00, 0x4000, 0xbc00};
    float out[3];
    convert_to_f32(DType::F16, half, 3, out);
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[1], 2.0f);
    EXPECT_EQ(out[2], -1.0f);
    const double wide[] = {0.5, -8.25};
    convert_to_f32(DType::F64, wide, 2, out);
    EXPECT_EQ(out[0], 0.5f);
    EXPECT_EQ(out[1], -8.25f);
    EXPECT_EQ(parse_dtype("BF16"), DType::BF16);
    EXPECT_FALSE(parse_dtype("F8_E4M3").has_value());
    EXPECT_EQ(dtype_size(DType::F16), 2u);
    EXPECT_FALSE(dtype_is_float(DType::I64));
}

}  // namespace
}  // namespace winnow
