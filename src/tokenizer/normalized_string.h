// NormalizedString: text being normalized plus, for each byte, the byte range of the original
// input it came from (absolute offsets into the whole input), as HF's NormalizedString keeps.
// PreTokenized: the splits of one input after added-token extraction, normalization and
// pre-tokenization, stored in one arena (no allocation per split).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/unicode.h"

namespace winnow::tok {

class Regex;

// The size a NormalizedString may reach while this thread normalizes the current text
// (TokenizerLimits::max_normalized_growth times its bytes, plus 4 KiB); set per text by the
// encoder (NormalizedLimitScope); max_bytes 0: no limit.
struct NormalizedLimit {
    std::size_t max_bytes = 0;
    std::size_t input_bytes = 0;
    std::size_t growth = 0;
};
inline thread_local NormalizedLimit t_normalized_limit{};
[[noreturn]] void throw_normalized_too_large(std::size_t size);
inline void check_normalized_size(std::size_t size) {
    if (t_normalized_limit.max_bytes != 0 && size > t_normalized_limit.max_bytes) [[unlikely]] {
        throw_normalized_too_large(size);
    }
}
class NormalizedLimitScope {
public:
    NormalizedLimitScope(std::size_t input_bytes, std::size_t growth) : saved_(t_normalized_limit) {
        t_normalized_limit = {growth * input_bytes + 4096, input_bytes, growth};
    }
    ~NormalizedLimitScope() { t_normalized_limit = saved_; }
    NormalizedLimitScope(const NormalizedLimitScope&) = delete;
    NormalizedLimitScope& operator=(const NormalizedLimitScope&) = delete;

private:
    NormalizedLimit saved_;
};

// TokenizerLimits::scratch_keep_bytes: per-thread scratch larger than this is freed after a text.
std::size_t scratch_keep_bytes() noexcept;
template <typename V>
void trim_scratch(V& v) {
    if (v.capacity() * sizeof(typename V::value_type) > scratch_keep_bytes()) V().swap(v);
}

struct Align {
    std::uint32_t start = 0;
    std::uint32_t end = 0;
};

// One piece of a pattern search: [start, end) and whether it matched.
struct Match {
    std::uint32_t start;
    std::uint32_t end;
    bool is_match;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Pattern searches returning pieces that cover the whole text (HF Pattern::find_matches).
template <typename Pred>
void find_matches_pred(std::string_view text, Pred&& pred, std::vector<Match>& out) {
    out.clear();
    if (text.empty()) {
        out.push_back({0, 0, false});
        return;
    }
    std::uint32_t last = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t len;
        const char32_t c = decode_utf8(text, i, &len);
        if (pred(c)) {
            if (last < i) out.push_back({last, static_cast<std::uint32_t>(i), false});
            out.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + len), true});
            last = static_cast<std::uint32_t>(i + len);
        }
        i += len;
    }
    if (last < text.size()) out.push_back({last, static_cast<std::uint32_t>(text.size()), false});
}
void find_matches_regex(std::string_view text, const Regex& re, std::vector<Match>& out);
// Turns matches into the kept ranges for a split behavior (HF NormalizedString::split).
void apply_behavior(const std::vector<Match>& matches, SplitBehavior behavior,
                    std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges);

class NormalizedString {
public:
    std::string text;
    std::vector<Align> align;  // one per byte of text
    std::uint32_t orig_start = 0;
    std::uint32_t orig_end = 0;

    // Starts from original text that begins at absolute byte `offset` of the input.
    void reset(std::string_view original, std::uint32_t offset);
    void assign(std::string_view text_bytes, const Align* aligns, std::uint32_t ostart, std::uint32_t oend);
    bool empty() const noexcept { return text.empty(); }

    // Rewrites the string char by char: fn(c, emit) calls emit(c2) zero or more times; every
    // emitted char aligns with the char it came from (HF transform with changes 0 / +1 / -n).
    template <typename Fn>
    void map_chars(Fn&& fn) {
        scratch_text_.clear();
        scratch_align_.clear();
        std::size_t i = 0;
        while (i < text.size()) {
            std::size_t len;
            const char32_t c = decode_utf8(text, i, &len);
            const Align a = align[i];
            fn(c, [&](char32_t out) {
                const std::size_t n = append_utf8(scratch_text_, out);
                check_normalized_size(scratch_text_.size());
                scratch_align_.insert(scratch_align_.end(), n, a);
            });
            i += len;
        }
        text.swap(scratch_text_);
        align.swap(scratch_align_);
    }

    // Replaces every matched piece by `content`, aligned with the last char of the match (HF replace).
    void replace(const std::vector<Match>& matches, std::string_view content);
    void prepend(std::string_view s);
    void append(std::string_view s);
    void strip(bool left, bool right);
    void lowercase();
    // Unicode normalization forms with alignments (decompositions align with their source char,
    // compositions with their first char).
    void normalize_form(bool compose, bool compat);

    // Original [start, end) of normalized byte range [a, b) (HF convert_offsets + original shift).
    std::pair<std::uint32_t, std::uint32_t> original_range(std::uint32_t a, std::uint32_t b) const;

    // Frees buffers over TokenizerLimits::scratch_keep_bytes (for per-thread instances).
    void trim() {
        trim_scratch(text);
        trim_scratch(align);
        trim_scratch(scratch_text_);
        trim_scratch(scratch_align_);
        trim_scratch(cps_);
        trim_scratch(cp_align_);
    }

private:
    Align insert_align(std::size_t byte_idx) const {
        return byte_idx < 1 ? Align{orig_start, orig_start} : align[byte_idx - 1];
    }
    std::string scratch_text_;
    std::vector<Align> scratch_align_;
    std::vector<char32_t> cps_;
    std::vector<Align> cp_align_;
};

// A model output token: [start, end) are byte offsets in its split's normalized text.
struct Token {
    std::int32_t id;
    std::uint32_t start;
    std::uint32_t end;
    bool raw_value = false;  // the token string is the text slice, not the vocab entry
};

struct Split {
    std::uint32_t begin;
    std::uint32_t end;
    std::uint32_t orig_start;
    std::uint32_t orig_end;
    std::int32_t tok_begin = -1;  // tokens [tok_begin, tok_end) once tokenized (added tokens at once)
    std::int32_t tok_end = -1;
    bool tokenized() const noexcept { return tok_begin >= 0; }
};

class PreTokenized {
public:
    std::string text;
    std::vector<Align> align;
    std::vector<Split> splits;
    std::vector<Token> tokens;

    void clear() {
        text.clear();
        align.clear();
        splits.clear();
        tokens.clear();
    }
    std::string_view split_text(const Split& s) const { return std::string_view(text).substr(s.begin, s.end - s.begin); }
    // Appends a normalized piece as one split (dropped when empty). Returns its index or -1.
    int add(const NormalizedString& ns);
    int add(std::string_view t, const Align* a, std::uint32_t ostart, std::uint32_t oend);

    // Splits every untokenized split into sub-ranges: fn(text, ranges) fills ranges (byte ranges
    // of text). Empty ranges are dropped. The arena is unchanged.
    template <typename Fn>
    void split(Fn&& fn) {
        scratch_splits_.clear();
        for (const Split& s : splits) {
            if (s.tokenized()) {
                scratch_splits_.push_back(s);
                continue;
            }
            ranges_.clear();
            fn(split_text(s), ranges_);
            for (const auto& [a, b] : ranges_) {
                if (a >= b) continue;
                const std::uint32_t ga = s.begin + a;
                const std::uint32_t gb = s.begin + b;
                scratch_splits_.push_back(Split{ga, gb, align[ga].start, align[gb - 1].end});
            }
        }
        splits.swap(scratch_splits_);
    }

    // Rewrites every untokenized split: fn(ns, ranges) may change ns and fills ranges (byte
    // ranges of the new ns.text, empty = drop). Tokenized splits are carried over unchanged.
    template <typename Fn>
    void transform(Fn&& fn) {
        scratch_text_.clear();
        scratch_align_.clear();
        scratch_splits_.clear();
        for (const Split& s : splits) {
            if (s.tokenized()) {
                Split copy = s;
                copy.begin = static_cast<std::uint32_t>(scratch_text_.size());
                scratch_text_.append(text, s.begin, s.end - s.begin);
                scratch_align_.insert(scratch_align_.end(), align.begin() + s.begin, align.begin() + s.end);
                copy.end = static_cast<std::uint32_t>(scratch_text_.size());
                scratch_splits_.push_back(copy);
                continue;
            }
            ns_.assign(split_text(s), align.data() + s.begin, s.orig_start, s.orig_end);
            ranges_.clear();
            fn(ns_, ranges_);
            const auto base = static_cast<std::uint32_t>(scratch_text_.size());
            scratch_text_ += ns_.text;
            scratch_align_.insert(scratch_align_.end(), ns_.align.begin(), ns_.align.end());
            for (const auto& [a, b] : ranges_) {
                if (a >= b) continue;
                scratch_splits_.push_back(
                    Split{base + a, base + b, ns_.align[a].start, ns_.align[b - 1].end});
            }
        }
        text.swap(scratch_text_);
        align.swap(scratch_align_);
        splits.swap(scratch_splits_);
    }

    // Frees buffers over TokenizerLimits::scratch_keep_bytes (for per-thread instances).
    void trim() {
        trim_scratch(text);
        trim_scratch(align);
        trim_scratch(splits);
        trim_scratch(tokens);
        trim_scratch(scratch_text_);
        trim_scratch(scratch_align_);
        trim_scratch(scratch_splits_);
        trim_scratch(ranges_);
        ns_.trim();
    }

    // Original byte range of a token (HF into_encoding offsets).
    std::pair<std::uint32_t, std::uint32_t> token_original(const Split& s, const Token& t) const {
        if (t.start < t.end) return {align[s.begin + t.start].start, align[s.begin + t.end - 1].end};
        return {s.orig_start + t.start, s.orig_start + t.end};
    }

private:
    std::string scratch_text_;
    std::vector<Align> scratch_align_;
    std::vector<Split> scratch_splits_;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges_;
    NormalizedString ns_;
};

}  // namespace winnow::tok
