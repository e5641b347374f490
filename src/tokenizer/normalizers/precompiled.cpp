// Precompiled normalizer: the SentencePiece charsmap that XLM-R / T5 / bge-m3 ship. We parse the
// blob ourselves (no library reads it): a little-endian u32 trie size in bytes, a darts-clone
// double-array trie over the source strings, then the NUL-separated replacement strings.
#include <utf8proc.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/normalizers/normalizer.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {
namespace {

std::string base64_decode(std::string_view in, const std::string& where) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    std::string out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=' || c == '\n' || c == '\r') continue;
        const int v = val(c);
        WINNOW_CHECK(v >= 0, Errc::Corrupt, "{}: 'precompiled_charsmap' is not valid base64", where);
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

class Precompiled final : public Normalizer {
public:
    Precompiled(std::string_view b64, const std::string& where) {
        const std::string blob = base64_decode(b64, where);
        WINNOW_CHECK(blob.size() >= 4, Errc::Corrupt, "{}: 'precompiled_charsmap' is too short", where);
        std::uint32_t trie_size;
        std::memcpy(&trie_size, blob.data(), 4);
        WINNOW_CHECK(trie_size % 4 == 0 && trie_size <= blob.size() - 4 && trie_size >= 4, Errc::Corrupt,
                     "{}: 'precompiled_charsmap' has a bad trie size {}", where, trie_size);
        units_.resize(trie_size / 4);
        std::memcpy(units_.data(), blob.data() + 4, trie_size);
        normalized_ = blob.substr(4 + trie_size);
    }

    void normalize(NormalizedString& s) const override {
        if (s.text.empty()) return;
        thread_local std::string out_;
        thread_local std::vector<Align> out_align_;
        out_.clear();
        out_align_.clear();
        bool modified = false;
        const std::string& t = s.text;
        std::size_t g = 0;
        while (g < t.size()) {
            check_normalized_size(out_.size());
            // One extended grapheme cluster [g, ge).
            std::size_t len;
            char32_t prev = decode_utf8(t, g, &len);
            std::size_t ge = g + len;
            utf8proc_int32_t state = 0;
            while (ge < t.size()) {
                std::size_t l2;
                const char32_t c = decode_utf8(t, ge, &l2);
                if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev),
                                                     static_cast<utf8proc_int32_t>(c), &state)) {
                    break;
                }
                prev = c;
                ge += l2;
            }
            const std::string_view grapheme(t.data() + g, ge - g);
            std::string_view norm;
            if (grapheme.size() < 6 && lookup(grapheme, &norm)) {
                modified = true;
                emit_replacement(s, g, ge, norm, out_, out_align_);
            } else {
                std::size_t i = g;
                while (i < ge) {
                    std::size_t cl;
                    decode_utf8(t, i, &cl);
                    const std::string_view part(t.data() + i, cl);
                    if (lookup(part, &norm)) {
                        modified = true;
                        emit_replacement(s, i, i + cl, norm, out_, out_align_);
                    } else {
                        out_.append(part);
                        out_align_.insert(out_align_.end(), s.align.begin() + static_cast<std::ptrdiff_t>(i),
                                          s.align.begin() + static_cast<std::ptrdiff_t>(i + cl));
                    }
                    i += cl;
                }
            }
            g = ge;
        }
        check_normalized_size(out_.size());
        if (modified) {
            s.text.swap(out_);
            s.align.swap(out_align_);
        }
        trim_scratch(out_);
        trim_scratch(out_align_);
    }

private:
    // HF replace(): new chars take the alignments of the old chars in order; extra new chars align
    // with the last old char consumed; when shorter, the remaining old chars are dropped.
    static void emit_replacement(const NormalizedString& s, std::size_t b, std::size_t e, std::string_view norm,
                                 std::string& out_, std::vector<Align>& out_align_) {
        std::vector<Align> old;
        std::size_t i = b;
        while (i < e) {
            std::size_t l;
            decode_utf8(s.text, i, &l);
            old.push_back(s.align[i]);
            i += l;
        }
        std::size_t k = 0;
        std::size_t j = 0;
        while (j < norm.size()) {
            std::size_t l;
            const char32_t c = decode_utf8(norm, j, &l);
            const Align a = old.empty() ? Align{s.orig_start, s.orig_start} : old[std::min(k, old.size() - 1)];
            const std::size_t n = append_utf8(out_, c);
            out_align_.insert(out_align_.end(), n, a);
            ++k;
            j += l;
        }
    }

    bool lookup(std::string_view key, std::string_view* norm) const {
        if (units_.empty()) return false;
        std::size_t node = 0;
        std::uint32_t unit = units_[0];
        node ^= offset(unit);
        for (char ch : key) {
            const auto c = static_cast<unsigned char>(ch);
            if (c == 0) break;
            node ^= c;
            if (node >= units_.size()) return false;
            unit = units_[node];
            if (label(unit) != c) return false;
            node ^= offset(unit);
            if (has_leaf(unit)) {
                if (node >= units_.size()) return false;
                const std::size_t index = value(units_[node]);
                if (index >= normalized_.size()) return false;
                const std::size_t stop = normalized_.find('\0', index);
                *norm = std::string_view(normalized_).substr(index, stop == std::string::npos ? std::string::npos
                                                                                             : stop - index);
                return true;  // the first (shortest) prefix, as spm_precompiled takes results[0]
            }
        }
        return false;
    }

    static bool has_leaf(std::uint32_t u) { return ((u >> 8) & 1) == 1; }
    static std::size_t value(std::uint32_t u) { return u & ((1u << 31) - 1); }
    static std::uint32_t label(std::uint32_t u) { return u & ((1u << 31) | 0xFF); }
    static std::size_t offset(std::uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

    std::vector<std::uint32_t> units_;
    std::string normalized_;
};

}  // namespace

std::unique_ptr<Normalizer> make_precompiled(std::string_view base64_charsmap, const std::string& where) {
    return std::make_unique<Precompiled>(base64_charsmap, where);
}

}  // namespace winnow::tok
