// Shared I/O helpers for CLI subcommands: JSONL in, JSON lines out.
#pragma once

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>

#include "core/json.h"
#include "winnow/error.h"

namespace winnow::cli {

// Longest JSONL input line the CLI reads (a query and a document of the tokenizer's 16 MiB limit
// each, escaped): beyond it the command stops with Error(TooLarge) before holding the line.
inline constexpr std::size_t kMaxJsonlLineBytes = std::size_t{64} << 20;

// One line of `in` without its '\n'; false at end of input. Throws Error(TooLarge) naming the line
// when it is longer than max_bytes.
inline bool read_line_bounded(std::istream& in, std::string& line, std::size_t line_no, std::size_t max_bytes) {
    line.clear();
    std::streambuf* sb = in.rdbuf();
    bool any = false;
    for (;;) {
        const int c = sb->sbumpc();
        if (c == std::char_traits<char>::eof()) {
            in.setstate(std::ios::eofbit);
            return any;
        }
        any = true;
        if (c == '\n') return true;
        WINNOW_CHECK(line.size() < max_bytes, Errc::TooLarge,
                     "stdin line {}: longer than the limit of {} bytes per input line", line_no, max_bytes);
        line.push_back(static_cast<char>(c));
    }
}

// Calls fn(json, line_number) for each non-empty line of `in`; a line that is not JSON throws
// Error(InvalidArgument) naming the line number, a line over kMaxJsonlLineBytes Error(TooLarge).
inline void for_each_jsonl(std::istream& in, const std::function<void(const Json&, std::size_t)>& fn,
                           std::size_t max_line_bytes = kMaxJsonlLineBytes) {
    std::string line;
    std::size_t line_no = 0;
    while (read_line_bounded(in, line, line_no + 1, max_line_bytes)) {
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
