#include "tokenizer/regex.h"

#include <oniguruma.h>

#include <mutex>

#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {

namespace {
std::once_flag g_onig_init;
}

Regex::Regex(std::string_view pattern, std::string_view where) : pattern_(pattern) {
    std::call_once(g_onig_init, [] {
        OnigEncoding encodings[1] = {ONIG_ENCODING_UTF8};
        onig_initialize(encodings, 1);
    });
    OnigRegex reg = nullptr;
    OnigErrorInfo einfo;
    const auto* begin = reinterpret_cast<const OnigUChar*>(pattern_.data());
    const int rc = onig_new(&reg, begin, begin + pattern_.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                            ONIG_SYNTAX_DEFAULT, &einfo);
    if (rc != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, rc, &einfo);
        WINNOW_THROW(Errc::Unsupported, "{}: regex /{}/ does not compile: {}", where, pattern_,
                     reinterpret_cast<const char*>(msg));
    }
    regex_ = reg;
}

Regex::~Regex() {
    if (regex_ != nullptr) onig_free(static_cast<OnigRegex>(regex_));
}

void Regex::find_all(std::string_view text, std::vector<std::pair<std::uint32_t, std::uint32_t>>& out) const {
    out.clear();
    auto* reg = static_cast<OnigRegex>(regex_);
    OnigRegion* region = onig_region_new();
    const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
    const auto* end = str + text.size();
    std::size_t last_end = 0;
    long last_match_end = -1;
    while (last_end <= text.size()) {
        onig_region_clear(region);
        const int r = onig_search(reg, str, end, str + last_end, end, region, ONIG_OPTION_NONE);
        if (r < 0) break;
        const auto s = static_cast<std::size_t>(region->beg[0]);
        const auto e = static_cast<std::size_t>(region->end[0]);
        if (s == e && static_cast<long>(e) == last_match_end) {
            // An empty match right after the previous match: step one character forward.
            if (last_end >= text.size()) break;
            last_end += utf8_seq_len(static_cast<unsigned char>(text[last_end]));
            continue;
        }
        last_end = e;
        last_match_end = static_cast<long>(e);
        out.emplace_back(static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(e));
        if (s == e && e >= text.size()) break;
    }
    onig_region_free(region, 1);
}

std::string Regex::escape(std::string_view literal) {
    std::string out;
    out.reserve(literal.size() * 2);
    for (char c : literal) {
        switch (c) {
        case '\\': case '.': case '+': case '*': case '?': case '(': case ')': case '|': case '[': case ']':
        case '{': case '}': case '^': case '$': case '#': case '&': case '-': case '~':
            out.push_back('\\');
            out.push_back(c);
            break;
        case ' ':
            out.push_back(' ');
            break;
        default:
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace winnow::tok
