// Shared I/O helpers for CLI subcommands: JSONL in, JSON lines out.
#pragma once

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>

#include "core/json.h"

namespace winnow::cli {

// Calls fn(json, line_number) for each non-empty line of `in`; a line that is not JSON throws
// Error(InvalidArgument) naming the line number.
inline void for_each_jsonl(std::istream& in, const std::function<void(const Json&, std::size_t)>& fn) {
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        Json value;
        try {
            value = Json::parse(line);
        } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
            WINNOW_THROW(Errc::InvalidArgument, "stdin line {}: invalid JSON: {}", line_no, e.what());
        }
        fn(value, line_no);
    }
}

inline void write_json_line(const Json& value) {
    const std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

}  // namespace winnow::cli
