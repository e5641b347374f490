#include "eval/text_util.h"

#include <zlib.h>

#include <fstream>
#include <sstream>

#include "winnow/error.h"

namespace winnow::eval {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::string read_text_file(const std::string& path) {
    if (ends_with(path, ".gz")) {
        gzFile file = gzopen(path.c_str(), "rb");
        WINNOW_CHECK(file != nullptr, Errc::NotFound, "{}: cannot open", path);
        std::string out;
        char buffer[1 << 16];
        int n = 0;
        while ((n = gzread(file, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<std::size_t>(n));
        int err = 0;
        const char* message = gzerror(file, &err);
        const bool failed = n < 0 || (err != Z_OK && err != Z_STREAM_END);
        const std::string what = failed ? std::string(message) : std::string();
        gzclose(file);
        WINNOW_CHECK(!failed, Errc::Corrupt, "{}: gzip read failed: {}", path, what);
        return out;
    }
    std::ifstream in(path, std::ios::binary);
    WINNOW_CHECK(in.good(), Errc::NotFound, "{}: cannot open", path);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    WINNOW_CHECK(!in.bad(), Errc::Io, "{}: read failed", path);
    return buffer.str();
}

std::vector<std::string_view> split_whitespace(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        const std::size_t start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

std::vector<std::string_view> split_char(std::string_view line, char sep) {
    std::vector<std::string_view> fields;
    std::size_t pos = 0;
    while (true) {
        const std::size_t end = line.find(sep, pos);
        if (end == std::string_view::npos) {
            fields.push_back(line.substr(pos));
            break;
        }
        fields.push_back(line.substr(pos, end - pos));
        pos = end + 1;
    }
    return fields;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

std::string collapse_whitespace(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool pending_space = false;
    for (char c : text) {
        if (is_space(c)) {
            pending_space = !out.empty();
        } else {
            if (pending_space) out.push_back(' ');
            pending_space = false;
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace winnow::eval
