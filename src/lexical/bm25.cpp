#include "lexical/bm25.h"

#include <bit>
#include <charconv>
#include <cmath>

#include "winnow/error.h"

namespace winnow::lexical {
namespace {

// SmallFloat.longToInt4: a 4-bit mantissa (implicit leading one) and the shift above it.
std::uint32_t long_to_int4(std::uint64_t i) noexcept {
    const int num_bits = 64 - std::countl_zero(i);
    if (num_bits < 4) return static_cast<std::uint32_t>(i);  // subnormal
    const int shift = num_bits - 4;
    const auto encoded = static_cast<std::uint32_t>((i >> shift) & 0x07);
    return encoded | (static_cast<std::uint32_t>(shift + 1) << 3);
}

std::uint64_t int4_to_long(std::uint32_t i) noexcept {
    const std::uint64_t bits = i & 0x07;
    const int shift = static_cast<int>(i >> 3) - 1;
    if (shift == -1) return bits;
    return (bits | 0x08) << shift;
}

const std::uint32_t kNumFreeValues = 255 - long_to_int4(0x7fffffffULL);  // = 24

float parse_float(std::string_view v, std::string_view spec) {
    float out = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    WINNOW_CHECK(ec == std::errc() && ptr == v.data() + v.size() && std::isfinite(out), Errc::InvalidArgument,
                 "bm25 spec '{}': '{}' is not a number", spec, v);
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

}  // namespace

std::uint8_t int_to_byte4(std::uint32_t value) noexcept {
    if (value < kNumFreeValues) return static_cast<std::uint8_t>(value);
    return static_cast<std::uint8_t>(kNumFreeValues + long_to_int4(value - kNumFreeValues));
}

std::uint32_t byte4_to_int(std::uint8_t byte) noexcept {
    const std::uint32_t i = byte;
    if (i < kNumFreeValues) return i;
    return static_cast<std::uint32_t>(kNumFreeValues + int4_to_long(i - kNumFreeValues));
}

Bm25Params parse_bm25_spec(std::string_view spec) {
    Bm25Params p;
    std::string_view s = trim(spec);
    WINNOW_CHECK(s.substr(0, 4) == "bm25", Errc::InvalidArgument, "bm25 spec '{}': expected bm25(k1=...,b=...)", spec);
    s.remove_prefix(4);
    s = trim(s);
    if (s.empty()) return p;
    WINNOW_CHECK(s.front() == '(' && s.back() == ')', Errc::InvalidArgument,
                 "bm25 spec '{}': expected bm25(k1=...,b=...)", spec);
    s = s.substr(1, s.size() - 2);
    while (!trim(s).empty()) {
        const auto comma = s.find(',');
        std::string_view kv = trim(s.substr(0, comma));
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        const auto eq = kv.find('=');
        WINNOW_CHECK(eq != std::string_view::npos, Errc::InvalidArgument, "bm25 spec '{}': expected key=value", spec);
        const std::string_view key = trim(kv.substr(0, eq));
        const float value = parse_float(trim(kv.substr(eq + 1)), spec);
        if (key == "k1") {
            WINNOW_CHECK(value >= 0, Errc::InvalidArgument, "bm25 spec '{}': k1 must be >= 0", spec);
            p.k1 = value;
        } else if (key == "b") {
            WINNOW_CHECK(value >= 0 && value <= 1, Errc::InvalidArgument, "bm25 spec '{}': b must be in [0, 1]", spec);
            p.b = value;
        } else {
            WINNOW_THROW(Errc::InvalidArgument, "bm25 spec '{}': unknown parameter '{}' (expected k1, b)", spec, key);
        }
    }
    return p;
}

std::string bm25_spec(const Bm25Params& params) { return fmt::format("bm25(k1={},b={})", params.k1, params.b); }

Bm25Similarity::Bm25Similarity(Bm25Params params, std::uint64_t doc_count, std::uint64_t sum_total_term_freq)
    : params_(params), doc_count_(doc_count) {
    avgdl_ = doc_count == 0 ? 1.0f
                            : static_cast<float>(static_cast<double>(sum_total_term_freq) /
                                                 static_cast<double>(doc_count));
    for (int i = 0; i < 256; ++i) {
        const float dl = static_cast<float>(byte4_to_int(static_cast<std::uint8_t>(i)));
        cache_[i] = 1.0f / (params_.k1 * ((1 - params_.b) + params_.b * dl / avgdl_));
    }
}

float Bm25Similarity::idf(std::uint64_t doc_freq) const noexcept {
    const double n = static_cast<double>(doc_count_);
    const double df = static_cast<double>(doc_freq);
    return static_cast<float>(std::log(1.0 + (n - df + 0.5) / (df + 0.5)));
}

}  // namespace winnow::lexical
