// The learning-to-rank features of one (query, chunk) pair. Names and definitions are listed by
// `winnow ltr features`; a model stores the names it was trained on and refuses another list.
// Missing values (no embedder or cross-encoder configured, unknown document) are NaN, which
// XGBoost treats as missing.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ltr/corpus_stats.h"
#include "winnow/pipeline.h"

namespace winnow::ltr {

enum class Feature : std::size_t {
    Bm25Chunk,
    Bm25Title,
    Bm25ChunkAlt,
    LmDirichlet,
    TfidfCosine,
    Coverage,
    TitleCoverage,
    IdfOverlap,
    IdfMinMatched,
    IdfMaxMatched,
    IdfMeanMatched,
    MatchedTermFrequency,
    ProximityWindow,
    ProximityDensity,
    BigramCoverage,
    ChunkLength,
    DocumentLength,
    QueryLength,
    FirstStageRank,
    FirstStageScore,
    FirstStageScoreRatio,
    DenseCosine,
    CrossEncoderScore,
    Count
};
inline constexpr std::size_t kFeatureCount = static_cast<std::size_t>(Feature::Count);

struct FeatureInfo {
    std::string_view name;
    std::string_view definition;
};
// In Feature order.
const std::vector<FeatureInfo>& feature_infos();
std::vector<std::string> feature_names();

// Per-candidate signals computed outside the extractor (by models); NaN or empty when absent.
struct ExternalSignals {
    std::vector<float> dense_cosine;   // one per candidate, or empty
    std::vector<float> cross_encoder;  // one per candidate (the model's logit), or empty
};

class FeatureExtractor {
public:
    explicit FeatureExtractor(std::shared_ptr<const CorpusStats> stats, lexical::Bm25Params bm25 = {});

    // Row-major features: candidates.size() rows of kFeatureCount. `candidates` are in first-stage
    // order (rank = position + 1) with their first-stage scores. Thread-safe.
    std::vector<float> extract(std::string_view query, const std::vector<Candidate>& candidates,
                               const ExternalSignals& signals = {}) const;

    const CorpusStats& stats() const noexcept { return *stats_; }

private:
    std::shared_ptr<const CorpusStats> stats_;
    lexical::Bm25Params bm25_;
};

// The smallest window, in term positions (last - first + 1), that contains at least one occurrence
// of every term in `wanted`, given each position's term index in `wanted` (or -1). 0 when some
// wanted term never occurs. Exposed for tests.
std::size_t smallest_covering_window(const std::vector<int>& positions, std::size_t n_wanted);

}  // namespace winnow::ltr
