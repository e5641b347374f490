// Unicode helpers for the tokenizer: UTF-8 decoding/encoding and the character classes that
// Hugging Face tokenizers (Rust) uses, answered from utf8proc's tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace winnow::tok {

// Decodes the code point at s[i] and stores its byte length in *len. Invalid bytes decode as
// U+FFFD with length 1 (inputs are validated at the API boundary, so this only guards).
inline char32_t decode_utf8(std::string_view s, std::size_t i, std::size_t* len) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        *len = 1;
        return b0;
    }
    const std::size_t n = s.size() - i;
    if ((b0 & 0xE0) == 0xC0 && n >= 2) {
        *len = 2;
        return (char32_t(b0 & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
    }
    if ((b0 & 0xF0) == 0xE0 && n >= 3) {
        *len = 3;
        return (char32_t(b0 & 0x0F) << 12) | (char32_t(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
               (static_cast<unsigned char>(s[i + 2]) & 0x3F);
    }
    if ((b0 & 0xF8) == 0xF0 && n >= 4) {
        *len = 4;
        return (char32_t(b0 & 0x07) << 18) | (char32_t(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 12) |
               (char32_t(static_cast<unsigned char>(s[i + 2]) & 0x3F) << 6) |
               (static_cast<unsigned char>(s[i + 3]) & 0x3F);
    }
    *len = 1;
    return 0xFFFD;
}

inline std::size_t utf8_len(char32_t c) noexcept { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

// Length of the UTF-8 sequence that starts with byte b (1 for a stray continuation byte).
inline std::size_t utf8_seq_len(unsigned char b) noexcept {
    return b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
}

// Appends c as UTF-8; returns the number of bytes written.
inline std::size_t append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        return 1;
    }
    char buf[4];
    std::size_t n;
    if (c < 0x800) {
        buf[0] = static_cast<char>(0xC0 | (c >> 6));
        buf[1] = static_cast<char>(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        buf[0] = static_cast<char>(0xE0 | (c >> 12));
        buf[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        buf[2] = static_cast<char>(0x80 | (c & 0x3F));
        n = 3;
    } else {
        buf[0] = static_cast<char>(0xF0 | (c >> 18));
        buf[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        buf[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        buf[3] = static_cast<char>(0x80 | (c & 0x3F));
        n = 4;
    }
    out.append(buf, n);
    return n;
}

// Writes c as UTF-8 into buf (4 bytes); returns the length.
inline std::size_t encode_utf8(char32_t c, char* buf) noexcept {
    if (c < 0x80) {
        buf[0] = static_cast<char>(c);
        return 1;
    }
    if (c < 0x800) {
        buf[0] = static_cast<char>(0xC0 | (c >> 6));
        buf[1] = static_cast<char>(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        buf[0] = static_cast<char>(0xE0 | (c >> 12));
        buf[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        buf[2] = static_cast<char>(0x80 | (c & 0x3F));
        return 3;
    }
    buf[0] = static_cast<char>(0xF0 | (c >> 18));
    buf[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    buf[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    buf[3] = static_cast<char>(0x80 | (c & 0x3F));
    return 4;
}

inline std::string to_utf8(char32_t c) {
    std::string s;
    append_utf8(s, c);
    return s;
}

// True when every byte is ASCII.
bool is_ascii(std::string_view s) noexcept;
// True when s is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;
// Replaces invalid sequences with U+FFFD (what Python/Rust strings would hold).
std::string sanitize_utf8(std::string_view s);

// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t c) noexcept;
// Rust char::is_alphabetic-free classes from the general category:
bool is_punctuation(char32_t c) noexcept;      // P* (Pc Pd Ps Pe Pi Pf Po)
bool is_bert_punctuation(char32_t c) noexcept; // ASCII punctuation or HF's P* (hf_unicode_tables.h)
bool is_other(char32_t c) noexcept;            // HF's Cc Cf Co (not Cn; hf_unicode_tables.h)
bool is_mark_nonspacing(char32_t c) noexcept;  // HF's Mn (hf_unicode_tables.h)
bool is_numeric(char32_t c) noexcept;          // Nd Nl No (Rust char::is_numeric)
bool is_word_char(char32_t c) noexcept;        // regex \w: letters, marks, Nd, Pc, join controls
bool is_chinese_char(char32_t c) noexcept;
// 1 for \p{L} (Lu Ll Lt Lm Lo), 2 for \p{N} (Nd Nl No), else 0.
int letter_or_number(char32_t c) noexcept;     // the CJK blocks BERT isolates

// Rust char::to_lowercase: the simple lowercase mapping, except U+0130 -> "i\u0307".
// Writes up to 3 code points into out and returns how many.
std::size_t to_lowercase(char32_t c, char32_t out[3]) noexcept;

// Canonical combining class.
int combining_class(char32_t c) noexcept;
// Full canonical (compat=false) or compatibility decomposition of one code point into out
// (capacity 32); returns the count.
std::size_t decompose(char32_t c, bool compat, char32_t* out, std::size_t cap) noexcept;
// Canonical composition of a pair, or 0 when they do not compose.
char32_t compose_pair(char32_t a, char32_t b) noexcept;

}  // namespace winnow::tok
