// The rerank stage: the scorer registry and the built-in cross-encoder scorer (truncate, or maxp:
// overlapping windows scored separately and max-pooled).
#include <algorithm>
#include <map>
#include <mutex>

#include "winnow/error.h"
#include "winnow/pipeline.h"
#include "winnow/reranker.h"

namespace winnow {
namespace {

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}
std::map<std::string, ScorerFactory>& registry() {
    static std::map<std::string, ScorerFactory> r;
    return r;
}

// Byte offset of each code point start, plus the end (Encoding offsets are in code points).
std::vector<std::uint32_t> code_point_bytes(std::string_view text) {
    std::vector<std::uint32_t> out;
    out.reserve(text.size() + 1);
    for (std::uint32_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) out.push_back(i);
    }
    out.push_back(static_cast<std::uint32_t>(text.size()));
    return out;
}

class CrossEncoderScorer final : public CandidateScorer {
public:
    CrossEncoderScorer(std::shared_ptr<const Reranker> reranker, PairScoreFn score_pairs)
        : reranker_(std::move(reranker)), score_pairs_(std::move(score_pairs)) {}

    std::vector<RerankScore> score(std::string_view query, const std::vector<Candidate>& candidates,
                                   const RerankConfig& config) const override {
        std::vector<RerankScore> out(candidates.size());
        if (candidates.empty()) return out;
        // One list of texts for all candidates (windows included), scored against the query in
        // one call: the reranker (or the scheduler behind score_pairs_) batches them.
        std::vector<std::string> texts;
        std::vector<std::size_t> owner;
        if (config.long_doc == LongDocMode::Truncate) {
            for (std::size_t i = 0; i < candidates.size(); ++i) {
                texts.push_back(candidates[i].text);
                owner.push_back(i);
            }
        } else {
            const Tokenizer& tok = reranker_->tokenizer();
            const std::size_t max_len = config.max_length > 0 ? std::min(config.max_length, reranker_->max_length())
                                                              : reranker_->max_length();
            const std::size_t q_tokens = tok.encode(query, false).size();
            const std::size_t special = tok.num_special_tokens(true);
            WINNOW_CHECK(max_len > q_tokens + special + 12, Errc::InvalidArgument,
                         "rerank: the query ({} tokens) leaves no room for the document in {} tokens", q_tokens, max_len);
            // A window's text is tokenized again with the query; leave a few tokens for word
            // pieces that split differently at the window's edges.
            const std::size_t margin = std::max<std::size_t>(2, (max_len - q_tokens - special) / 16);
            const std::size_t window = max_len - q_tokens - special - margin;
            const std::size_t step = window > config.stride ? window - config.stride : window;
            for (std::size_t i = 0; i < candidates.size(); ++i) {
                const std::string& text = candidates[i].text;
                const Encoding enc = tok.encode(text, false);
                if (enc.size() <= window) {
                    texts.push_back(text);
                    owner.push_back(i);
                    continue;
                }
                const auto cp = code_point_bytes(text);
                std::uint32_t n = 0;
                for (std::size_t start = 0; start < enc.size(); start += step) {
                    if (n == config.max_windows) {
                        out[i].truncated = true;
                        break;
                    }
                    const std::size_t end = std::min(enc.size(), start + window);
                    const auto b = cp[std::min<std::size_t>(enc.offsets[start].first, cp.size() - 1)];
                    const auto e = cp[std::min<std::size_t>(enc.offsets[end - 1].second, cp.size() - 1)];
                    texts.push_back(text.substr(b, e > b ? e - b : 0));
                    owner.push_back(i);
                    ++n;
                    if (end == enc.size()) break;
                }
                out[i].n_windows = n;
            }
        }
        // The stage's max_length: maxp windows are cut to fit it already; truncated pairs are cut
        // to it here (the model's own limit applies when it is 0 or larger).
        const std::size_t max_length =
            config.max_length > 0 && config.max_length < reranker_->max_length() ? config.max_length : 0;
        const std::vector<PairScore> scores =
            score_pairs_ ? score_pairs_(query, texts, max_length) : score_with_model(query, texts, max_length);
        WINNOW_CHECK(scores.size() == texts.size(), Errc::Internal, "rerank: {} scores for {} pairs", scores.size(),
                     texts.size());
        std::vector<bool> seen(candidates.size(), false);
        for (std::size_t p = 0; p < texts.size(); ++p) {
            RerankScore& r = out[owner[p]];
            if (!seen[owner[p]] || scores[p].raw_score > r.raw) r.raw = scores[p].raw_score;
            seen[owner[p]] = true;
            r.truncated = r.truncated || scores[p].truncated;
            r.n_tokens += scores[p].n_tokens;
        }
        return out;
    }

    std::string name() const override { return reranker_->name(); }

private:
    std::vector<PairScore> score_with_model(std::string_view query, const std::vector<std::string>& texts,
                                            std::size_t max_length) const {
        if (max_length > 0) {
            // A shorter limit than the loaded model's: tokenize each pair truncated to it (longest
            // first, as the model truncates at its own limit) and score the token ids.
            const Tokenizer& tok = reranker_->tokenizer();
            WINNOW_CHECK(tok.num_special_tokens(true) > 0, Errc::Unsupported,
                         "rerank: max_length={} below the model's {} needs a cross-encoder; {} formats its own prompt",
                         max_length, reranker_->max_length(), reranker_->name());
            TruncationOptions truncation;
            truncation.max_length = max_length;
            truncation.strategy = TruncationStrategy::LongestFirst;
            std::vector<TokenizedPair> pairs;
            std::vector<std::pair<bool, std::uint32_t>> info;
            pairs.reserve(texts.size());
            for (const auto& t : texts) {
                Encoding e = tok.encode_pair(query, t, truncation);
                info.emplace_back(e.truncated, static_cast<std::uint32_t>(e.ids.size()));
                pairs.push_back({std::move(e.ids), std::move(e.type_ids)});
            }
            std::vector<PairScore> scores = reranker_->score_tokenized(pairs);
            for (std::size_t i = 0; i < scores.size() && i < info.size(); ++i) {
                scores[i].truncated = scores[i].truncated || info[i].first;
                scores[i].n_tokens = info[i].second;
            }
            return scores;
        }
        std::vector<std::pair<std::string, std::string>> pairs;
        pairs.reserve(texts.size());
        const std::string q(query);
        for (const auto& t : texts) pairs.emplace_back(q, t);
        return reranker_->score_pairs(pairs);
    }

    std::shared_ptr<const Reranker> reranker_;
    PairScoreFn score_pairs_;
};

}  // namespace

void register_scorer(const std::string& stage_name, ScorerFactory factory) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    registry()[stage_name] = std::move(factory);
}

bool has_scorer(const std::string& stage_name) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    return registry().count(stage_name) > 0;
}

ScorerFactory find_scorer_factory(const std::string& stage_name) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(stage_name);
    return it == registry().end() ? ScorerFactory() : it->second;
}

std::shared_ptr<const CandidateScorer> make_cross_encoder_scorer(std::shared_ptr<const Reranker> reranker,
                                                                 PairScoreFn score_pairs) {
    WINNOW_CHECK(reranker != nullptr, Errc::InvalidArgument, "rerank: no model");
    return std::make_shared<CrossEncoderScorer>(std::move(reranker), std::move(score_pairs));
}

}  // namespace winnow
