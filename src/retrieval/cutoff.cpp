#include "retrieval/cutoff.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

namespace winnow::retrieval {
namespace {

std::unordered_map<std::string, double> word_counts(std::string_view s) {
    std::unordered_map<std::string, double> counts;
    std::string word;
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c >= 0x80) {
            word += static_cast<char>(std::tolower(c));
        } else if (!word.empty()) {
            counts[word] += 1;
            word.clear();
        }
    }
    if (!word.empty()) counts[word] += 1;
    return counts;
}

double cosine(const std::unordered_map<std::string, double>& a, const std::unordered_map<std::string, double>& b) {
    double dot = 0, na = 0, nb = 0;
    for (const auto& [w, x] : a) {
        na += x * x;
        auto it = b.find(w);
        if (it != b.end()) dot += x * it->second;
    }
    for (const auto& [w, y] : b) nb += y * y;
    if (na == 0 || nb == 0) return 0.0;
    return dot / std::sqrt(na * nb);
}

void cut_from(std::vector<PipelineHit>& hits, std::size_t from, Decision decision, const std::string& reason,
              std::vector<PipelineHit>& cut) {
    for (std::size_t i = from; i < hits.size(); ++i) {
        hits[i].decision = decision;
        hits[i].reason = reason;
        hits[i].final_rank = 0;
        cut.push_back(std::move(hits[i]));
    }
    hits.resize(std::min(from, hits.size()));
}

}  // namespace

float effective_score(const PipelineHit& hit) noexcept {
    return hit.rerank_score ? *hit.rerank_score : hit.first_stage_score;
}

double text_similarity(std::string_view a, std::string_view b) { return cosine(word_counts(a), word_counts(b)); }

void apply_diversity(std::vector<PipelineHit>& hits, const DiversityConfig& config, std::size_t top_n,
                     std::vector<PipelineHit>& cut) {
    if (config.per_doc > 0) {
        std::map<std::string, std::size_t> seen;
        std::vector<PipelineHit> kept;
        for (auto& h : hits) {
            if (++seen[h.candidate.doc_id] > config.per_doc) {
                h.decision = Decision::CutPerDoc;
                h.reason = fmt::format("cut: per_doc={} (document {} already has {} better chunks)", config.per_doc,
                                       h.candidate.doc_id, config.per_doc);
                cut.push_back(std::move(h));
            } else {
                kept.push_back(std::move(h));
            }
        }
        hits = std::move(kept);
    }
    if (config.mmr > 0.0 && config.mmr < 1.0 && hits.size() > 1) {
        // Maximal marginal relevance: relevance is the normalized score when scores lie in [0, 1]
        // (else min-max normalized over the list), redundancy the largest similarity to an
        // already selected hit.
        float lo = effective_score(hits.front()), hi = lo;
        for (const auto& h : hits) {
            lo = std::min(lo, effective_score(h));
            hi = std::max(hi, effective_score(h));
        }
        const bool unit_scores = lo >= 0.0f && hi <= 1.0f;
        std::vector<std::unordered_map<std::string, double>> vecs;
        vecs.reserve(hits.size());
        for (const auto& h : hits) vecs.push_back(word_counts(h.candidate.text));
        std::vector<std::size_t> order;
        std::vector<bool> used(hits.size(), false);
        std::vector<double> max_sim(hits.size(), 0.0);
        for (std::size_t step = 0; step < hits.size(); ++step) {
            std::size_t best = hits.size();
            double best_value = -1e300;
            for (std::size_t i = 0; i < hits.size(); ++i) {
                if (used[i]) continue;
                const double rel = unit_scores ? effective_score(hits[i]) : hi > lo ? (effective_score(hits[i]) - lo) / (hi - lo) : 1.0;
                const double value = config.mmr * rel - (1.0 - config.mmr) * max_sim[i];
                if (value > best_value) {
                    best_value = value;
                    best = i;
                }
            }
            used[best] = true;
            order.push_back(best);
            for (std::size_t i = 0; i < hits.size(); ++i) {
                if (!used[i]) max_sim[i] = std::max(max_sim[i], cosine(vecs[i], vecs[best]));
            }
        }
        std::vector<PipelineHit> reordered;
        for (std::size_t pos = 0; pos < order.size(); ++pos) {
            PipelineHit h = std::move(hits[order[pos]]);
            // Moved below top_n by diversity although relevance alone would have kept it.
            if (top_n > 0 && order[pos] < top_n && pos >= top_n) {
                h.decision = Decision::CutMmr;
                h.reason = fmt::format("cut: mmr={} moved it from rank {} to {} (similar to better hits), below top_n={}",
                                       config.mmr, order[pos] + 1, pos + 1, top_n);
            }
            reordered.push_back(std::move(h));
        }
        hits = std::move(reordered);
    }
}

void apply_cutoff(std::vector<PipelineHit>& hits, const CutoffConfig& config, std::vector<PipelineHit>& cut) {
    const std::size_t min_keep = config.min_keep;
    if (config.min_score) {
        // After MMR the list is not sorted by score: cut every hit below the threshold.
        std::vector<PipelineHit> kept;
        std::size_t n_kept = 0;
        for (auto& h : hits) {
            if (effective_score(h) >= *config.min_score || n_kept < min_keep) {
                ++n_kept;
                kept.push_back(std::move(h));
            } else {
                h.decision = Decision::CutMinScore;
                h.reason = fmt::format("cut: score {:.4f} < min_score {}", effective_score(h), *config.min_score);
                cut.push_back(std::move(h));
            }
        }
        hits = std::move(kept);
    }
    if (config.score_gap && hits.size() > std::max<std::size_t>(min_keep, 1)) {
        // Autocut: the largest drop between consecutive scores, if it is a large enough share of
        // the spread of the list, ends the kept set.
        const float top = effective_score(hits.front());
        const float bottom = effective_score(hits.back());
        const double spread = static_cast<double>(top) - bottom;
        std::size_t best = 0;
        double best_gap = -1.0;
        for (std::size_t i = std::max<std::size_t>(min_keep, 1) - 1; i + 1 < hits.size(); ++i) {
            const double gap = static_cast<double>(effective_score(hits[i])) - effective_score(hits[i + 1]);
            if (gap > best_gap) {
                best_gap = gap;
                best = i;
            }
        }
        if (spread > 0 && best_gap / spread >= *config.score_gap) {
            const std::string reason =
                fmt::format("cut: score_gap={} (drop of {:.4f} after rank {} is {:.0f}% of the score spread {:.4f})",
                            *config.score_gap, best_gap, best + 1, 100.0 * best_gap / spread, spread);
            cut_from(hits, best + 1, Decision::CutScoreGap, reason, cut);
        }
    }
    if (config.top_n > 0 && hits.size() > config.top_n) {
        std::vector<PipelineHit> rest(std::make_move_iterator(hits.begin() + static_cast<std::ptrdiff_t>(config.top_n)),
                                      std::make_move_iterator(hits.end()));
        hits.resize(config.top_n);
        for (auto& h : rest) {
            if (h.decision != Decision::CutMmr) {
                h.decision = Decision::CutTopN;
                h.reason = fmt::format("cut: below top_n={}", config.top_n);
            }
            cut.push_back(std::move(h));
        }
    }
    if (config.tokens > 0) {
        std::size_t used = 0;
        std::size_t i = 0;
        for (; i < hits.size(); ++i) {
            if (used + hits[i].n_tokens > config.tokens && i >= min_keep) break;
            used += hits[i].n_tokens;
        }
        if (i < hits.size()) {
            const std::string reason = fmt::format("cut: token budget {} (the {} kept chunks use {} tokens)", config.tokens, i, used);
            cut_from(hits, i, Decision::CutTokens, reason, cut);
        }
    }
}

void decide(std::vector<PipelineHit>& hits, const DiversityConfig& diversity, const CutoffConfig& cutoff,
            std::vector<PipelineHit>& cut) {
    apply_diversity(hits, diversity, cutoff.top_n, cut);
    apply_cutoff(hits, cutoff, cut);
    for (std::size_t i = 0; i < hits.size(); ++i) {
        auto& h = hits[i];
        h.final_rank = i + 1;
        h.decision = Decision::Kept;
        if (h.rerank_score) {
            h.reason = fmt::format("kept: rank {} by rerank score {:.4f} (first stage rank {})", i + 1, *h.rerank_score,
                                   h.first_stage_rank);
        } else {
            h.reason = fmt::format("kept: rank {} by first-stage score {:.4f}", i + 1, h.first_stage_score);
        }
    }
}

}  // namespace winnow::retrieval
