#include <array>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/component_json.h"
#include "tokenizer/pre_tokenizers/pre_tokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {

namespace {

struct ByteTable {
    std::array<char32_t, 256> to_char{};
    std::array<char, 256 * 2> utf8{};  // each mapped char as UTF-8 (1 or 2 bytes)
    std::array<std::uint8_t, 256> utf8_len{};
    ByteTable() {
        std::array<bool, 256> direct{};
        for (int b = '!'; b <= '~'; ++b) direct[b] = true;
        for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
        for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            to_char[b] = direct[b] ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
            char buf[4] = {0, 0, 0, 0};
            utf8_len[b] = static_cast<std::uint8_t>(encode_utf8(to_char[b], buf));
            utf8[b * 2] = buf[0];
            utf8[b * 2 + 1] = buf[1];
        }
    }
};

const ByteTable& byte_table() {
    static const ByteTable table;
    return table;
}

// ASCII classes for the BERT pre-tokenizer: 1 whitespace, 2 punctuation.
struct AsciiClass {
    std::array<std::uint8_t, 128> cls{};
    AsciiClass() {
        for (int c = 0; c < 128; ++c) {
            if (is_whitespace(static_cast<char32_t>(c))) cls[c] = 1;
            else if (is_bert_punctuation(static_cast<char32_t>(c))) cls[c] = 2;
        }
    }
};
const AsciiClass kAscii;

using Ranges = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

class BertPreTokenizer final : public PreTokenizer {
public:
    void pre_tokenize(PreTokenized& p) const override {
        p.split([](std::string_view t, Ranges& out) {
            std::size_t i = 0;
            std::size_t word = 0;
            bool in_word = false;
            const auto* u = reinterpret_cast<const unsigned char*>(t.data());
            while (i < t.size()) {
                int cls;
                std::size_t len;
                if (u[i] < 0x80) {
                    cls = kAscii.cls[u[i]];
                    len = 1;
                } else {
                    const char32_t c = decode_utf8(t, i, &len);
                    cls = is_whitespace(c) ? 1 : is_bert_punctuation(c) ? 2 : 0;
                }
                if (cls == 0) {
                    if (!in_word) {
                        word = i;
                        in_word = true;
                    }
                } else {
                    if (in_word) {
                        out.emplace_back(word, i);
                        in_word = false;
                    }
                    if (cls == 2) out.emplace_back(i, i + len);
                }
                i += len;
            }
            if (in_word) out.emplace_back(word, t.size());
        });
    }
};

class WhitespacePreTokenizer final : public PreTokenizer {
public:
    // \w+|[^\w\s]+ : runs of word chars and runs of other non-space chars.
    void pre_tokenize(PreTokenized& p) const override {
        p.split([](std::string_view t, Ranges& out) {
            std::size_t i = 0;
            int run = 0;  // 0 none, 1 word, 2 other
            std::size_t start = 0;
            while (i < t.size()) {
                std::size_t len;
                const char32_t c = decode_utf8(t, i, &len);
                const int cls = is_word_char(c) ? 1 : is_whitespace(c) ? 0 : 2;
                if (cls != run) {
                    if (run != 0) out.emplace_back(start, i);
                    run = cls;
                    start = i;
                }
                i += len;
            }
            if (run != 0) out.emplace_back(start, t.size());
        });
    }
};

template <typename Pred>
class PredicateSplit final : public PreTokenizer {
public:
    PredicateSplit(Pred pred, SplitBehavior behavior) : pred_(pred), behavior_(behavior) {}
    void pre_tokenize(PreTokenized& p) const override {
        p.split([this](std::string_view t, Ranges& out) {
            thread_local std::vector<Match> matches;
            find_matches_pred(t, pred_, matches);
            apply_behavior(matches, behavior_, out);
        });
    }

private:
    Pred pred_;
    SplitBehavior behavior_;
};

template <typename Pred>
std::unique_ptr<PreTokenizer> make_pred(Pred pred, SplitBehavior behavior) {
    return std::make_unique<PredicateSplit<Pred>>(pred, behavior);
}

class SplitPreTokenizer final : public PreTokenizer {
public:
    SplitPreTokenizer(std::unique_ptr<Regex> regex, SplitBehavior behavior, bool invert)
        : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
    void pre_tokenize(PreTokenized& p) const override {
        p.split([this](std::string_view t, Ranges& out) {
            thread_local std::vector<Match> matches;
            find_matches_regex(t, *regex_, matches);
            if (invert_) {
                for (Match& m : matches) m.is_match = !m.is_match;
            }
            apply_behavior(matches, behavior_, out);
        });
    }

private:
    std::unique_ptr<Regex> regex_;
    SplitBehavior behavior_;
    bool invert_;
};

enum class PrependScheme { Always, Never, First };

class MetaspacePreTokenizer final : public PreTokenizer {
public:
    MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
        : replacement_(to_utf8(replacement)), replacement_char_(replacement), scheme_(scheme), split_(split) {}

    void pre_tokenize(PreTokenized& p) const override {
        p.transform([this](NormalizedString& ns, Ranges& out) {
            thread_local std::vector<Match> matches;
            find_matches_pred(ns.text, [](char32_t c) { return c == ' '; }, matches);
            ns.replace(matches, replacement_);
            const bool starts = ns.text.compare(0, replacement_.size(), replacement_) == 0;
            if (scheme_ == PrependScheme::Always && !starts) ns.prepend(replacement_);
            if (scheme_ == PrependScheme::First && !starts && ns.orig_start == 0) ns.prepend(replacement_);
            if (split_) {
                const char32_t r = replacement_char_;
                find_matches_pred(ns.text, [r](char32_t c) { return c == r; }, matches);
                apply_behavior(matches, SplitBehavior::MergedWithNext, out);
            } else {
                out.emplace_back(0, ns.text.size());
            }
        });
    }

private:
    std::string replacement_;
    char32_t replacement_char_;
    PrependScheme scheme_;
    bool split_;
};

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The GPT-2 pattern above, hand-written: it is the hot path of every byte-level BPE.
void gpt2_split(std::string_view t, Ranges& out) {
    const std::size_t n = t.size();
    auto at = [&](std::size_t i, std::size_t* len) -> char32_t { return decode_utf8(t, i, len); };
    auto cls = [](char32_t c) -> int {  // 1 letter, 2 number, 3 whitespace, 0 other
        if (c < 0x80) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
            if (c >= '0' && c <= '9') return 2;
            if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return 3;
            return 0;
        }
        const int cat = letter_or_number(c);
        if (cat != 0) return cat;
        if (is_whitespace(c)) return 3;
        return 0;
    };
    std::size_t i = 0;
    while (i < n) {
        const std::size_t start = i;
        // Contractions.
        if (t[i] == '\'' && i + 1 < n) {
            const char c1 = t[i + 1];
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                out.emplace_back(i, i + 2);
                i += 2;
                continue;
            }
            if (i + 2 < n && ((c1 == 'r' && t[i + 2] == 'e') || (c1 == 'v' && t[i + 2] == 'e') ||
                              (c1 == 'l' && t[i + 2] == 'l'))) {
                out.emplace_back(i, i + 3);
                i += 3;
                continue;
            }
        }
        std::size_t len;
        char32_t c = at(i, &len);
        int k = cls(c);
        std::size_t j = i;
        if (c == ' ' && i + 1 < n) {
            std::size_t len2;
            const char32_t c2 = at(i + 1, &len2);
            const int k2 = cls(c2);
            if (k2 != 3) {  // " ?X+" with X the class of the next char
                j = i + 1;
                c = c2;
                k = k2;
                len = len2;
            }
        }
        if (k != 3) {
            std::size_t e = j + len;
            while (e < n) {
                std::size_t l;
                const char32_t d = at(e, &l);
                if (cls(d) != k) break;
                e += l;
            }
            out.emplace_back(start, e);
            i = e;
            continue;
        }
        // Whitespace run: \s+(?!\S) | \s+
        std::size_t e = i + len;
        std::size_t last_start = i;  // start of the last whitespace char of the run
        while (e < n) {
            std::size_t l;
            const char32_t d = at(e, &l);
            if (cls(d) != 3) break;
            last_start = e;
            e += l;
        }
        if (e < n && last_start > i) {
            // Followed by a non-space: leave the last whitespace char for the next token.
            out.emplace_back(i, last_start);
            i = last_start;
        } else {
            out.emplace_back(i, e);
            i = e;
        }
    }
}

class ByteLevelPreTokenizer final : public PreTokenizer {
public:
    ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
        : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}

    void pre_tokenize(PreTokenized& p) const override {
        const ByteTable& table = byte_table();
        p.transform([&](NormalizedString& ns, Ranges& out) {
            if (add_prefix_space_ && (ns.text.empty() || ns.text[0] != ' ')) ns.prepend(" ");
            thread_local Ranges ranges;
            ranges.clear();
            if (use_regex_) {
                gpt2_split(ns.text, ranges);
            } else {
                ranges.emplace_back(0, ns.text.size());
            }
            // Map every byte to its printable char; keep old->new offsets for the ranges.
            thread_local std::string text;
            thread_local std::vector<Align> al;
            thread_local std::vector<std::uint32_t> remap;
            text.clear();
            al.clear();
            remap.resize(ns.text.size() + 1);
            std::size_t i = 0;
            while (i < ns.text.size()) {
                const std::size_t len = std::min(utf8_seq_len(static_cast<unsigned char>(ns.text[i])),
                                                 ns.text.size() - i);
                const Align a = ns.align[i];
                for (std::size_t k = 0; k < len; ++k) {
                    remap[i + k] = static_cast<std::uint32_t>(text.size());
                    const auto b = static_cast<unsigned char>(ns.text[i + k]);
                    const std::size_t bl = table.utf8_len[b];
                    text.append(&table.utf8[b * 2], bl);
                    al.insert(al.end(), bl, a);
                }
                i += len;
            }
            remap[ns.text.size()] = static_cast<std::uint32_t>(text.size());
            for (const auto& [a, b] : ranges) out.emplace_back(remap[a], remap[b]);
            ns.text.swap(text);
            ns.align.swap(al);
        });
    }

private:
    bool add_prefix_space_;
    bool use_regex_;
};

class SequencePreTokenizer final : public PreTokenizer {
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> items) : items_(std::move(items)) {}
    void pre_tokenize(PreTokenized& p) const override {
        for (const auto& item : items_) item->pre_tokenize(p);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> items_;
};

}  // namespace

char32_t byte_to_unicode(unsigned char b) noexcept { return byte_table().to_char[b]; }

int unicode_to_byte(char32_t c) noexcept {
    static const std::vector<int> inverse = [] {
        std::vector<int> inv(512, -1);
        for (int b = 0; b < 256; ++b) inv[byte_table().to_char[b]] = b;
        return inv;
    }();
    return c < inverse.size() ? inverse[c] : -1;
}

SplitBehavior parse_behavior(const Json& j, const std::string& where) {
    WINNOW_CHECK(j.is_string(), Errc::Corrupt, "{}: field 'behavior' must be a string", where);
    const std::string b = j.get<std::string>();
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported split behavior '{}'", where, b);
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const std::string& where) {
    if (j.is_null()) return nullptr;
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: expected an object", where);
    const std::string type = json_get<std::string>(j, "type", where);
    const std::string here = where + " (" + type + ")";
    if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
    if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
    if (type == "WhitespaceSplit") {
        return make_pred([](char32_t c) { return is_whitespace(c); }, SplitBehavior::Removed);
    }
    if (type == "Punctuation") {
        SplitBehavior behavior = SplitBehavior::Isolated;
        if (auto it = j.find("behavior"); it != j.end() && !it->is_null()) behavior = parse_behavior(*it, here);
        return make_pred([](char32_t c) { return is_bert_punctuation(c); }, behavior);
    }
    if (type == "Digits") {
        const bool individual = json_get_or<bool>(j, "individual_digits", false, here);
        return make_pred([](char32_t c) { return is_numeric(c); },
                         individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
    }
    if (type == "CharDelimiterSplit") {
        const std::string d = json_get<std::string>(j, "delimiter", here);
        std::size_t len = 0;
        WINNOW_CHECK(!d.empty() && (decode_utf8(d, 0, &len), len == d.size()), Errc::Corrupt,
                     "{}: field 'delimiter' must be one character", here);
        const char32_t dc = decode_utf8(d, 0, &len);
        return make_pred([dc](char32_t c) { return c == dc; }, SplitBehavior::Removed);
    }
    if (type == "Split") {
        auto it = j.find("pattern");
        WINNOW_CHECK(it != j.end(), Errc::Corrupt, "{}: missing field 'pattern'", here);
        std::string literal;
        std::unique_ptr<Regex> regex;
        read_pattern(*it, here, literal, regex);
        if (!regex) regex = std::make_unique<Regex>(Regex::escape(literal), here);
        auto b = j.find("behavior");
        WINNOW_CHECK(b != j.end(), Errc::Corrupt, "{}: missing field 'behavior'", here);
        return std::make_unique<SplitPreTokenizer>(std::move(regex), parse_behavior(*b, here),
                                                   json_get_or<bool>(j, "invert", false, here));
    }
    if (type == "Metaspace") {
        const std::string rep = json_get_or<std::string>(j, "replacement", "\xE2\x96\x81", here);
        std::size_t len = 0;
        WINNOW_CHECK(!rep.empty() && (decode_utf8(rep, 0, &len), len == rep.size()), Errc::Corrupt,
                     "{}: field 'replacement' must be one character", here);
        PrependScheme scheme = PrependScheme::Always;
        if (auto it = j.find("prepend_scheme"); it != j.end() && !it->is_null()) {
            const std::string s = it->is_string() ? it->get<std::string>() : "";
            if (s == "always") scheme = PrependScheme::Always;
            else if (s == "never") scheme = PrependScheme::Never;
            else if (s == "first") scheme = PrependScheme::First;
            else WINNOW_THROW(Errc::Unsupported, "{}: unsupported prepend_scheme '{}'", here, it->dump());
        }
        if (auto it = j.find("add_prefix_space"); it != j.end() && it->is_boolean() && !it->get<bool>()) {
            WINNOW_CHECK(j.find("prepend_scheme") == j.end() || j["prepend_scheme"].is_null() ||
                             scheme == PrependScheme::Never,
                         Errc::Corrupt, "{}: add_prefix_space does not match declared prepend_scheme", here);
            scheme = PrependScheme::Never;
        }
        return std::make_unique<MetaspacePreTokenizer>(decode_utf8(rep, 0, &len), scheme,
                                                       json_get_or<bool>(j, "split", true, here));
    }
    if (type == "ByteLevel") {
        return std::make_unique<ByteLevelPreTokenizer>(json_get_or<bool>(j, "add_prefix_space", true, here),
                                                       json_get_or<bool>(j, "use_regex", true, here));
    }
    if (type == "Sequence") {
        return std::make_unique<SequencePreTokenizer>(
            read_sequence<PreTokenizer>(j, "pretokenizers", where, here, make_pre_tokenizer));
    }
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported pre_tokenizer type '{}'", where, type);
}

}  // namespace winnow::tok
