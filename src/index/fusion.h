// Fusion of ranked candidate lists (hybrid first stage).
//   rrf       score(d) = sum over lists of 1 / (k + rank(d)), rank from 1 (Cormack et al. 2009; k = 60)
//   weighted  score(d) = sum over lists of w_i * (s_i(d) - min_i) / (max_i - min_i); a document absent
//             from a list gets 0 from it; a list whose scores are all equal normalizes to 1
// Output is sorted by fused score descending, ties by lower chunk id.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "winnow/candidate.h"

namespace winnow::index {

FusionMethod parse_fusion_method(std::string_view name);  // "rrf" | "weighted", throws Error
std::string_view fusion_method_name(FusionMethod method) noexcept;

std::vector<Candidate> reciprocal_rank_fusion(std::span<const std::vector<Candidate>> lists, double k,
                                              std::size_t top_k);
std::vector<Candidate> weighted_score_fusion(std::span<const std::vector<Candidate>> lists,
                                             std::span<const double> weights, std::size_t top_k);

}  // namespace winnow::index
