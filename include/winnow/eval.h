// winnow::eval: relevance judgments (qrels), ranked runs and the trec_eval measures over them.
//
// Semantics follow trec_eval 9.0.8 exactly (the release the field reports with):
// - a query's results are ranked by score descending, ties broken by docno descending (byte order);
// - unjudged documents count as non-relevant; a document is relevant when its grade >= the relevance
//   level (default 1); nDCG's gain is the grade itself (every grade > 0 gains, whatever the level);
// - the ideal DCG comes from all judged documents of the query, not only the retrieved ones;
// - averages are over the queries present in both the run and the qrels (a qrels query whose
//   judgments are all 0 counts, scoring 0); with `complete` (trec_eval -c) over every qrels query,
//   the missing ones scoring 0. Run queries without judgments are ignored.
#pragma once

#include <cstddef>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::eval {

// Graded judgments: query id -> document id -> grade. Negative grades mean "in the pool but not
// judged" (trec_eval's RELVALUE_UNJUDGED): they never count as relevant nor as gain.
struct Qrels {
    std::map<std::string, std::map<std::string, int>> judgments;

    void set(const std::string& qid, const std::string& docno, int grade) { judgments[qid][docno] = grade; }
    const std::map<std::string, int>* find(const std::string& qid) const;
    // The grade of (qid, docno), or `missing` when unjudged.
    int grade(const std::string& qid, const std::string& docno, int missing = 0) const;
    std::size_t n_queries() const { return judgments.size(); }
    std::size_t n_judgments() const;
    // Number of documents with grade >= relevance_level for qid.
    std::size_t n_relevant(const std::string& qid, int relevance_level = 1) const;
};

// TREC qrels: `qid iter docno rel` (whitespace separated; iter ignored; rel read as an integer the
// way trec_eval's atol does, so "0.000000" is 0). A repeated (qid, docno) keeps the last grade.
Qrels read_trec_qrels(const std::string& path);
Qrels parse_trec_qrels(std::string_view text, std::string_view where);
void write_trec_qrels(const Qrels& qrels, std::ostream& out);
void write_trec_qrels(const Qrels& qrels, const std::string& path);

struct RunEntry {
    std::string docno;
    double score = 0.0;
};

// A run: query id -> retrieved documents (any order; evaluation sorts them trec_eval's way).
struct Run {
    std::string name = "winnow";
    std::map<std::string, std::vector<RunEntry>> results;
};

// TREC run: `qid Q0 docno rank score run_id`; rank is ignored (trec_eval re-ranks by score).
Run read_trec_run(const std::string& path);
Run parse_trec_run(std::string_view text, std::string_view where);
// Writes in trec_eval order with ranks from 1 and scores that round-trip (%.17g).
void write_trec_run(const Run& run, std::ostream& out);
void write_trec_run(const Run& run, const std::string& path);

// Sorts in place as trec_eval ranks: score descending, then docno descending.
void sort_trec_order(std::vector<RunEntry>& entries);

// One measure, named as trec_eval prints it: P_5, recall_100, ndcg_cut_10, ndcg, map, map_cut_100,
// recip_rank, success_1, Rprec, num_ret, num_rel, num_rel_ret. One extension trec_eval lacks:
// recip_rank_cut_k (MRR@k: 1/rank of the first relevant document within the top k, else 0).
struct Measure {
    enum class Kind { P, Recall, NdcgCut, Ndcg, Map, MapCut, RecipRank, RecipRankCut, Success, Rprec, NumRet,
                      NumRel, NumRelRet };
    Kind kind = Kind::Map;
    std::size_t cutoff = 0;  // for the _k measures

    std::string name() const;
    static Measure parse(std::string_view name);  // throws Error(InvalidArgument) on an unknown name
    bool is_sum() const { return kind == Kind::NumRet || kind == Kind::NumRel || kind == Kind::NumRelRet; }
};

// Parses "P_5,ndcg_cut_10,map" and trec_eval's -m forms "P.5,10" / "ndcg_cut.10,20" (one group per
// item separated by ';' or by repeating the flag), plus "official" = map, P_5, P_10, recall_100,
// ndcg_cut_10, recip_rank, Rprec.
std::vector<Measure> parse_measures(std::string_view list);

struct EvalOptions {
    int relevance_level = 1;   // trec_eval -l
    bool complete = false;     // trec_eval -c
};

// Values of `measures` for one query's retrieved list, which must already be in rank order
// (use sort_trec_order for a run). `judged` may be null (no judgments: every value is 0).
std::vector<double> evaluate_ranking(const std::vector<RunEntry>& ranked, const std::map<std::string, int>* judged,
                                     const std::vector<Measure>& measures, int relevance_level = 1);
// Same, for a list of document ids already in rank order.
std::vector<double> evaluate_ranking_ids(const std::vector<std::string>& ranked_ids,
                                         const std::map<std::string, int>* judged,
                                         const std::vector<Measure>& measures, int relevance_level = 1);

struct EvalResult {
    std::vector<Measure> measures;
    std::map<std::string, std::vector<double>> per_query;  // qid -> one value per measure
    std::vector<double> mean;  // average over n_queries (sum for num_ret/num_rel/num_rel_ret)
    std::size_t n_queries = 0; // trec_eval's num_q

    // The mean of the measure called `name`; throws Error(NotFound) when it was not computed.
    double value(std::string_view name) const;
};

// trec_eval over a whole run (sorting each query's results trec_eval's way).
EvalResult evaluate(const Run& run, const Qrels& qrels, const std::vector<Measure>& measures,
                    const EvalOptions& options = {});

// Prints like trec_eval: "%-22s\t%s\t%.4f" per measure (per query first when per_query is set),
// then num_q and the averages under "all".
void print_trec_eval(const EvalResult& result, std::ostream& out, bool per_query = false);

}  // namespace winnow::eval
