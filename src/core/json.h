// JSON helpers over nlohmann::json that throw winnow::Error naming the file and field at fault.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "winnow/error.h"

namespace winnow {

using Json = nlohmann::json;

// Parses text; `where` names the source (a path, "request body") in the error.
Json parse_json(std::string_view text, std::string_view where);
// Reads and parses a JSON file.
Json load_json_file(const std::string& path);

// Required field of a given type: Error(Corrupt or InvalidArgument) naming `where` and the key.
template <typename T>
T json_get(const Json& obj, std::string_view key, std::string_view where, Errc code = Errc::Corrupt) {
    WINNOW_CHECK(obj.is_object(), code, "{}: expected a JSON object", where);
    auto it = obj.find(key);
    WINNOW_CHECK(it != obj.end(), code, "{}: missing field '{}'", where, key);
    try {
        return it->template get<T>();
    } catch (const nlohmann::json::exception& e) {
        WINNOW_THROW(code, "{}: field '{}' has the wrong type ({})", where, key, it->type_name());
    }
}

// Optional field: the default when absent or null.
template <typename T>
T json_get_or(const Json& obj, std::string_view key, T fallback, std::string_view where, Errc code = Errc::Corrupt) {
    if (!obj.is_object()) return fallback;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    try {
        return it->template get<T>();
    } catch (const nlohmann::json::exception& e) {
        WINNOW_THROW(code, "{}: field '{}' has the wrong type ({})", where, key, it->type_name());
    }
}

}  // namespace winnow
