#include "tokenizer/unicode.h"

#include "tokenizer/hf_unicode_tables.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <iterator>

namespace winnow::tok {

bool is_ascii(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        __builtin_memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ULL) return false;
    }
    for (; i < n; ++i) {
        if (p[i] & 0x80) return false;
    }
    return true;
}

namespace {

// Length of a valid UTF-8 sequence at s[i], or 0 when invalid.
std::size_t valid_seq(std::string_view s, std::size_t i) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    const unsigned char b0 = p[i];
    if (b0 < 0x80) return 1;
    auto cont = [&](std::size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        const unsigned char b1 = p[i + 1];
        if (b0 == 0xE0 && b1 < 0xA0) return 0;
        if (b0 == 0xED && b1 >= 0xA0) return 0;
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        const unsigned char b1 = p[i + 1];
        if (b0 == 0xF0 && b1 < 0x90) return 0;
        if (b0 == 0xF4 && b1 >= 0x90) return 0;
        return 4;
    }
    return 0;
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = valid_seq(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t n = valid_seq(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

bool is_whitespace(char32_t c) noexcept {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

namespace {
inline utf8proc_category_t category(char32_t c) noexcept {
    return static_cast<utf8proc_category_t>(utf8proc_category(static_cast<utf8proc_int32_t>(c)));
}
}  // namespace

bool is_punctuation(char32_t c) noexcept {
    const auto cat = category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

namespace {
template <std::size_t N>
bool in_ranges(const hf::Range (&ranges)[N], char32_t c) noexcept {
    const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), c,
                                      [](char32_t v, const hf::Range& r) { return v < r.first; });
    return it != std::begin(ranges) && c <= (it - 1)->last;
}
}  // namespace

// The three classes below follow Hugging Face's tables (hf_unicode_tables.h, measured from the npm
// binding), not utf8proc's: HF takes them from the unicode_categories crate, whose data predate
// Unicode 9, so marks, format characters and punctuation added or recategorized since differ (a
// random-Unicode differential test found 82 of 32,000 texts tokenized differently).
bool is_bert_punctuation(char32_t c) noexcept {
    if (c < 0x80) {
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    }
    return in_ranges(hf::kPunctuation, c);
}

// HF's BertNormalizer tests Cc, Cf and Co (its crate's is_other): unassigned code points (Cn) are
// kept, and the word they are in becomes [UNK].
bool is_other(char32_t c) noexcept { return in_ranges(hf::kOther, c); }

bool is_mark_nonspacing(char32_t c) noexcept { return in_ranges(hf::kMarkNonspacing, c); }

bool is_numeric(char32_t c) noexcept {
    if (c < 0x80) return c >= '0' && c <= '9';
    const auto cat = category(c);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool is_word_char(char32_t c) noexcept {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (c == 0x200C || c == 0x200D) return true;
    const auto cat = category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME) || cat == UTF8PROC_CATEGORY_ND ||
           cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_PC;
}

bool is_chinese_char(char32_t c) noexcept {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int letter_or_number(char32_t c) noexcept {
    const auto cat = category(c);
    if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) return 1;
    if (cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO) return 2;
    return 0;
}

std::size_t to_lowercase(char32_t c, char32_t out[3]) noexcept {
    if (c < 0x80) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    if (c == 0x130) {  // SpecialCasing: LATIN CAPITAL LETTER I WITH DOT ABOVE
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    return 1;
}

int combining_class(char32_t c) noexcept {
    if (c < 0x300) return 0;
    return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
}

std::size_t decompose(char32_t c, bool compat, char32_t* out, std::size_t cap) noexcept {
    if (c < 0xC0) {
        if (!compat || c < 0xA0) {
            out[0] = c;
            return 1;
        }
    }
    int last_boundclass = 0;
    const auto options = static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0));
    const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c),
                                                       reinterpret_cast<utf8proc_int32_t*>(out),
                                                       static_cast<utf8proc_ssize_t>(cap), options, &last_boundclass);
    if (n <= 0 || static_cast<std::size_t>(n) > cap) {
        out[0] = c;
        return 1;
    }
    return static_cast<std::size_t>(n);
}

char32_t compose_pair(char32_t a, char32_t b) noexcept {
    std::array<utf8proc_int32_t, 2> buf{static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
    // UTF8PROC_STABLE makes utf8proc honour the composition exclusions (without it U+2ADD U+0338
    // recomposed to U+2ADC, which NFC keeps decomposed; found by the random-Unicode differential test).
    const utf8proc_ssize_t n = utf8proc_normalize_utf32(buf.data(), 2, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
    if (n == 1) return static_cast<char32_t>(buf[0]);
    return 0;
}

}  // namespace winnow::tok
