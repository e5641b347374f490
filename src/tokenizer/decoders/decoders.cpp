#include <memory>
#include <string>
#include <vector>

#include "tokenizer/component_json.h"
#include "tokenizer/decoders/decoder.h"
#include "tokenizer/pre_tokenizers/pre_tokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    std::size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
        s.replace(pos, from.size(), to);
        pos += to.size();
    }
}

class WordPieceDecoder final : public Decoder {
public:
    WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string& t = tokens[i];
            if (i != 0) {
                if (!prefix_.empty() && t.compare(0, prefix_.size(), prefix_) == 0) {
                    t.erase(0, prefix_.size());
                } else if (prefix_.empty()) {
                    // replacen("", "", 1) leaves the token unchanged
                } else {
                    t.insert(0, " ");
                }
            }
            if (cleanup_) cleanup(t);
        }
    }
    static void cleanup(std::string& s) {
        replace_all(s, " .", ".");
        replace_all(s, " ?", "?");
        replace_all(s, " !", "!");
        replace_all(s, " ,", ",");
        replace_all(s, " ' ", "'");
        replace_all(s, " n't", "n't");
        replace_all(s, " 'm", "'m");
        replace_all(s, " do not", " don't");
        replace_all(s, " 's", "'s");
        replace_all(s, " 've", "'ve");
        replace_all(s, " 're", "'re");
    }

private:
    std::string prefix_;
    bool cleanup_;
};

class ByteLevelDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string bytes;
        for (const std::string& t : tokens) {
            std::string mapped;
            bool ok = true;
            std::size_t p = 0;
            while (p < t.size()) {
                std::size_t len;
                const char32_t c = decode_utf8(t, p, &len);
                const int b = unicode_to_byte(c);
                if (b < 0) {
                    ok = false;
                    break;
                }
                mapped.push_back(static_cast<char>(b));
                p += len;
            }
            bytes += ok ? mapped : t;
        }
        tokens.assign(1, sanitize_utf8(bytes));
    }
};

class MetaspaceDecoder final : public Decoder {
public:
    MetaspaceDecoder(std::string replacement, bool prepend) : replacement_(std::move(replacement)), prepend_(prepend) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string out;
            const std::string& t = tokens[i];
            std::size_t p = 0;
            while (p < t.size()) {
                if (t.compare(p, replacement_.size(), replacement_) == 0) {
                    if (!(i == 0 && prepend_)) out.push_back(' ');
                    p += replacement_.size();
                } else {
                    out.push_back(t[p]);
                    ++p;
                }
            }
            tokens[i] = std::move(out);
        }
    }

private:
    std::string replacement_;
    bool prepend_;
};

class ByteFallbackDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        std::string pending;
        std::size_t pending_n = 0;
        auto flush = [&] {
            if (pending_n == 0) return;
            if (is_valid_utf8(pending)) {
                out.push_back(pending);
            } else {
                for (std::size_t k = 0; k < pending_n; ++k) out.emplace_back("\xEF\xBF\xBD");
            }
            pending.clear();
            pending_n = 0;
        };
        for (std::string& t : tokens) {
            int byte = -1;
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
                auto hex = [](char c) -> int {
                    if (c >= '0' && c <= '9') return c - '0';
                    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
                    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
                    return -1;
                };
                const int h = hex(t[3]);
                const int l = hex(t[4]);
                if (h >= 0 && l >= 0) byte = h * 16 + l;
            }
            if (byte >= 0) {
                pending.push_back(static_cast<char>(byte));
                ++pending_n;
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens.swap(out);
    }
};

class FuseDecoder final : public Decoder {
public:
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, all);
    }
};

class StripDecoder final : public Decoder {
public:
    StripDecoder(char32_t content, std::size_t start, std::size_t stop) : content_(content), start_(start), stop_(stop) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::string& t : tokens) {
            std::vector<std::pair<std::size_t, char32_t>> chars;
            std::size_t p = 0;
            while (p < t.size()) {
                std::size_t len;
                chars.emplace_back(p, decode_utf8(t, p, &len));
                p += len;
            }
            std::size_t start_cut = 0;
            for (std::size_t i = 0; i < chars.size() && i < start_; ++i) {
                if (chars[i].second != content_) break;
                start_cut = i + 1;
            }
            std::size_t stop_cut = chars.size();
            for (std::size_t i = 0; i < stop_ && i < chars.size(); ++i) {
                const std::size_t index = chars.size() - i - 1;
                if (chars[index].second != content_) break;
                stop_cut = index;
            }
            if (stop_cut < start_cut) stop_cut = start_cut;
            const std::size_t b = start_cut < chars.size() ? chars[start_cut].first : t.size();
            const std::size_t e = stop_cut < chars.size() ? chars[stop_cut].first : t.size();
            t = t.substr(b, e - b);
        }
    }

private:
    char32_t content_;
    std::size_t start_;
    std::size_t stop_;
};

class ReplaceDecoder final : public Decoder {
public:
    ReplaceDecoder(std::string literal, std::unique_ptr<Regex> regex, std::string content)
        : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::string& t : tokens) {
            if (!regex_) {
                replace_all(t, literal_, content_);
                continue;
            }
            std::vector<std::pair<std::uint32_t, std::uint32_t>> found;
            regex_->find_all(t, found);
            std::string out;
            std::uint32_t prev = 0;
            for (const auto& [s, e] : found) {
                out.append(t, prev, s - prev);
                out += content_;
                prev = e;
            }
            out.append(t, prev, std::string::npos);
            t = std::move(out);
        }
    }

private:
    std::string literal_;
    std::unique_ptr<Regex> regex_;
    std::string content_;
};

class BpeDecoder final : public Decoder {
public:
    explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
        }
    }

private:
    std::string suffix_;
};

class SequenceDecoder final : public Decoder {
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> items) : items_(std::move(items)) {}
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (const auto& d : items_) d->decode_chain(tokens);
    }

private:
    std::vector<std::unique_ptr<Decoder>> items_;
};

char32_t one_char(const std::string& s, const char* field, const std::string& where) {
    std::size_t len = 0;
    WINNOW_CHECK(!s.empty() && (decode_utf8(s, 0, &len), len == s.size()), Errc::Corrupt,
                 "{}: field '{}' must be one character", where, field);
    return decode_utf8(s, 0, &len);
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const Json& j, const std::string& where) {
    if (j.is_null()) return nullptr;
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: expected an object", where);
    const std::string type = json_get<std::string>(j, "type", where);
    const std::string here = where + " (" + type + ")";
    if (type == "WordPiece") {
        return std::make_unique<WordPieceDecoder>(json_get_or<std::string>(j, "prefix", "##", here),
                                                  json_get_or<bool>(j, "cleanup", true, here));
    }
    if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
    if (type == "Metaspace") {
        const std::string rep = json_get_or<std::string>(j, "replacement", "\xE2\x96\x81", here);
        one_char(rep, "replacement", here);
        bool prepend = true;
        if (auto it = j.find("prepend_scheme"); it != j.end() && it->is_string()) {
            prepend = it->get<std::string>() != "never";
        }
        if (auto it = j.find("add_prefix_space"); it != j.end() && it->is_boolean() && !it->get<bool>()) {
            prepend = false;
        }
        return std::make_unique<MetaspaceDecoder>(rep, prepend);
    }
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse") return std::make_unique<FuseDecoder>();
    if (type == "Strip") {
        const std::string content = json_get<std::string>(j, "content", here);
        return std::make_unique<StripDecoder>(one_char(content, "content", here),
                                              json_get_or<std::size_t>(j, "start", 0, here),
                                              json_get_or<std::size_t>(j, "stop", 0, here));
    }
    if (type == "Replace") {
        auto it = j.find("pattern");
        WINNOW_CHECK(it != j.end(), Errc::Corrupt, "{}: missing field 'pattern'", here);
        std::string literal;
        std::unique_ptr<Regex> regex;
        read_pattern(*it, here, literal, regex);
        return std::make_unique<ReplaceDecoder>(std::move(literal), std::move(regex),
                                                json_get<std::string>(j, "content", here));
    }
    if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(json_get_or<std::string>(j, "suffix", "</w>", here));
    if (type == "Sequence") {
        return std::make_unique<SequenceDecoder>(
            read_sequence<Decoder>(j, "decoders", where, here, make_decoder));
    }
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported decoder type '{}'", where, type);
}

}  // namespace winnow::tok
