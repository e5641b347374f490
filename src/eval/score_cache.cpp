#include "eval/score_cache.h"

#include <fmt/format.h>

#include <chrono>
#include <utility>
#include <vector>

#include "winnow/error.h"

namespace winnow::eval {

class RerankScoreCache::Scorer final : public CandidateScorer {
public:
    Scorer(RerankScoreCache& cache, std::shared_ptr<const CandidateScorer> inner, std::shared_ptr<CachedScoring> stats)
        : cache_(cache), inner_(std::move(inner)), stats_(std::move(stats)) {}

    std::string name() const override { return inner_->name(); }
    // It wraps the scorer the stage's own configuration picked (Pipeline::scorer_for), so it serves that stage.
    bool serves(const RerankConfig&) const override { return true; }

    std::vector<RerankScore> score(std::string_view query, const std::vector<Candidate>& candidates,
                                   const RerankConfig& config) const override {
        const std::string key = config_key(*inner_, config);
        const std::string q(query);
        std::vector<RerankScore> out(candidates.size());
        std::vector<std::size_t> missing;
        std::vector<Candidate> to_score;
        double reused_ms = 0.0;
        {
            std::lock_guard lock(cache_.mutex_);
            for (std::size_t i = 0; i < candidates.size(); ++i) {
                auto it = cache_.entries_.find({key, q, candidates[i].chunk_id});
                if (it != cache_.entries_.end()) {
                    out[i] = it->second.score;
                    reused_ms += it->second.ms;
                } else {
                    missing.push_back(i);
                    to_score.push_back(candidates[i]);
                }
            }
        }
        double computed_ms = 0.0;
        if (!to_score.empty()) {
            const auto t0 = std::chrono::steady_clock::now();
            const std::vector<RerankScore> scores = inner_->score(query, to_score, config);
            computed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            WINNOW_ASSERT(scores.size() == to_score.size());
            const double per_pair = computed_ms / static_cast<double>(to_score.size());
            std::lock_guard lock(cache_.mutex_);
            for (std::size_t j = 0; j < missing.size(); ++j) {
                out[missing[j]] = scores[j];
                cache_.entries_.insert_or_assign({key, q, to_score[j].chunk_id}, Entry{scores[j], per_pair});
            }
            cache_.pairs_computed_ += to_score.size();
        }
        if (stats_) {
            stats_->pairs_computed += to_score.size();
            stats_->attributed_ms += computed_ms + reused_ms;
        }
        return out;
    }

private:
    RerankScoreCache& cache_;
    std::shared_ptr<const CandidateScorer> inner_;
    std::shared_ptr<CachedScoring> stats_;
};

std::shared_ptr<const CandidateScorer> RerankScoreCache::wrap(std::shared_ptr<const CandidateScorer> inner,
                                                              std::shared_ptr<CachedScoring> stats) {
    WINNOW_ASSERT(inner != nullptr);
    return std::make_shared<Scorer>(*this, std::move(inner), std::move(stats));
}

std::size_t RerankScoreCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t RerankScoreCache::pairs_computed() const {
    std::lock_guard lock(mutex_);
    return pairs_computed_;
}

std::string RerankScoreCache::config_key(const CandidateScorer& scorer, const RerankConfig& config) {
    // Not the batch size or normalization: they do not change a raw score.
    std::string key = fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}", scorer.name(), config.kind, config.model,
                                  config.long_doc == LongDocMode::MaxP ? "maxp" : "truncate", config.max_length,
                                  config.stride, config.max_windows, precision_name(config.precision),
                                  device_name(config.device));
    for (const auto& [k, v] : config.params) key += fmt::format("|{}={}", k, v);
    return key;
}

}  // namespace winnow::eval
