#include "tokenizer/normalized_string.h"

#include <algorithm>

#include "tokenizer/regex.h"

namespace winnow::tok {

void find_matches_regex(std::string_view text, const Regex& re, std::vector<Match>& out) {
    out.clear();
    if (text.empty()) {
        out.push_back({0, 0, false});
        return;
    }
    thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> found;
    re.find_all(text, found);
    std::uint32_t prev = 0;
    for (const auto& [s, e] : found) {
        if (prev != s) out.push_back({prev, s, false});
        out.push_back({s, e, true});
        prev = e;
    }
    if (prev != text.size()) out.push_back({prev, static_cast<std::uint32_t>(text.size()), false});
    trim_scratch(found);
}

void apply_behavior(const std::vector<Match>& matches, SplitBehavior behavior,
                    std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges) {
    switch (behavior) {
    case SplitBehavior::Isolated:
        for (const Match& m : matches) ranges.emplace_back(m.start, m.end);
        break;
    case SplitBehavior::Removed:
        for (const Match& m : matches) {
            if (!m.is_match) ranges.emplace_back(m.start, m.end);
        }
        break;
    case SplitBehavior::Contiguous: {
        const std::size_t base = ranges.size();
        bool previous = false;
        for (const Match& m : matches) {
            if (m.is_match == previous && ranges.size() > base) {
                ranges.back().second = m.end;
            } else {
                ranges.emplace_back(m.start, m.end);
            }
            previous = m.is_match;
        }
        break;
    }
    case SplitBehavior::MergedWithPrevious: {
        const std::size_t base = ranges.size();
        bool previous = false;
        for (const Match& m : matches) {
            if (m.is_match && !previous && ranges.size() > base) {
                ranges.back().second = m.end;
            } else {
                ranges.emplace_back(m.start, m.end);
            }
            previous = m.is_match;
        }
        break;
    }
    case SplitBehavior::MergedWithNext: {
        const std::size_t base = ranges.size();
        bool previous = false;
        for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
            if (it->is_match && !previous && ranges.size() > base) {
                ranges.back().first = it->start;
            } else {
                ranges.emplace_back(it->start, it->end);
            }
            previous = it->is_match;
        }
        std::reverse(ranges.begin() + static_cast<std::ptrdiff_t>(base), ranges.end());
        break;
    }
    }
}

void NormalizedString::reset(std::string_view original, std::uint32_t offset) {
    text.assign(original.data(), original.size());
    align.resize(original.size());
    std::size_t i = 0;
    while (i < original.size()) {
        const std::size_t len = utf8_seq_len(static_cast<unsigned char>(original[i]));
        const std::size_t n = std::min(len, original.size() - i);
        const Align a{static_cast<std::uint32_t>(offset + i), static_cast<std::uint32_t>(offset + i + n)};
        for (std::size_t k = 0; k < n; ++k) align[i + k] = a;
        i += n;
    }
    orig_start = offset;
    orig_end = static_cast<std::uint32_t>(offset + original.size());
}

void NormalizedString::assign(std::string_view text_bytes, const Align* aligns, std::uint32_t ostart,
                              std::uint32_t oend) {
    text.assign(text_bytes.data(), text_bytes.size());
    align.assign(aligns, aligns + text_bytes.size());
    orig_start = ostart;
    orig_end = oend;
}

void NormalizedString::replace(const std::vector<Match>& matches, std::string_view content) {
    bool any = false;
    for (const Match& m : matches) any |= m.is_match;
    if (!any) return;
    std::size_t size = 0;
    for (const Match& m : matches) size += m.is_match ? content.size() : m.end - m.start;
    check_normalized_size(size);  // before building it: chained Replaces can grow text 10x per step
    scratch_text_.clear();
    scratch_align_.clear();
    for (const Match& m : matches) {
        if (!m.is_match) {
            scratch_text_.append(text, m.start, m.end - m.start);
            scratch_align_.insert(scratch_align_.end(), align.begin() + m.start, align.begin() + m.end);
            continue;
        }
        const Align a = insert_align(m.end);
        scratch_text_.append(content);
        scratch_align_.insert(scratch_align_.end(), content.size(), a);
    }
    text.swap(scratch_text_);
    align.swap(scratch_align_);
}

void NormalizedString::prepend(std::string_view s) {
    if (text.empty() || s.empty()) return;
    check_normalized_size(text.size() + s.size());
    const Align a = align[0];
    text.insert(0, s);
    align.insert(align.begin(), s.size(), a);
}

void NormalizedString::append(std::string_view s) {
    if (s.empty()) return;
    check_normalized_size(text.size() + s.size());
    const Align a = text.empty() ? Align{orig_start, orig_start} : align.back();
    text.append(s);
    align.insert(align.end(), s.size(), a);
}

void NormalizedString::strip(bool left, bool right) {
    std::size_t b = 0;
    std::size_t e = text.size();
    if (left) {
        while (b < e) {
            std::size_t len;
            const char32_t c = decode_utf8(text, b, &len);
            if (!is_whitespace(c)) break;
            b += len;
        }
    }
    if (right) {
        while (e > b) {
            std::size_t p = e - 1;
            while (p > b && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
            std::size_t len;
            const char32_t c = decode_utf8(text, p, &len);
            if (!is_whitespace(c)) break;
            e = p;
        }
    }
    if (b == 0 && e == text.size()) return;
    text = text.substr(b, e - b);
    align.erase(align.begin() + static_cast<std::ptrdiff_t>(e), align.end());
    align.erase(align.begin(), align.begin() + static_cast<std::ptrdiff_t>(b));
}

void NormalizedString::lowercase() {
    if (is_ascii(text)) {
        for (char& ch : text) {
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
        }
        return;
    }
    map_chars([](char32_t c, auto&& emit) {
        char32_t out[3];
        const std::size_t n = to_lowercase(c, out);
        for (std::size_t k = 0; k < n; ++k) emit(out[k]);
    });
}

// Runs of non-starters up to this long are put in canonical order by insertion sort (real text has
// runs of one to four), longer ones by a stable sort.
constexpr std::size_t kInsertionRun = 32;

void NormalizedString::normalize_form(bool compose, bool compat) {
    if (is_ascii(text)) return;
    cps_.clear();
    cp_align_.clear();
    char32_t buf[32];
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t len;
        const char32_t c = decode_utf8(text, i, &len);
        const Align a = align[i];
        const std::size_t n = decompose(c, compat, buf, 32);
        for (std::size_t k = 0; k < n; ++k) {
            cps_.push_back(buf[k]);
            cp_align_.push_back(a);
        }
        check_normalized_size(cps_.size());  // every code point is at least one byte
        i += len;
    }
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    const std::size_t n = cps_.size();
    for (std::size_t s = 0; s < n;) {
        if (combining_class(cps_[s]) == 0) {
            ++s;
            continue;
        }
        std::size_t e = s;
        while (e < n && combining_class(cps_[e]) != 0) ++e;
        if (e - s > 1 && e - s <= kInsertionRun) {
            for (std::size_t x = s + 1; x < e; ++x) {  // insertion sort, stable
                for (std::size_t y = x; y > s && combining_class(cps_[y - 1]) > combining_class(cps_[y]); --y) {
                    std::swap(cps_[y - 1], cps_[y]);
                    std::swap(cp_align_[y - 1], cp_align_[y]);
                }
            }
        } else if (e - s > kInsertionRun) {
            // A long run (text made of combining marks, as an attack would send): a stable sort in
            // n log n instead of the insertion sort's n^2.
            struct Mark {
                int ccc;
                char32_t cp;
                Align align;
            };
            std::vector<Mark> marks;
            marks.reserve(e - s);
            for (std::size_t x = s; x < e; ++x) marks.push_back({combining_class(cps_[x]), cps_[x], cp_align_[x]});
            std::stable_sort(marks.begin(), marks.end(), [](const Mark& a, const Mark& b) { return a.ccc < b.ccc; });
            for (std::size_t x = s; x < e; ++x) {
                cps_[x] = marks[x - s].cp;
                cp_align_[x] = marks[x - s].align;
            }
        }
        s = e;
    }
    std::size_t out_n = n;
    if (compose && n > 0) {
        std::size_t w = 0;  // write index
        long starter = -1;  // index (in output) of the last starter
        int last_ccc = -1;  // ccc of the last char written after the starter (-1: none)
        for (std::size_t r = 0; r < n; ++r) {
            const char32_t c = cps_[r];
            const int ccc = combining_class(c);
            if (starter >= 0) {
                const bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= ccc);
                if (!blocked) {
                    const char32_t composed = compose_pair(cps_[static_cast<std::size_t>(starter)], c);
                    if (composed != 0) {
                        cps_[static_cast<std::size_t>(starter)] = composed;
                        continue;
                    }
                }
            }
            cps_[w] = c;
            cp_align_[w] = cp_align_[r];
            if (ccc == 0) {
                starter = static_cast<long>(w);
                last_ccc = -1;
            } else {
                last_ccc = ccc;
            }
            ++w;
        }
        out_n = w;
    }
    scratch_text_.clear();
    scratch_align_.clear();
    for (std::size_t k = 0; k < out_n; ++k) {
        const std::size_t len = append_utf8(scratch_text_, cps_[k]);
        scratch_align_.insert(scratch_align_.end(), len, cp_align_[k]);
    }
    check_normalized_size(scratch_text_.size());
    text.swap(scratch_text_);
    align.swap(scratch_align_);
}

std::pair<std::uint32_t, std::uint32_t> NormalizedString::original_range(std::uint32_t a, std::uint32_t b) const {
    if (a < b && b <= align.size()) return {align[a].start, align[b - 1].end};
    return {orig_start + a, orig_start + b};
}

int PreTokenized::add(const NormalizedString& ns) {
    return add(ns.text, ns.align.data(), ns.orig_start, ns.orig_end);
}

int PreTokenized::add(std::string_view t, const Align* a, std::uint32_t ostart, std::uint32_t oend) {
    if (t.empty()) return -1;
    const auto begin = static_cast<std::uint32_t>(text.size());
    text.append(t);
    align.insert(align.end(), a, a + t.size());
    splits.push_back(Split{begin, static_cast<std::uint32_t>(text.size()), ostart, oend});
    return static_cast<int>(splits.size()) - 1;
}

}  // namespace winnow::tok
