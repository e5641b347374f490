// Shared I/O helpers for CLI subcommands: JSONL in, JSON lines out.
#pragma once

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>

#include <fmt/format.h>

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
        // nlohmann's parser stops at a NUL byte and ignores the rest of the line.
        if (const auto nul = line.find('\0'); nul != std::string::npos) {
            WINNOW_THROW(Errc::InvalidArgument, "stdin line {}: NUL byte at column {}", line_no, nul + 1);
        }
        Json value;
        try {
            value = Json::parse(line);
        } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
            WINNOW_THROW(Errc::InvalidArgument, "stdin line {}: invalid JSON: {}", line_no, e.what());
        }
        fn(value, line_no);
    }
}

// `text` with every byte that is not printable ASCII, a tab or part of valid UTF-8 written as \xNN,
// so that error messages quoting input (nlohmann's parse errors quote the bytes read) never put raw
// invalid bytes or control characters on the terminal.
inline std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t len = 0;
        if (c >= 0x20 && c < 0x7F) len = 1;
        else if (c == '\t' || c == '\n') len = 1;
        else if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) len = 3;
        else if (c >= 0xF0 && c <= 0xF4) len = 4;
        bool ok = len > 0 && i + len <= text.size();
        for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
        if (ok && len == 3) {
            const auto c1 = static_cast<unsigned char>(text[i + 1]);
            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
        } else if (ok && len == 4) {
            const auto c1 = static_cast<unsigned char>(text[i + 1]);
            ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);  // overlong, over U+10FFFF
        }
        if (ok) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            out += fmt::format("\\x{:02X}", c);
            ++i;
        }
    }
    return out;
}

inline void write_json_line(const Json& value) {
    const std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

}  // namespace winnow::cli
