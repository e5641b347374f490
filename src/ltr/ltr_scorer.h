// The `ltr` rerank stage: features of each candidate, then the LambdaMART model's score.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ltr/features.h"
#include "ltr/ltr_model.h"
#include "winnow/pipeline.h"

namespace winnow {
class Embedder;
class Reranker;
}  // namespace winnow

namespace winnow::ltr {

// The dense-cosine and cross-encoder signals for candidates (empty vectors for absent models).
ExternalSignals compute_signals(std::string_view query, const std::vector<Candidate>& candidates,
                                const Embedder* embedder, const Reranker* reranker);

class LtrScorer final : public CandidateScorer {
public:
    LtrScorer(std::shared_ptr<const LtrModel> model, std::shared_ptr<const CorpusStats> stats,
              std::shared_ptr<const Embedder> embedder = nullptr, std::shared_ptr<const Reranker> reranker = nullptr);

    std::vector<RerankScore> score(std::string_view query, const std::vector<Candidate>& candidates,
                                   const RerankConfig& config) const override;
    std::string name() const override;

private:
    std::shared_ptr<const LtrModel> model_;
    FeatureExtractor extractor_;
    std::shared_ptr<const Embedder> embedder_;
    std::shared_ptr<const Reranker> reranker_;
};

// Builds the scorer a RerankConfig of kind "ltr" describes (model, index, embed_model, rerank_model).
std::shared_ptr<const CandidateScorer> make_ltr_scorer(const RerankConfig& config);

}  // namespace winnow::ltr
