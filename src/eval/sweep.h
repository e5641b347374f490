// The k sweep: for each first-stage k, run first stage -> rerank -> cutoff over a collection's
// queries and measure the first stage's recall ceiling, the final precision, an oracle reordering
// of the k candidates, per-stage latency and reranker work.
//
// The harness is written against Ranker, an abstract "answer this query with k candidates"
// interface, so it evaluates BM25 alone, a full pipeline, or a test double the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "winnow/eval.h"

namespace winnow::eval {

struct RankedDoc {
    std::string doc_id;
    double score = 0.0;
    std::string title;  // filled only by rankers asked for text (labeling)
    std::string text;
};

// What a ranker returns for one query at one k.
struct RankerOutput {
    std::vector<RankedDoc> first_stage;  // the k candidates, in first-stage rank order
    std::vector<RankedDoc> final;        // after rerank and cutoff, in final order
    std::size_t pairs_scored = 0;        // (query, document) pairs the reranker scored
    double first_stage_ms = 0.0;
    double rerank_ms = 0.0;
    double cutoff_ms = 0.0;
};

class Ranker {
public:
    virtual ~Ranker() = default;
    // A description for reports ("bm25(k1=0.9,b=0.4)", "bm25(k=100) > rerank(...)").
    virtual std::string spec() const = 0;
    // Whether there is a rerank stage (its final rows are labelled "reranked").
    virtual bool reranks() const = 0;
    // Whether the final list can differ from the first stage's (a rerank, diversify or cutoff
    // stage); without one, `final` equals `first_stage` and there is no final row.
    virtual bool changes_list() const { return reranks(); }
    virtual RankerOutput rank(const Query& query, std::size_t k) = 0;
};

// Adapts a callable to Ranker (used by tests and by `winnow eval` for the first-stage-only mode).
class FunctionRanker : public Ranker {
public:
    using Fn = std::function<RankerOutput(const Query&, std::size_t)>;
    FunctionRanker(std::string spec, bool reranks, Fn fn)
        : spec_(std::move(spec)), reranks_(reranks), fn_(std::move(fn)) {}
    std::string spec() const override { return spec_; }
    bool reranks() const override { return reranks_; }
    RankerOutput rank(const Query& query, std::size_t k) override { return fn_(query, k); }

private:
    std::string spec_;
    bool reranks_;
    Fn fn_;
};

struct LatencySummary {
    double p50 = 0.0;
    double p95 = 0.0;
    double mean = 0.0;
};

// Percentile by linear interpolation between closest ranks (numpy's default).
double percentile(std::vector<double> values, double q);
LatencySummary summarize_latency(const std::vector<double>& values);

// Reranked: the final list of a pipeline with a rerank stage; Final: of one that only cuts or
// diversifies the first stage's list (no rerank stage).
enum class Stage { First, Reranked, Final, Oracle };
std::string_view stage_name(Stage stage) noexcept;  // "first", "reranked", "final", "oracle"

struct SweepRow {
    std::size_t k = 0;
    Stage stage = Stage::First;
    EvalResult eval;  // the measures of this row, with per-query values; the first, recall_<k>, is
                      // always the first stage's (the ceiling), also in reranked and oracle rows
    std::map<std::string, LatencySummary> latency_ms;  // "first_stage", "rerank", "cutoff", "total"
    std::size_t pairs_scored = 0;                      // total over the queries
    double mean_list_length = 0.0;                     // documents per query in this row's list
    Run run;                                           // this row's ranking (trec_eval scores)
};

struct SweepOptions {
    std::vector<std::size_t> ks{10, 50, 100, 200};
    // Measures besides recall_<k> (always first): trec_eval names.
    std::vector<std::string> measures{"P_5", "P_10", "ndcg_cut_10", "recip_rank", "map"};
    EvalOptions eval;
    bool oracle = true;
    // Called after each query (for progress): k, queries done, queries total.
    std::function<void(std::size_t, std::size_t, std::size_t)> progress;
};

struct SweepResult {
    std::string dataset;
    std::string split;
    std::string pipeline;
    std::size_t n_queries = 0;  // queries run (judged in the split)
    std::vector<std::size_t> ks;
    bool reranked = false;           // the pipeline has a rerank stage
    Stage final_stage = Stage::First;  // the stage of each k's final row: Reranked, Final, or First (none)
    std::vector<SweepRow> rows;  // per k: first, [reranked or final], [oracle]

    const SweepRow* find(std::size_t k, Stage stage) const;
};

// Runs the sweep over `queries`, judged by `qrels`.
SweepResult run_sweep(Ranker& ranker, const std::vector<Query>& queries, const Qrels& qrels,
                      const SweepOptions& options);

// Reorders candidates perfectly by the judgments: grade descending, first-stage order within a grade.
std::vector<RankedDoc> oracle_order(const std::vector<RankedDoc>& candidates, const std::map<std::string, int>* judged);

// Turns a ranked list into run entries whose scores trec_eval ranks in the same order: the list's
// own scores when they are strictly decreasing, otherwise n, n-1, ..., 1. Duplicate ids keep the first.
std::vector<RunEntry> to_run_entries(const std::vector<RankedDoc>& ranked);

// Parses "10,50,100,200" (positive, strictly increasing after sorting, duplicates removed).
std::vector<std::size_t> parse_k_list(std::string_view text);

}  // namespace winnow::eval
