// The decisions after reranking: diversity (per-document cap, MMR) and the cutoff policies
// (min_score, score_gap, top_n, token budget). They operate on hits in ranked order, move cut hits
// to `cut` with a Decision and a reason, and leave kept hits in final order with final_rank set.
#pragma once

#include <string_view>
#include <vector>

#include "winnow/pipeline.h"

namespace winnow::retrieval {

// The score cutoffs compare: the normalized rerank score, or the first-stage score without a rerank.
float effective_score(const PipelineHit& hit) noexcept;

// Cosine similarity of the two texts' lowercase word-count vectors (MMR's redundancy measure).
double text_similarity(std::string_view a, std::string_view b);

void apply_diversity(std::vector<PipelineHit>& hits, const DiversityConfig& config, std::size_t top_n,
                     std::vector<PipelineHit>& cut);
void apply_cutoff(std::vector<PipelineHit>& hits, const CutoffConfig& config, std::vector<PipelineHit>& cut);

// Runs both and numbers the kept hits (final_rank) and writes their "kept" reasons.
void decide(std::vector<PipelineHit>& hits, const DiversityConfig& diversity, const CutoffConfig& cutoff,
            std::vector<PipelineHit>& cut);

}  // namespace winnow::retrieval
