// NaN outputs fail here instead of ranking silently wrong. A model whose weights hold NaN (or whose
// computation overflows) scored pairs NaN; every consumer sorts by score, NaN compares false with
// everything, so the CLI and server returned scores out of order and kept NaN hits. The scorers and
// embedders check their outputs once, so the CLI, server, pipeline and eval all get the error.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "winnow/reranker.h"

namespace winnow {

// Throws Error(Corrupt) naming the model and the first pair whose score or logit is NaN.
void check_scores_finite(std::span<const PairScore> scores, std::string_view model);
// Throws Error(Corrupt) naming the model and the first text whose vector holds a NaN or infinity.
void check_embeddings_finite(const std::vector<std::vector<float>>& vectors, std::string_view model);

}  // namespace winnow
