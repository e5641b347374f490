// Training data for the learning-to-rank model from a test collection: the first stage's
// candidates for each judged query of a split, their features, and their grades as labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.h"
#include "eval/dataset.h"
#include "ltr/trainer.h"
#include "winnow/pipeline.h"

namespace winnow {
class Embedder;
class Reranker;
}  // namespace winnow

namespace winnow::ltr {

struct QueryCandidates {
    std::string qid;
    std::string query;
    std::vector<Candidate> candidates;  // first-stage order
    std::vector<float> features;        // row-major, kFeatureCount per candidate
};

struct CollectionOptions {
    std::string cache_dir;        // where the dataset index is built/reused ("" = eval's default)
    std::string index_dir;        // an existing index instead ("" = the dataset's cached index)
    ProgressMode progress = ProgressMode::Off;  // on stderr
};

// The first stage of `spec` (its other stages only supply embed_model / rerank_model for the
// ltr stage's optional features) over each judged query of `split`.
struct Collection {
    eval::Dataset dataset;
    std::string split;
    std::string index_dir;
    std::vector<QueryCandidates> queries;
};
Collection collect_candidates(const std::string& dataset_dir, const std::string& split, const PipelineSpec& spec,
                              const CollectionOptions& options);

// Labels the candidates with the split's grades (unjudged = 0, negative grades = 0). Queries with
// no relevant candidate are left out (they carry no ranking signal); `prefix` is put before qids.
TrainingData to_training_data(const Collection& collection, const std::string& prefix = "");

}  // namespace winnow::ltr
