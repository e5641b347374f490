#include "index/fusion.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "winnow/error.h"

namespace winnow::index {
namespace {

std::vector<Candidate> sorted_top(const std::unordered_map<std::int64_t, double>& scores, std::size_t top_k) {
    std::vector<Candidate> out;
    out.reserve(scores.size());
    for (const auto& [id, s] : scores) out.push_back({id, static_cast<float>(s)});
    auto better = [](const Candidate& a, const Candidate& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.chunk_id < b.chunk_id;
    };
    if (top_k < out.size()) {
        std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(top_k), out.end(), better);
        out.resize(top_k);
    } else {
        std::sort(out.begin(), out.end(), better);
    }
    return out;
}

}  // namespace

FusionMethod parse_fusion_method(std::string_view name) {
    if (name == "rrf") return FusionMethod::Rrf;
    if (name == "weighted") return FusionMethod::Weighted;
    WINNOW_THROW(Errc::InvalidArgument, "unknown fusion method '{}' (expected rrf or weighted)", name);
}

std::string_view fusion_method_name(FusionMethod method) noexcept {
    return method == FusionMethod::Rrf ? "rrf" : "weighted";
}

std::vector<Candidate> reciprocal_rank_fusion(std::span<const std::vector<Candidate>> lists, double k,
                                              std::size_t top_k) {
    std::unordered_map<std::int64_t, double> scores;
    for (const auto& list : lists) {
        for (std::size_t i = 0; i < list.size(); ++i) {
            scores[list[i].chunk_id] += 1.0 / (k + static_cast<double>(i + 1));
        }
    }
    return sorted_top(scores, top_k);
}

std::vector<Candidate> weighted_score_fusion(std::span<const std::vector<Candidate>> lists,
                                             std::span<const double> weights, std::size_t top_k) {
    WINNOW_CHECK(lists.size() == weights.size(), Errc::InvalidArgument, "weighted fusion: {} lists but {} weights",
                 lists.size(), weights.size());
    std::unordered_map<std::int64_t, double> scores;
    for (std::size_t l = 0; l < lists.size(); ++l) {
        const auto& list = lists[l];
        if (list.empty()) continue;
        double lo = std::numeric_limits<double>::infinity();
        double hi = -lo;
        for (const auto& c : list) {
            lo = std::min(lo, static_cast<double>(c.score));
            hi = std::max(hi, static_cast<double>(c.score));
        }
        const double span = hi - lo;
        for (const auto& c : list) {
            const double norm = span > 0 ? (static_cast<double>(c.score) - lo) / span : 1.0;
            scores[c.chunk_id] += weights[l] * norm;
        }
    }
    return sorted_top(scores, top_k);
}

}  // namespace winnow::index
