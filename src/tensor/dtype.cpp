#include "tensor/dtype.h"

#include <bit>
#include <cstring>

namespace winnow {

namespace {
struct DTypeInfo {
    DType dtype;
    std::string_view name;
    std::size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2}, {DType::F64, "F64", 8},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2},   {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::Bool, "BOOL", 1},
};
}  // namespace

std::optional<DType> parse_dtype(std::string_view name) noexcept {
    for (const auto& info : kDTypes) {
        if (info.name == name) return info.dtype;
    }
    return std::nullopt;
}

std::string_view dtype_name(DType dtype) noexcept {
    for (const auto& info : kDTypes) {
        if (info.dtype == dtype) return info.name;
    }
    return "?";
}

std::size_t dtype_size(DType dtype) noexcept {
    for (const auto& info : kDTypes) {
        if (info.dtype == dtype) return info.size;
    }
    return 0;
}

bool dtype_is_float(DType dtype) noexcept {
    return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F64;
}

float f16_to_f32(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    std::uint32_t exponent = (h >> 10) & 0x1fu;
    std::uint32_t mantissa = h & 0x3ffu;
    std::uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;  // signed zero
        } else {
            // Subnormal: normalise the mantissa.
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400u) == 0) {
                mantissa <<= 1;
                --exponent;
            }
            mantissa &= 0x3ffu;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);  // inf / nan
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(bits);
}

float bf16_to_f32(std::uint16_t bits) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

std::uint16_t f32_to_bf16(float value) noexcept {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);  // quiet nan
    const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

void convert_to_f32(DType dtype, const void* src, std::size_t n, float* dst) noexcept {
    const auto* bytes = static_cast<const unsigned char*>(src);
    switch (dtype) {
        case DType::F32:
            std::memcpy(dst, bytes, n * sizeof(float));
            break;
        case DType::F16:
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, bytes + 2 * i, 2);
                dst[i] = f16_to_f32(h);
            }
            break;
        case DType::BF16:
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, bytes + 2 * i, 2);
                dst[i] = bf16_to_f32(h);
            }
            break;
        case DType::F64:
            for (std::size_t i = 0; i < n; ++i) {
                double d;
                std::memcpy(&d, bytes + 8 * i, 8);
                dst[i] = static_cast<float>(d);
            }
            break;
        default:
            break;  // not a float type: callers check dtype_is_float first
    }
}

}  // namespace winnow
