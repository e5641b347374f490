// Small text helpers shared by the eval readers (lines, whitespace fields, whole-file reads).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace winnow::eval {

// Reads a whole file (gzip-compressed when the name ends in .gz); Error(NotFound/Io) naming it.
std::string read_text_file(const std::string& path);

// Calls fn(line) for each line, without the trailing "\n" or "\r\n".
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        fn(line);
        pos = end + 1;
    }
}

std::vector<std::string_view> split_whitespace(std::string_view line);

// Calls fn(fields, line_no) for each line that has at least one whitespace-separated field;
// line_no counts from 1 and includes the skipped blank lines, for error messages.
template <typename Fn>
void for_each_fields(std::string_view text, Fn&& fn) {
    std::size_t line_no = 0;
    for_each_line(text, [&](std::string_view line) {
        ++line_no;
        const auto fields = split_whitespace(line);
        if (!fields.empty()) fn(fields, line_no);
    });
}
std::vector<std::string_view> split_char(std::string_view line, char sep);
std::string_view trim(std::string_view text);
// Collapses runs of whitespace (including newlines) to one space and trims.
std::string collapse_whitespace(std::string_view text);

}  // namespace winnow::eval
