// The Reranker facade: precision names, score/rank over one query, and the load factory.
#include "winnow/reranker.h"

#include <algorithm>
#include <numeric>

#include "infer/cross_encoder.h"
#include "infer/llm_reranker.h"
#include "infer/max_length.h"
#include "models/model_path.h"
#include "winnow/error.h"

namespace winnow {

std::shared_ptr<Reranker> Reranker::load(const std::string& model, const ModelOptions& options) {
    const std::string folder = resolve_model_path(model);
    std::shared_ptr<Reranker> reranker;
    if (options.kind == ModelKind::Llm || (options.kind == ModelKind::Auto && is_llm_model_folder(folder))) {
        reranker = std::make_shared<LlmReranker>(folder, options);
    } else {
        reranker = std::make_shared<CrossEncoder>(folder, options);
    }
    warn_if_max_length_capped(folder, options.max_length, reranker->max_length());
    return reranker;
}

std::vector<PairScore> Reranker::score(std::string_view query, std::span<const std::string> docs) const {
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.reserve(docs.size());
    for (const auto& doc : docs) pairs.emplace_back(std::string(query), doc);
    return score_pairs(pairs);
}

std::vector<RankedDocument> Reranker::rank(std::string_view query, std::span<const std::string> docs,
                                           std::size_t top_n) const {
    const auto scores = score(query, docs);
    std::vector<RankedDocument> ranked(scores.size());
    for (std::size_t i = 0; i < scores.size(); ++i) ranked[i] = {i, scores[i].score, scores[i].raw_score};
    std::stable_sort(ranked.begin(), ranked.end(), [](const RankedDocument& a, const RankedDocument& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.index < b.index;
    });
    if (top_n > 0 && ranked.size() > top_n) ranked.resize(top_n);
    return ranked;
}

}  // namespace winnow
