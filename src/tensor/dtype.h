// Element types found in safetensors files and their conversion to f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace winnow {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

std::optional<DType> parse_dtype(std::string_view name) noexcept;  // safetensors names: "F32", "BF16", ...
std::string_view dtype_name(DType dtype) noexcept;
std::size_t dtype_size(DType dtype) noexcept;
// Whether convert_to_f32 handles it (the floating types).
bool dtype_is_float(DType dtype) noexcept;

float f16_to_f32(std::uint16_t bits) noexcept;
float bf16_to_f32(std::uint16_t bits) noexcept;
std::uint16_t f32_to_bf16(float value) noexcept;  // round to nearest even

// Converts n little-endian elements at `src` (any alignment) to f32. dtype must be a float type.
void convert_to_f32(DType dtype, const void* src, std::size_t n, float* dst) noexcept;

}  // namespace winnow
