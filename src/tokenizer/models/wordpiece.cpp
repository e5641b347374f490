#include <memory>

#include "tokenizer/models/model.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {

std::unique_ptr<Model> make_wordpiece(const Json& j, const std::string& where);
void read_vocab_object(const Json& j, const std::string& where, Vocab& vocab);

namespace {

class WordPiece final : public Model {
public:
    WordPiece(const Json& j, const std::string& where) {
        auto it = j.find("vocab");
        WINNOW_CHECK(it != j.end(), Errc::Corrupt, "{}: missing field 'vocab'", where);
        read_vocab_object(*it, where, vocab_);
        unk_token_ = json_get_or<std::string>(j, "unk_token", "[UNK]", where);
        prefix_ = json_get_or<std::string>(j, "continuing_subword_prefix", "##", where);
        max_chars_ = json_get_or<std::size_t>(j, "max_input_chars_per_word", 100, where);
        // Continuation pieces keyed without their prefix: no string building per lookup.
        for (const auto& [tok, id] : it->items()) {
            if (!prefix_.empty() && tok.size() >= prefix_.size() && tok.compare(0, prefix_.size(), prefix_) == 0) {
                cont_.set(std::string_view(tok).substr(prefix_.size()), vocab_.find(tok).value_or(id));
            }
        }
        if (prefix_.empty()) {
            for (const auto& [tok, id] : it->items()) cont_.set(tok, vocab_.find(tok).value_or(id));
        }
        max_bytes_ = vocab_.max_token_bytes();
        if (auto id = vocab_.find(unk_token_)) unk_id_ = *id;
        where_ = where;
    }

    void tokenize(std::string_view word, std::vector<Token>& out) const override {
        const std::size_t n = word.size();
        if (n > max_chars_) {  // cheap test first: chars <= bytes
            std::size_t chars = 0;
            for (unsigned char c : word) chars += (c & 0xC0) != 0x80;
            if (chars > max_chars_) {
                push_unk(word, out);
                return;
            }
        }
        const std::size_t mark = out.size();
        std::size_t start = 0;
        while (start < n) {
            std::size_t end = std::min(n, start + max_bytes_);
            while (end > start && end < n && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
            const std::int32_t* found = nullptr;
            while (end > start) {
                const std::string_view piece = word.substr(start, end - start);
                found = start == 0 ? vocab_.find_ptr(piece) : cont_.find(piece);
                if (found) break;
                --end;
                while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
            }
            if (!found) {
                out.resize(mark);
                push_unk(word, out);
                return;
            }
            out.push_back(Token{*found, static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end)});
            start = end;
        }
    }

private:
    void push_unk(std::string_view word, std::vector<Token>& out) const {
        WINNOW_CHECK(unk_id_ >= 0, Errc::Corrupt, "{}: unk_token '{}' is not in the vocab", where_, unk_token_);
        out.push_back(Token{unk_id_, 0, static_cast<std::uint32_t>(word.size())});
    }

    StringIdMap cont_;
    std::string unk_token_;
    std::string prefix_;
    std::string where_;
    std::size_t max_chars_ = 100;
    std::size_t max_bytes_ = 0;
    std::int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(const Json& j, const std::string& where) {
    return std::make_unique<WordPiece>(j, where);
}

}  // namespace winnow::tok
