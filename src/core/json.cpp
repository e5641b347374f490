#include "core/json.h"

#include "core/mmap_file.h"

namespace winnow {

Json parse_json(std::string_view text, std::string_view where) {
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error& e) {
        WINNOW_THROW(Errc::Corrupt, "{}: invalid JSON at byte {}: {}", where, e.byte, e.what());
    } catch (const nlohmann::json::exception& e) {
        // e.g. out_of_range for a number like 1e400: still the input's fault, not a bug.
        WINNOW_THROW(Errc::Corrupt, "{}: invalid JSON: {}", where, e.what());
    }
}

Json load_json_file(const std::string& path) { return parse_json(read_file(path), path); }

}  // namespace winnow
