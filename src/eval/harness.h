// What `winnow eval` and `winnow label` run: an index for a dataset (built once into a cache
// folder when none is given), and Rankers over the real index and pipeline.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/progress.h"
#include "eval/dataset.h"
#include "eval/sweep.h"

namespace winnow {
class Index;
}

namespace winnow::eval {

class RerankScoreCache;

// Where dataset indexes are cached: $WINNOW_CACHE, else $XDG_CACHE_HOME/winnow/eval, else
// ~/.cache/winnow/eval.
std::string default_eval_cache_dir();

// The index of a dataset's documents, built under cache_dir/<name>-<hash of the folder> with the
// default analyzer and one chunk per document ("title text", as Anserini indexes BEIR), and
// reused while the corpus files are unchanged (sizes and modification times are recorded).
// `built` tells whether it was (re)built now.
std::unique_ptr<Index> open_dataset_index(const Dataset& dataset, const std::string& cache_dir, bool rebuild,
                                          bool* built = nullptr);

// Reads the dataset's documents (ingest's corpus readers; WikiQA sentences here) and calls sink
// for each: id, title, text.
std::size_t for_each_dataset_document(const Dataset& dataset,
                                      const std::function<void(std::string id, std::string title, std::string text)>& sink);

// A ranker for a pipeline spec over an index. A spec with only a first stage ("bm25",
// "bm25(k1=1.2,b=0.75)", "hybrid(fusion=rrf)") runs the index's first stage directly; a spec with
// rerank / cutoff stages runs winnow::Pipeline. The spec's own k is replaced by each swept k.
// With `with_text`, the ranked documents carry their (best chunk's) title and text. With `scores`, the
// rerank stage reuses the scores it holds (per scorer configuration, query and chunk) and adds the new ones.
std::unique_ptr<Ranker> make_ranker(const std::string& spec, std::shared_ptr<Index> index, bool with_text = false,
                                    std::shared_ptr<RerankScoreCache> scores = nullptr);

}  // namespace winnow::eval

#include "eval/report.h"

namespace winnow::eval {

// Everything `winnow eval` takes (see the CLI help for each field).
struct EvalRequest {
    std::string dataset;        // collection folder (or empty with `queries` + `index`)
    std::string split;          // "" = the dataset's default split
    std::string queries;        // a queries file, instead of the dataset's
    std::string qrels;          // TREC qrels replacing the dataset's judgments (e.g. `winnow label` output)
    std::string index;          // "" = build (or reuse) the dataset's index in cache_dir
    std::string cache_dir;      // "" = default_eval_cache_dir()
    bool rebuild_index = false;
    std::string pipeline = "bm25";
    std::string compare;        // a second pipeline to test against, "" = none
    std::vector<std::size_t> ks{10, 50, 100, 200};
    std::size_t max_queries = 0;  // 0 = all judged queries
    EvalOptions eval;
    PermutationOptions permutation;
    ProgressMode progress = ProgressMode::Off;  // on stderr: queries x k of each pipeline
};

// Loads, indexes, sweeps, compares. The Report holds what the CLI prints and writes.
struct EvalOutcome {
    Report report;
    std::unique_ptr<SweepResult> baseline;  // the --compare sweep
};
EvalOutcome run_eval(const EvalRequest& request);

}  // namespace winnow::eval
