#include "lexical/analyzer.h"

#include <libstemmer.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "winnow/error.h"

namespace winnow::lexical {
namespace {

constexpr std::size_t kMaxTokenLength = 255;  // Lucene StandardAnalyzer.DEFAULT_MAX_TOKEN_LENGTH

constexpr std::array<std::string_view, 33> kEnglishStopWords = {
    "a",    "an",   "and",   "are",  "as",    "at",   "be",   "but",  "by",    "for",  "if",
    "in",   "into", "is",    "it",   "no",    "not",  "of",   "on",   "or",    "such", "that",
    "the",  "their", "then", "there", "these", "they", "this", "to",  "was",   "will", "with"};

// ASCII character classes of UAX#29 that matter for word boundaries.
enum class Cls : unsigned char { Other, Letter, Digit, MidLetter, MidNumLet, SingleQuote, MidNum, ExtendNumLet };

constexpr std::array<Cls, 128> make_classes() {
    std::array<Cls, 128> t{};
    for (auto& c : t) c = Cls::Other;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = Cls::Letter;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = Cls::Letter;
    for (int c = '0'; c <= '9'; ++c) t[c] = Cls::Digit;
    t[':'] = Cls::MidLetter;
    t['.'] = Cls::MidNumLet;
    t['\''] = Cls::SingleQuote;
    t[','] = Cls::MidNum;
    t[';'] = Cls::MidNum;
    t['_'] = Cls::ExtendNumLet;
    return t;
}
constexpr std::array<Cls, 128> kClasses = make_classes();

inline Cls cls(char c) { return kClasses[static_cast<unsigned char>(c) & 0x7f]; }
inline bool is_word(Cls c) { return c == Cls::Letter || c == Cls::Digit || c == Cls::ExtendNumLet; }

void emit_split(std::string_view token, const std::function<void(std::string_view)>& emit) {
    // Lucene splits tokens longer than maxTokenLength into pieces of that length.
    while (token.size() > kMaxTokenLength) {
        emit(token.substr(0, kMaxTokenLength));
        token.remove_prefix(kMaxTokenLength);
    }
    if (!token.empty()) emit(token);
}

// UAX#29 restricted to ASCII: WB5-WB13b over letters, digits, ':', '.', '\'', ',', ';', '_'.
void tokenize_ascii(std::string_view s, const std::function<void(std::string_view)>& emit) {
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        if (!is_word(cls(s[i]))) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        bool has_alnum = false;
        while (i < n) {
            const Cls c = cls(s[i]);
            has_alnum |= (c == Cls::Letter || c == Cls::Digit);
            if (i + 1 >= n) {
                ++i;
                break;
            }
            const Cls next = cls(s[i + 1]);
            if (is_word(next)) {
                ++i;
                continue;
            }
            if (i + 2 < n) {
                const Cls after = cls(s[i + 2]);
                // WB6/WB7: letter (MidLetter | MidNumLet | Single_Quote) letter
                if (c == Cls::Letter && after == Cls::Letter &&
                    (next == Cls::MidLetter || next == Cls::MidNumLet || next == Cls::SingleQuote)) {
                    i += 2;
                    continue;
                }
                // WB11/WB12: digit (MidNum | MidNumLet | Single_Quote) digit
                if (c == Cls::Digit && after == Cls::Digit &&
                    (next == Cls::MidNum || next == Cls::MidNumLet || next == Cls::SingleQuote)) {
                    i += 2;
                    continue;
                }
            }
            ++i;
            break;
        }
        if (has_alnum) emit_split(s.substr(start, i - start), emit);
    }
}

struct BreakIteratorHolder {
    UBreakIterator* bi = nullptr;
    BreakIteratorHolder() {
        UErrorCode status = U_ZERO_ERROR;
        bi = ubrk_open(UBRK_WORD, "en", nullptr, 0, &status);
        if (U_FAILURE(status)) bi = nullptr;
    }
    ~BreakIteratorHolder() {
        if (bi) ubrk_close(bi);
    }
};

void tokenize_icu(std::string_view s, const std::function<void(std::string_view)>& emit) {
    thread_local BreakIteratorHolder holder;
    WINNOW_CHECK(holder.bi != nullptr, Errc::Internal, "ICU word break iterator unavailable");
    UErrorCode status = U_ZERO_ERROR;
    UText* ut = utext_openUTF8(nullptr, s.data(), static_cast<int64_t>(s.size()), &status);
    WINNOW_CHECK(U_SUCCESS(status), Errc::InvalidArgument, "text is not valid UTF-8 ({})", u_errorName(status));
    ubrk_setUText(holder.bi, ut, &status);
    std::int32_t start = ubrk_first(holder.bi);
    for (std::int32_t end = ubrk_next(holder.bi); end != UBRK_DONE; start = end, end = ubrk_next(holder.bi)) {
        const std::int32_t status_tag = ubrk_getRuleStatus(holder.bi);
        if (status_tag < UBRK_WORD_NONE_LIMIT) continue;  // spaces, punctuation, symbols
        std::string_view token = s.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start));
        if (status_tag >= UBRK_WORD_IDEO && status_tag < UBRK_WORD_IDEO_LIMIT) {
            // Lucene's StandardTokenizer emits each ideograph (and hiragana) as its own token.
            std::int32_t i = 0;
            const auto len = static_cast<std::int32_t>(token.size());
            while (i < len) {
                const std::int32_t begin = i;
                UChar32 cp;
                U8_NEXT(token.data(), i, len, cp);
                (void)cp;
                emit(token.substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(i - begin)));
            }
            continue;
        }
        // Skip segments made only of connector punctuation ("___").
        bool has_alnum = false;
        for (std::int32_t i = 0, len = static_cast<std::int32_t>(token.size()); i < len && !has_alnum;) {
            UChar32 cp;
            U8_NEXT(token.data(), i, len, cp);
            has_alnum = cp >= 0 && (u_isalnum(cp) || u_hasBinaryProperty(cp, UCHAR_ALPHABETIC));
        }
        if (has_alnum) emit_split(token, emit);
    }
    utext_close(ut);
}

bool is_ascii(std::string_view s) {
    for (unsigned char c : s) {
        if (c >= 0x80) return false;
    }
    return true;
}

// Appends the lower case of a UTF-8 token (Java Character.toLowerCase per code point).
void lowercase_into(std::string_view token, std::string& out) {
    out.clear();
    if (is_ascii(token)) {
        out.resize(token.size());
        for (std::size_t i = 0; i < token.size(); ++i) {
            const char c = token[i];
            out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
        }
        return;
    }
    const auto len = static_cast<std::int32_t>(token.size());
    std::int32_t i = 0;
    while (i < len) {
        UChar32 cp;
        U8_NEXT(token.data(), i, len, cp);
        if (cp < 0) cp = 0xFFFD;
        cp = u_tolower(cp);
        char buf[4];
        std::int32_t n = 0;
        UBool error = false;
        U8_APPEND(buf, n, 4, cp, error);
        (void)error;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

// EnglishPossessiveFilter: drop a trailing 's (ASCII, U+2019 or U+FF07 apostrophe, s or S).
std::string_view strip_possessive(std::string_view t) {
    if (t.size() < 2) return t;
    const char last = t.back();
    if (last != 's' && last != 'S') return t;
    std::string_view rest = t.substr(0, t.size() - 1);
    if (rest.back() == '\'') return rest.substr(0, rest.size() - 1);
    if (rest.size() >= 3 && rest.substr(rest.size() - 3) == "\xE2\x80\x99") return rest.substr(0, rest.size() - 3);
    if (rest.size() >= 3 && rest.substr(rest.size() - 3) == "\xEF\xBC\x87") return rest.substr(0, rest.size() - 3);
    return t;
}

bool parse_bool(std::string_view v, std::string_view spec) {
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    WINNOW_THROW(Errc::InvalidArgument, "analyzer spec '{}': expected true or false, got '{}'", spec, v);
}

}  // namespace

bool is_english_stopword(std::string_view word) noexcept {
    return std::find(kEnglishStopWords.begin(), kEnglishStopWords.end(), word) != kEnglishStopWords.end();
}

void standard_tokenize(std::string_view text, const std::function<void(std::string_view)>& emit) {
    if (is_ascii(text)) {
        tokenize_ascii(text, emit);
    } else {
        tokenize_icu(text, emit);
    }
}

AnalyzerOptions parse_analyzer_spec(std::string_view spec) {
    AnalyzerOptions o;
    std::string_view name = spec;
    std::string_view args;
    if (auto p = spec.find('('); p != std::string_view::npos) {
        WINNOW_CHECK(spec.back() == ')', Errc::InvalidArgument, "analyzer spec '{}': missing ')'", spec);
        name = spec.substr(0, p);
        args = spec.substr(p + 1, spec.size() - p - 2);
    }
    if (name == "standard") {
        o.possessives = false;
        o.stopwords = false;
        o.stemmer = "none";
    } else {
        WINNOW_CHECK(name == "english", Errc::InvalidArgument,
                     "analyzer spec '{}': unknown analyzer '{}' (expected english or standard)", spec, name);
    }
    while (!args.empty()) {
        auto comma = args.find(',');
        std::string_view kv = args.substr(0, comma);
        args = comma == std::string_view::npos ? std::string_view() : args.substr(comma + 1);
        auto eq = kv.find('=');
        WINNOW_CHECK(eq != std::string_view::npos, Errc::InvalidArgument, "analyzer spec '{}': expected key=value",
                     spec);
        std::string_view key = kv.substr(0, eq);
        std::string_view value = kv.substr(eq + 1);
        while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
        if (key == "stemmer") {
            o.stemmer = std::string(value);
        } else if (key == "stopwords") {
            o.stopwords = parse_bool(value, spec);
        } else if (key == "possessives") {
            o.possessives = parse_bool(value, spec);
        } else if (key == "lowercase") {
            o.lowercase = parse_bool(value, spec);
        } else {
            WINNOW_THROW(Errc::InvalidArgument, "analyzer spec '{}': unknown parameter '{}'", spec, key);
        }
    }
    return o;
}

Analyzer::Analyzer(AnalyzerOptions options) : options_(std::move(options)) {
    if (options_.stemmer != "none" && !options_.stemmer.empty()) {
        stemmer_ = sb_stemmer_new(options_.stemmer.c_str(), nullptr);
        WINNOW_CHECK(stemmer_ != nullptr, Errc::InvalidArgument, "unknown Snowball stemmer '{}'", options_.stemmer);
    }
}

Analyzer::~Analyzer() {
    if (stemmer_) sb_stemmer_delete(stemmer_);
}

std::string_view Analyzer::stem(const std::string& word) {
    auto it = stem_cache_.find(word);
    if (it != stem_cache_.end()) return it->second;
    const sb_symbol* out =
        sb_stemmer_stem(stemmer_, reinterpret_cast<const sb_symbol*>(word.data()), static_cast<int>(word.size()));
    std::string stemmed = out ? std::string(reinterpret_cast<const char*>(out),
                                            static_cast<std::size_t>(sb_stemmer_length(stemmer_)))
                              : word;
    if (stem_cache_.size() > 1'000'000) stem_cache_.clear();
    return stem_cache_.emplace(word, std::move(stemmed)).first->second;
}

void Analyzer::analyze(std::string_view text, const std::function<void(std::string_view)>& emit) {
    standard_tokenize(text, [&](std::string_view token) {
        if (options_.possessives) token = strip_possessive(token);
        if (token.empty()) return;
        if (options_.lowercase) {
            lowercase_into(token, scratch_);
        } else {
            scratch_.assign(token);
        }
        if (options_.stopwords && is_english_stopword(scratch_)) return;
        if (stemmer_) {
            emit(stem(scratch_));
        } else {
            emit(scratch_);
        }
    });
}

std::vector<std::string> Analyzer::terms(std::string_view text) {
    std::vector<std::string> out;
    analyze(text, [&](std::string_view t) { out.emplace_back(t); });
    return out;
}

}  // namespace winnow::lexical
