#include "infer/finite_check.h"

#include <cmath>

#include "winnow/error.h"

namespace winnow {

void check_scores_finite(std::span<const PairScore> scores, std::string_view model) {
    for (std::size_t i = 0; i < scores.size(); ++i) {
        // An infinite logit still orders (sigmoid gives 0 or 1); NaN does not.
        WINNOW_CHECK(!std::isnan(scores[i].raw_score) && !std::isnan(scores[i].score), Errc::Corrupt,
                     "model {}: pair {} scored NaN (the model's weights hold NaN or its computation overflowed); "
                     "refusing to rank with it",
                     model, i);
    }
}

void check_embeddings_finite(const std::vector<std::vector<float>>& vectors, std::string_view model) {
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        for (float x : vectors[i]) {
            WINNOW_CHECK(std::isfinite(x), Errc::Corrupt,
                         "model {}: text {} embedded to a vector holding {} (the model's weights hold NaN or its "
                         "computation overflowed)",
                         model, i, x);
        }
    }
}

}  // namespace winnow
