// JSON helpers over nlohmann::json that throw winnow::Error naming the file and field at fault.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <string>
#include <string_view>

#include "winnow/error.h"

namespace winnow {

using Json = nlohmann::json;

// Parses text; `where` names the source (a path, "request body") in the error.
Json parse_json(std::string_view text, std::string_view where);
// Reads and parses a JSON file.
Json load_json_file(const std::string& path);

// The value of field `key` as T. Integers are range-checked instead of narrowed (nlohmann casts
// 2^33 to int32 0 and 4294967301 to uint32 5 without a word); a fractional number for an integer
// field is an error, an integral one (512.0) is accepted.
template <typename T>
T json_value_as(const Json& v, std::string_view key, std::string_view where, Errc code = Errc::Corrupt) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        using Limits = std::numeric_limits<T>;
        if (v.is_number_unsigned()) {
            const auto u = v.get<std::uint64_t>();
            if (u <= static_cast<std::uint64_t>(Limits::max())) return static_cast<T>(u);
        } else if (v.is_number_integer()) {
            const auto i = v.get<std::int64_t>();
            if (i >= static_cast<std::int64_t>(Limits::min()) &&
                (i < 0 || static_cast<std::uint64_t>(i) <= static_cast<std::uint64_t>(Limits::max()))) {
                return static_cast<T>(i);
            }
        } else if (v.is_number_float()) {
            const double d = v.get<double>();
            WINNOW_CHECK(std::isfinite(d) && d == std::floor(d), code, "{}: field '{}' must be an integer, got {}", where,
                         key, v.dump());
            // 2^digits is exact in a double; max() itself may not be.
            if (d >= static_cast<double>(Limits::min()) && d < std::ldexp(1.0, Limits::digits)) return static_cast<T>(d);
        } else {
            WINNOW_THROW(code, "{}: field '{}' has the wrong type ({})", where, key, v.type_name());
        }
        WINNOW_THROW(code, "{}: field '{}' = {} is out of range [{}, {}]", where, key, v.dump(), Limits::min(),
                     Limits::max());
    } else {
        try {
            return v.template get<T>();
        } catch (const nlohmann::json::exception&) {
            WINNOW_THROW(code, "{}: field '{}' has the wrong type ({})", where, key, v.type_name());
        }
    }
}

// Required field of a given type: Error(Corrupt or InvalidArgument) naming `where` and the key.
template <typename T>
T json_get(const Json& obj, std::string_view key, std::string_view where, Errc code = Errc::Corrupt) {
    WINNOW_CHECK(obj.is_object(), code, "{}: expected a JSON object", where);
    auto it = obj.find(key);
    WINNOW_CHECK(it != obj.end(), code, "{}: missing field '{}'", where, key);
    return json_value_as<T>(*it, key, where, code);
}

// Optional field: the default when absent or null.
template <typename T>
T json_get_or(const Json& obj, std::string_view key, T fallback, std::string_view where, Errc code = Errc::Corrupt) {
    if (!obj.is_object()) return fallback;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    return json_value_as<T>(*it, key, where, code);
}

}  // namespace winnow
