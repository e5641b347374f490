// A compiled Oniguruma regex (UTF-8), shareable across threads: each search uses its own region.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace winnow::tok {

class Regex {
public:
    // Throws winnow::Error(Unsupported) naming `where` when the pattern does not compile.
    Regex(std::string_view pattern, std::string_view where);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // All non-overlapping matches [start, end) in byte offsets, with empty matches handled as
    // rust-onig's find_iter does (an empty match right after the previous one is skipped).
    void find_all(std::string_view text, std::vector<std::pair<std::uint32_t, std::uint32_t>>& out) const;
    const std::string& pattern() const noexcept { return pattern_; }

    // Escapes a literal string for use in a pattern.
    static std::string escape(std::string_view literal);

private:
    std::string pattern_;
    void* regex_ = nullptr;  // OnigRegex
};

}  // namespace winnow::tok
