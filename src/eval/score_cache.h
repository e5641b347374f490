// Rerank scores kept for one `winnow eval` run, per (scorer configuration, query, chunk): the k sweep
// scores each query's largest candidate list once and derives the smaller k from it (the first-stage
// order of the top k is a prefix of the top k' > k), and `--compare` reuses the scores of a pipeline
// with the same reranker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "winnow/pipeline.h"

namespace winnow::eval {

class RerankScoreCache {
public:
    // A scorer answering from the cache that sends only the candidates not seen yet to `inner` (in one
    // call). What it did is added to `stats` (see CachedScoring) on each score() call.
    struct CachedScoring {
        std::size_t pairs_computed = 0;  // sent to the model
        double attributed_ms = 0.0;      // scoring time of all the pairs: measured for the computed ones,
                                         // the per-pair share of their batch for the reused ones
    };
    std::shared_ptr<const CandidateScorer> wrap(std::shared_ptr<const CandidateScorer> inner,
                                                std::shared_ptr<CachedScoring> stats);

    std::size_t size() const;
    std::size_t pairs_computed() const;  // over every wrapped scorer

    // What identifies a scorer's output for a candidate: kind, model and every knob that changes a score.
    static std::string config_key(const CandidateScorer& scorer, const RerankConfig& config);

private:
    struct Entry {
        RerankScore score;
        double ms = 0.0;  // this pair's share of the batch that computed it
    };
    class Scorer;
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, std::int64_t>, Entry> entries_;  // (config, query, chunk)
    std::size_t pairs_computed_ = 0;
};

}  // namespace winnow::eval
