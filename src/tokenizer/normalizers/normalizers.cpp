#include <memory>
#include <string>
#include <vector>

#include "tokenizer/component_json.h"
#include "tokenizer/normalizers/normalizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {
namespace {

class BertNormalizer final : public Normalizer {
public:
    BertNormalizer(bool clean_text, bool chinese, bool strip_accents, bool lowercase)
        : clean_text_(clean_text), chinese_(chinese), strip_accents_(strip_accents), lowercase_(lowercase) {}

    void normalize(NormalizedString& s) const override {
        if (is_ascii(s.text)) {
            normalize_ascii(s);
            return;
        }
        // Mixed text: printable ASCII (and \t \n \r) takes the byte path; every other run goes
        // through the full pipeline on its own. This equals running the passes over the whole
        // string: those ASCII chars are starters that are never removed, so no canonical
        // reordering or removal crosses them, and every other pass works char by char.
        thread_local NormalizedString run;
        thread_local std::string out_text;
        thread_local std::vector<Align> out_align;
        out_text.clear();
        out_align.clear();
        const std::size_t n = s.text.size();
        std::size_t i = 0;
        while (i < n) {
            std::size_t j = i;
            while (j < n && is_fast(static_cast<unsigned char>(s.text[j]))) ++j;
            for (std::size_t k = i; k < j; ++k) {
                auto c = static_cast<unsigned char>(s.text[k]);
                if (clean_text_ && (c == '\t' || c == '\n' || c == '\r')) c = ' ';
                if (lowercase_ && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
                out_text.push_back(static_cast<char>(c));
                out_align.push_back(s.align[k]);
            }
            i = j;
            while (j < n && !is_fast(static_cast<unsigned char>(s.text[j]))) ++j;
            if (j > i) {
                run.assign(std::string_view(s.text).substr(i, j - i), s.align.data() + i, s.align[i].start,
                           s.align[j - 1].end);
                normalize_general(run);
                out_text += run.text;
                out_align.insert(out_align.end(), run.align.begin(), run.align.end());
            }
            i = j;
        }
        s.text.swap(out_text);
        s.align.swap(out_align);
        run.trim();
        trim_scratch(out_text);
        trim_scratch(out_align);
    }

private:
    static bool is_fast(unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\t' || c == '\n' || c == '\r'; }

    void normalize_general(NormalizedString& s) const {
        if (clean_text_) {
            s.map_chars([](char32_t c, auto&& emit) {
                if (c == 0 || c == 0xFFFD) return;
                const bool ws = c == '\t' || c == '\n' || c == '\r';
                if (!ws && is_other(c)) return;
                emit(ws || is_whitespace(c) ? char32_t(' ') : c);
            });
        }
        if (chinese_) {
            s.map_chars([](char32_t c, auto&& emit) {
                if (is_chinese_char(c)) {
                    emit(' ');
                    emit(c);
                    emit(' ');
                } else {
                    emit(c);
                }
            });
        }
        if (strip_accents_) {
            s.normalize_form(false, false);
            s.map_chars([](char32_t c, auto&& emit) {
                if (!is_mark_nonspacing(c)) emit(c);
            });
        }
        if (lowercase_) s.lowercase();
    }

    void normalize_ascii(NormalizedString& s) const {
        std::size_t w = 0;
        const std::size_t n = s.text.size();
        char* t = s.text.data();
        Align* a = s.align.data();
        for (std::size_t r = 0; r < n; ++r) {
            auto c = static_cast<unsigned char>(t[r]);
            if (clean_text_) {
                if (c == '\t' || c == '\n' || c == '\r') {
                    c = ' ';
                } else if (c < 0x20 || c == 0x7F) {
                    continue;  // NUL and other controls are removed
                }
            }
            if (lowercase_ && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
            t[w] = static_cast<char>(c);
            a[w] = a[r];
            ++w;
        }
        s.text.resize(w);
        s.align.resize(w);
    }

    bool clean_text_;
    bool chinese_;
    bool strip_accents_;
    bool lowercase_;
};

class UnicodeForm final : public Normalizer {
public:
    UnicodeForm(bool compose, bool compat) : compose_(compose), compat_(compat) {}
    void normalize(NormalizedString& s) const override { s.normalize_form(compose_, compat_); }

private:
    bool compose_;
    bool compat_;
};

class Lowercase final : public Normalizer {
public:
    void normalize(NormalizedString& s) const override { s.lowercase(); }
};

class StripAccents final : public Normalizer {
public:
    void normalize(NormalizedString& s) const override {
        if (is_ascii(s.text)) return;
        s.map_chars([](char32_t c, auto&& emit) {
            if (!is_mark_nonspacing(c)) emit(c);
        });
    }
};

class Strip final : public Normalizer {
public:
    Strip(bool left, bool right) : left_(left), right_(right) {}
    void normalize(NormalizedString& s) const override { s.strip(left_, right_); }

private:
    bool left_;
    bool right_;
};

class Prepend final : public Normalizer {
public:
    explicit Prepend(std::string p) : prepend_(std::move(p)) {}
    void normalize(NormalizedString& s) const override { s.prepend(prepend_); }

private:
    std::string prepend_;
};

class Replace final : public Normalizer {
public:
    Replace(std::string literal, std::unique_ptr<Regex> regex, std::string content)
        : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}

    void normalize(NormalizedString& s) const override {
        thread_local std::vector<Match> matches;
        matches.clear();
        if (regex_) {
            find_matches_regex(s.text, *regex_, matches);
        } else {
            if (literal_.empty() || s.text.find(literal_) == std::string::npos) return;
            std::uint32_t prev = 0;
            std::size_t pos = 0;
            while ((pos = s.text.find(literal_, pos)) != std::string::npos) {
                if (prev != pos) matches.push_back({prev, static_cast<std::uint32_t>(pos), false});
                const auto end = static_cast<std::uint32_t>(pos + literal_.size());
                matches.push_back({static_cast<std::uint32_t>(pos), end, true});
                prev = end;
                pos = end;
            }
            if (prev != s.text.size()) matches.push_back({prev, static_cast<std::uint32_t>(s.text.size()), false});
        }
        s.replace(matches, content_);
        trim_scratch(matches);
    }

private:
    std::string literal_;
    std::unique_ptr<Regex> regex_;
    std::string content_;
};

class ByteLevelNormalizer final : public Normalizer {
public:
    void normalize(NormalizedString& s) const override;
};

class SequenceNormalizer final : public Normalizer {
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> items) : items_(std::move(items)) {}
    void normalize(NormalizedString& s) const override {
        for (const auto& n : items_) n->normalize(s);
    }

private:
    std::vector<std::unique_ptr<Normalizer>> items_;
};

}  // namespace

// Shared with the ByteLevel pre-tokenizer (defined in pre_tokenizers.cpp).
char32_t byte_to_unicode(unsigned char b) noexcept;

void ByteLevelNormalizer::normalize(NormalizedString& s) const {
    s.map_chars([](char32_t c, auto&& emit) {
        char buf[4];
        const std::size_t n = encode_utf8(c, buf);
        for (std::size_t k = 0; k < n; ++k) emit(byte_to_unicode(static_cast<unsigned char>(buf[k])));
    });
}

// Reads a {"String": s} or {"Regex": r} pattern object.
void read_pattern(const Json& j, const std::string& where, std::string& literal, std::unique_ptr<Regex>& regex) {
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: 'pattern' must be an object with 'String' or 'Regex'", where);
    if (auto it = j.find("String"); it != j.end() && it->is_string()) {
        literal = it->get<std::string>();
        return;
    }
    if (auto it = j.find("Regex"); it != j.end() && it->is_string()) {
        regex = std::make_unique<Regex>(it->get<std::string>(), where);
        return;
    }
    WINNOW_THROW(Errc::Corrupt, "{}: 'pattern' must hold a 'String' or 'Regex' string", where);
}

std::unique_ptr<Normalizer> make_normalizer(const Json& j, const std::string& where) {
    if (j.is_null()) return nullptr;
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: expected an object", where);
    const std::string type = json_get<std::string>(j, "type", where);
    const std::string here = where + " (" + type + ")";
    if (type == "BertNormalizer") {
        const bool lowercase = json_get_or<bool>(j, "lowercase", true, here);
        bool strip = lowercase;
        if (auto it = j.find("strip_accents"); it != j.end() && !it->is_null()) {
            WINNOW_CHECK(it->is_boolean(), Errc::Corrupt, "{}: field 'strip_accents' must be a bool or null", here);
            strip = it->get<bool>();
        }
        return std::make_unique<BertNormalizer>(json_get_or<bool>(j, "clean_text", true, here),
                                                json_get_or<bool>(j, "handle_chinese_chars", true, here), strip,
                                                lowercase);
    }
    if (type == "NFC") return std::make_unique<UnicodeForm>(true, false);
    if (type == "NFD") return std::make_unique<UnicodeForm>(false, false);
    if (type == "NFKC") return std::make_unique<UnicodeForm>(true, true);
    if (type == "NFKD") return std::make_unique<UnicodeForm>(false, true);
    if (type == "Lowercase") return std::make_unique<Lowercase>();
    if (type == "StripAccents") return std::make_unique<StripAccents>();
    if (type == "Strip") {
        return std::make_unique<Strip>(json_get_or<bool>(j, "strip_left", true, here),
                                       json_get_or<bool>(j, "strip_right", true, here));
    }
    if (type == "Prepend") return std::make_unique<Prepend>(json_get<std::string>(j, "prepend", here));
    if (type == "Replace") {
        auto it = j.find("pattern");
        WINNOW_CHECK(it != j.end(), Errc::Corrupt, "{}: missing field 'pattern'", here);
        std::string literal;
        std::unique_ptr<Regex> regex;
        read_pattern(*it, here, literal, regex);
        return std::make_unique<Replace>(std::move(literal), std::move(regex), json_get<std::string>(j, "content", here));
    }
    if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
    if (type == "Precompiled") {
        auto it = j.find("precompiled_charsmap");
        WINNOW_CHECK(it != j.end(), Errc::Corrupt, "{}: missing field 'precompiled_charsmap'", here);
        if (it->is_null()) return std::make_unique<SequenceNormalizer>(std::vector<std::unique_ptr<Normalizer>>{});
        WINNOW_CHECK(it->is_string(), Errc::Corrupt, "{}: field 'precompiled_charsmap' must be a base64 string", here);
        return make_precompiled(it->get_ref<const std::string&>(), here);
    }
    if (type == "Sequence") {
        return std::make_unique<SequenceNormalizer>(
            read_sequence<Normalizer>(j, "normalizers", where, here, make_normalizer));
    }
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported normalizer type '{}'", where, type);
}

}  // namespace winnow::tok
