#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace winnow::tok {

void AddedMatcher::build(const std::vector<const AddedToken*>& tokens, const std::vector<std::string>& patterns) {
    tokens_.clear();
    patterns_.clear();
    for (auto& v : by_first_byte_) v.clear();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (patterns[i].empty()) continue;
        tokens_.push_back(tokens[i]);
        patterns_.push_back(patterns[i]);
        by_first_byte_[static_cast<unsigned char>(patterns[i][0])].push_back(static_cast<std::uint32_t>(patterns_.size() - 1));
    }
    for (auto& v : by_first_byte_) {
        std::stable_sort(v.begin(), v.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return patterns_[a].size() > patterns_[b].size(); });
    }
}

namespace {

// Last char of s is a regex \w char.
bool ends_with_word(std::string_view s) {
    if (s.empty()) return false;
    std::size_t p = s.size() - 1;
    while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
    std::size_t len;
    return is_word_char(decode_utf8(s, p, &len));
}

bool starts_with_word(std::string_view s) {
    if (s.empty()) return false;
    std::size_t len;
    return is_word_char(decode_utf8(s, 0, &len));
}

// Start of the whitespace run that ends s.
std::size_t space_leftmost_at_end(std::string_view s) {
    std::size_t e = s.size();
    while (e > 0) {
        std::size_t p = e - 1;
        while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
        std::size_t len;
        if (!is_whitespace(decode_utf8(s, p, &len))) break;
        e = p;
    }
    return e;
}

// Length of the whitespace run that starts s.
std::size_t space_rightmost_at_start(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t len;
        if (!is_whitespace(decode_utf8(s, i, &len))) break;
        i += len;
    }
    return i;
}

}  // namespace

void AddedMatcher::split(std::string_view sentence, std::vector<AddedSplit>& out) const {
    out.clear();
    if (sentence.empty()) return;
    if (patterns_.empty()) {
        out.push_back({0, static_cast<std::uint32_t>(sentence.size()), -1});
        return;
    }
    std::size_t start_offset = 0;
    std::size_t pos = 0;
    const std::size_t n = sentence.size();
    while (pos < n) {
        // Leftmost-longest: first position where some pattern matches, then the longest there.
        std::size_t mstart = n;
        std::int32_t best = -1;
        for (std::size_t i = pos; i < n; ++i) {
            const auto& cands = by_first_byte_[static_cast<unsigned char>(sentence[i])];
            if (cands.empty()) continue;
            for (std::uint32_t c : cands) {
                const std::string& p = patterns_[c];
                if (p.size() <= n - i && sentence.compare(i, p.size(), p) == 0) {
                    best = static_cast<std::int32_t>(c);
                    break;
                }
            }
            if (best >= 0) {
                mstart = i;
                break;
            }
        }
        if (best < 0) break;
        std::size_t start = mstart;
        std::size_t stop = mstart + patterns_[static_cast<std::size_t>(best)].size();
        pos = stop;
        const AddedToken& tok = *tokens_[static_cast<std::size_t>(best)];
        if (tok.single_word) {
            const bool start_space = start == 0 || !ends_with_word(sentence.substr(0, start));
            const bool stop_space = stop == n || !starts_with_word(sentence.substr(stop));
            if (!start_space || !stop_space) continue;
        }
        if (tok.lstrip) {
            const std::size_t newstart = space_leftmost_at_end(sentence.substr(0, start));
            start = std::max(newstart, start_offset);
        }
        if (tok.rstrip) stop += space_rightmost_at_start(sentence.substr(stop));
        if (start_offset < start) {
            out.push_back({static_cast<std::uint32_t>(start_offset), static_cast<std::uint32_t>(start), -1});
        }
        out.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(stop), best});
        start_offset = stop;
    }
    if (start_offset != n) out.push_back({static_cast<std::uint32_t>(start_offset), static_cast<std::uint32_t>(n), -1});
}

}  // namespace winnow::tok
