// The embedded demo: the handbook in data/demo indexed with the structure-aware chunker and the
// four classic questions run through the pipeline with the best reranker available.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "winnow/pipeline.h"

namespace winnow::retrieval {

struct DemoQuery {
    std::string id;
    std::string text;
};

// TREC qrels: query -> document file name -> grade.
using Qrels = std::map<std::string, std::map<std::string, int>>;

std::vector<DemoQuery> load_queries_tsv(const std::string& path);  // "id<TAB>text" lines
Qrels load_qrels(const std::string& path);                         // "query 0 doc grade" lines

// Where the demo set is: $WINNOW_DEMO_DIR, else data/demo next to the executable's source tree
// (<exe dir>/../../data/demo, <exe dir>/../data/demo), else ./data/demo. Throws NotFound.
std::string find_demo_dir();

struct RerankerChoice {
    std::string spec_stage;  // "rerank(model=...)", "ltr(model=...)" or "" (first-stage order)
    std::string description; // for the banner
};

// The best reranker available: `model` when given, else WINNOW_RERANK_MODEL, else a known
// cross-encoder in the Hugging Face cache, else the learning-to-rank scorer when one is
// registered (with $WINNOW_LTR_MODEL or models/ltr/default.ltr), else none (BM25 order).
RerankerChoice choose_reranker(const std::string& model, const std::string& demo_dir);

// The demo pipeline spec for a reranker choice.
std::string demo_pipeline(const RerankerChoice& choice);

// The file name a hit's document came from (what qrels name).
std::string hit_file_name(const Candidate& candidate);

}  // namespace winnow::retrieval
