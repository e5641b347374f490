#include <limits>
#include <memory>

#include "tokenizer/models/model.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {

void read_vocab_object(const Json& j, const std::string& where, Vocab& vocab);

namespace {

constexpr double kUnkPenalty = 10.0;

class Unigram final : public Model {
public:
    Unigram(const Json& j, const std::string& where) : where_(where) {
        auto v = j.find("vocab");
        WINNOW_CHECK(v != j.end() && v->is_array(), Errc::Corrupt, "{}: field 'vocab' must be an array", where);
        scores_.reserve(v->size());
        double min_score = std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < v->size(); ++i) {
            const Json& e = (*v)[i];
            WINNOW_CHECK(e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_number(), Errc::Corrupt,
                         "{}: vocab[{}] must be [piece, score]", where, i);
            const auto& piece = e[0].get_ref<const std::string&>();
            vocab_.add(piece, static_cast<std::int32_t>(i));
            const double score = e[1].get<double>();
            scores_.push_back(score);
            min_score = std::min(min_score, score);
        }
        if (auto it = j.find("unk_id"); it != j.end() && !it->is_null()) {
            WINNOW_CHECK(it->is_number_integer(), Errc::Corrupt, "{}: field 'unk_id' must be an integer", where);
            const auto u = it->get<long long>();
            WINNOW_CHECK(!scores_.empty(), Errc::Corrupt, "{}: empty vocabulary", where);
            WINNOW_CHECK(u >= 0 && static_cast<std::size_t>(u) < scores_.size(), Errc::Corrupt,
                         "{}: unk_id {} is not in the vocabulary", where, u);
            unk_id_ = static_cast<std::int32_t>(u);
        }
        byte_fallback_ = json_get_or<bool>(j, "byte_fallback", false, where);
        unk_score_ = min_score - kUnkPenalty;
        max_bytes_ = vocab_.max_token_bytes();
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof(name), "<0x%02X>", b);
            auto id = vocab_.find(name);
            byte_ids_[b] = id ? *id : -1;
        }
    }

    void tokenize(std::string_view s, std::vector<Token>& out) const override {
        if (s.empty()) return;
        struct Node {
            double score;
            std::int32_t id;
            std::int32_t starts_at;  // -1: unset
        };
        thread_local std::vector<Node> best;
        const std::size_t n = s.size();
        best.assign(n + 1, Node{0.0, 0, -1});
        std::size_t start = 0;
        while (start < n) {
            const double base = best[start].score;
            const std::size_t mblen = std::min(utf8_seq_len(static_cast<unsigned char>(s[start])), n - start);
            bool has_single = false;
            const std::size_t limit = std::min(n, start + max_bytes_);
            for (std::size_t end = start + 1; end <= limit; ++end) {
                const std::int32_t* id = vocab_.find_ptr(s.substr(start, end - start));
                if (id == nullptr) continue;
                Node& target = best[end];
                const double cand = scores_[static_cast<std::size_t>(*id)] + base;
                if (target.starts_at < 0 || cand > target.score) {
                    target.score = cand;
                    target.starts_at = static_cast<std::int32_t>(start);
                    target.id = *id;
                }
                if (end - start == mblen) has_single = true;
            }
            if (!has_single) {
                WINNOW_CHECK(unk_id_ >= 0, Errc::Corrupt, "{}: the text needs an unknown piece but 'unk_id' is null",
                             where_);
                Node& target = best[start + mblen];
                const double cand = unk_score_ + base;
                if (target.starts_at < 0 || cand > target.score) {
                    target.score = cand;
                    target.starts_at = static_cast<std::int32_t>(start);
                    target.id = unk_id_;
                }
            }
            start += mblen;
        }
        // Backtrack; consecutive unknown pieces fuse into one.
        thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> pieces;  // reversed
        pieces.clear();
        std::size_t end = n;
        std::size_t unk_end = 0;
        bool in_unk = false;
        while (end > 0) {
            const Node& node = best[end];
            const auto st = static_cast<std::size_t>(node.starts_at);
            if (node.id == unk_id_) {
                if (!in_unk) {
                    unk_end = end;
                    in_unk = true;
                }
            } else {
                if (in_unk) {
                    pieces.emplace_back(static_cast<std::uint32_t>(end), static_cast<std::uint32_t>(unk_end));
                    in_unk = false;
                }
                pieces.emplace_back(static_cast<std::uint32_t>(st), static_cast<std::uint32_t>(end));
            }
            end = st;
        }
        if (in_unk) pieces.emplace_back(0u, static_cast<std::uint32_t>(unk_end));
        for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
            const auto [a, b] = *it;
            const std::string_view piece = s.substr(a, b - a);
            if (const std::int32_t* id = vocab_.find_ptr(piece)) {
                out.push_back(Token{*id, a, b, true});
                continue;
            }
            if (byte_fallback_) {
                bool all = true;
                for (unsigned char c : piece) all &= byte_ids_[c] >= 0;
                if (all) {
                    for (unsigned char c : piece) out.push_back(Token{byte_ids_[c], a, b});
                    continue;
                }
            }
            WINNOW_CHECK(unk_id_ >= 0, Errc::Corrupt, "{}: 'unk_id' is null", where_);
            out.push_back(Token{unk_id_, a, b, true});
        }
        trim_scratch(best);
        trim_scratch(pieces);
    }

private:
    std::string where_;
    std::vector<double> scores_;
    std::int32_t unk_id_ = -1;
    bool byte_fallback_ = false;
    double unk_score_ = 0.0;
    std::size_t max_bytes_ = 0;
    std::int32_t byte_ids_[256];
};

class WordLevel final : public Model {
public:
    WordLevel(const Json& j, const std::string& where) : where_(where) {
        auto v = j.find("vocab");
        WINNOW_CHECK(v != j.end(), Errc::Corrupt, "{}: missing field 'vocab'", where);
        read_vocab_object(*v, where, vocab_);
        unk_token_ = json_get_or<std::string>(j, "unk_token", "<unk>", where);
    }
    void tokenize(std::string_view word, std::vector<Token>& out) const override {
        if (const std::int32_t* id = vocab_.find_ptr(word)) {
            out.push_back(Token{*id, 0, static_cast<std::uint32_t>(word.size())});
            return;
        }
        auto unk = vocab_.find(unk_token_);
        WINNOW_CHECK(unk.has_value(), Errc::Corrupt, "{}: unk_token '{}' is not in the vocab", where_, unk_token_);
        out.push_back(Token{*unk, 0, static_cast<std::uint32_t>(word.size())});
    }

private:
    std::string where_;
    std::string unk_token_;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(const Json& j, const std::string& where);
std::unique_ptr<Model> make_bpe(const Json& j, const std::string& where);

void read_vocab_object(const Json& j, const std::string& where, Vocab& vocab) {
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: field 'vocab' must be an object of token -> id", where);
    for (const auto& [tok, id] : j.items()) {
        WINNOW_CHECK(id.is_number_integer(), Errc::Corrupt, "{}: vocab entry '{}' must have an integer id", where, tok);
        const auto v = id.get<long long>();
        WINNOW_CHECK(v >= 0 && v < (1LL << 24), Errc::Corrupt, "{}: vocab entry '{}' has an out-of-range id {}", where,
                     tok, v);
        vocab.add(tok, static_cast<std::int32_t>(v));
    }
}

std::unique_ptr<Model> make_model(const Json& j, const std::string& where) {
    WINNOW_CHECK(j.is_object(), Errc::Corrupt, "{}: expected an object", where);
    std::string type;
    if (auto it = j.find("type"); it != j.end()) {
        WINNOW_CHECK(it->is_string(), Errc::Corrupt, "{}: field 'type' must be a string", where);
        type = it->get<std::string>();
    } else if (j.contains("merges")) {
        type = "BPE";
    } else if (j.contains("max_input_chars_per_word") || j.contains("continuing_subword_prefix")) {
        type = "WordPiece";
    } else if (j.contains("vocab") && j["vocab"].is_array()) {
        type = "Unigram";
    } else if (j.contains("vocab")) {
        type = "WordLevel";
    } else {
        WINNOW_THROW(Errc::Corrupt, "{}: model has no 'type' and no recognizable fields", where);
    }
    const std::string here = where + " (" + type + ")";
    if (type == "WordPiece") return make_wordpiece(j, here);
    if (type == "BPE") return make_bpe(j, here);
    if (type == "Unigram") return std::make_unique<Unigram>(j, here);
    if (type == "WordLevel") return std::make_unique<WordLevel>(j, here);
    WINNOW_THROW(Errc::Unsupported, "{}: unsupported model type '{}'", where, type);
}

}  // namespace winnow::tok
