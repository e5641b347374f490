#include <gtest/gtest.h>

#include <sstream>

#include <fmt/format.h>

#include "eval/harness.h"
#include "eval/report.h"
#include "eval/sweep.h"
#include "support/temp_dir.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow::eval {
namespace {

// Ten documents d0..d9 in first-stage order; q1's relevant ones sit at ranks 3 and 8, q2's at 1.
Qrels toy_qrels() {
    Qrels q;
    q.set("q1", "d2", 1);
    q.set("q1", "d7", 2);
    q.set("q1", "d0", 0);
    q.set("q2", "d0", 1);
    return q;
}

// Ranked documents without text (the title and text only labeling asks for).
std::vector<RankedDoc> ranked(std::initializer_list<std::pair<std::string, double>> docs) {
    std::vector<RankedDoc> out;
    for (const auto& [id, score] : docs) out.push_back(RankedDoc{id, score, {}, {}});
    return out;
}

RankerOutput toy_rank(const Query&, std::size_t k, bool rerank) {
    RankerOutput out;
    for (std::size_t i = 0; i < std::min<std::size_t>(k, 10); ++i) {
        out.first_stage.push_back(RankedDoc{fmt::format("d{}", i), 10.0 - static_cast<double>(i), {}, {}});
    }
    out.first_stage_ms = static_cast<double>(k);
    if (rerank) {
        // A "reranker" that reverses the candidates and keeps the top 3.
        out.final.assign(out.first_stage.rbegin(), out.first_stage.rend());
        for (std::size_t i = 0; i < out.final.size(); ++i) out.final[i].score = 1.0 - 0.1 * static_cast<double>(i);
        if (out.final.size() > 3) out.final.resize(3);
        out.pairs_scored = out.first_stage.size();
        out.rerank_ms = 2.0;
    }
    return out;
}

TEST(Sweep, FirstStageRecallCeilingAndOracle) {
    FunctionRanker ranker("toy", false, [](const Query& q, std::size_t k) { return toy_rank(q, k, false); });
    SweepOptions options;
    options.ks = {2, 5, 10};
    auto r = run_sweep(ranker, {{"q1", "a"}, {"q2", "b"}}, toy_qrels(), options);
    EXPECT_FALSE(r.reranked);
    EXPECT_EQ(r.rows.size(), 6u);  // first + oracle per k
    EXPECT_EQ(r.find(2, Stage::Reranked), nullptr);
    // recall_k: q1 finds 0/2, 1/2, 2/2 at k = 2, 5, 10; q2 always 1.
    EXPECT_DOUBLE_EQ(r.find(2, Stage::First)->eval.value("recall_2"), 0.5);
    EXPECT_DOUBLE_EQ(r.find(5, Stage::First)->eval.value("recall_5"), 0.75);
    EXPECT_DOUBLE_EQ(r.find(10, Stage::First)->eval.value("recall_10"), 1.0);
    // The oracle puts d7 (grade 2) then d2 first for q1 at k = 10: P_5 = (2/5 + 1/5) / 2.
    EXPECT_DOUBLE_EQ(r.find(10, Stage::Oracle)->eval.value("P_5"), 0.3);
    EXPECT_DOUBLE_EQ(r.find(10, Stage::Oracle)->eval.value("ndcg_cut_10"), 1.0);
    EXPECT_LT(r.find(10, Stage::First)->eval.value("ndcg_cut_10"), 1.0);
    // Oracle recall equals first-stage recall: same candidates.
    EXPECT_DOUBLE_EQ(r.find(5, Stage::Oracle)->eval.value("recall_5"), 0.75);
    EXPECT_DOUBLE_EQ(r.find(5, Stage::First)->latency_ms.at("first_stage").p50, 5.0);
    EXPECT_EQ(r.find(10, Stage::First)->run.results.at("q1").size(), 10u);
}

TEST(Sweep, RerankedRowsCountPairsAndLatency) {
    FunctionRanker ranker("toy > rerank", true, [](const Query& q, std::size_t k) { return toy_rank(q, k, true); });
    SweepOptions options;
    options.ks = {10};
    auto r = run_sweep(ranker, {{"q1", "a"}, {"q2", "b"}}, toy_qrels(), options);
    ASSERT_EQ(r.rows.size(), 3u);
    const auto* row = r.find(10, Stage::Reranked);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(row->pairs_scored, 20u);
    EXPECT_DOUBLE_EQ(row->mean_list_length, 3.0);
    // Final lists: d9 d8 d7 -> q1 has d7 at rank 3; q2 nothing.
    EXPECT_DOUBLE_EQ(row->eval.value("recip_rank"), (1.0 / 3.0) / 2.0);
    EXPECT_DOUBLE_EQ(row->latency_ms.at("total").p95, 12.0);
    EXPECT_DOUBLE_EQ(row->latency_ms.at("rerank").p50, 2.0);
    // The final list keeps 3 documents, but recall_10 stays the first stage's ceiling.
    EXPECT_DOUBLE_EQ(row->eval.value("recall_10"), r.find(10, Stage::First)->eval.value("recall_10"));
}

TEST(Sweep, RunEntriesKeepOrderForTrecEval) {
    auto e = to_run_entries(ranked({{"a", 1.0}, {"b", 1.0}, {"c", 0.5}}));  // tie in the wrong docno order
    EXPECT_EQ(e[0].score, 3.0);
    EXPECT_EQ(e[2].score, 1.0);
    auto kept = to_run_entries(ranked({{"b", 1.0}, {"a", 1.0}, {"c", 0.5}, {"b", 0.1}}));  // docno-descending tie, dup
    ASSERT_EQ(kept.size(), 3u);
    EXPECT_EQ(kept[0].score, 1.0);
    auto sorted = kept;
    sort_trec_order(sorted);
    EXPECT_EQ(sorted[0].docno, "b");
}

TEST(Sweep, PercentilesAndKList) {
    EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 0.5), 2.5);
    EXPECT_DOUBLE_EQ(percentile({5}, 0.95), 5.0);
    EXPECT_NEAR(percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}, 0.95), 20.0,
                1e-12);
    EXPECT_EQ(parse_k_list("200, 10,50,10"), (std::vector<std::size_t>{10, 50, 200}));
    EXPECT_THROW(parse_k_list("10,x"), Error);
    EXPECT_THROW(parse_k_list("0"), Error);
    EXPECT_THROW(parse_k_list(""), Error);
}

TEST(Sweep, NoQueriesIsAnError) {
    FunctionRanker ranker("toy", false, [](const Query& q, std::size_t k) { return toy_rank(q, k, false); });
    EXPECT_THROW(run_sweep(ranker, {}, toy_qrels(), {}), Error);
}

}  // namespace
}  // namespace winnow::eval

namespace winnow::eval {
namespace {

// A pipeline that cuts the first stage's list but has no rerank stage: its final rows are
// labelled "final", not "reranked", and it does not claim to rerank.
TEST(Sweep, CutoffWithoutRerankIsLabelledFinal) {
    winnow::testing::TempDir tmp("winnow_sweep_final");
    auto index = std::shared_ptr<Index>(Index::create((tmp.path / "idx").string(), IndexConfig{}));
    {
        auto w = index->writer();
        for (int i = 0; i < 6; ++i) {
            w->upsert(IndexDocument{"d" + std::to_string(i), "Doc", "solar energy " + std::string(i, 'x'), "{}", ""});
        }
        w->finish();
    }
    auto ranker = make_ranker("bm25(k=10) > cutoff(top_n=2)", index);
    EXPECT_FALSE(ranker->reranks());
    EXPECT_TRUE(ranker->changes_list());
    Qrels qrels;
    qrels.set("q1", "d0", 1);
    SweepOptions options;
    options.ks = {5};
    const SweepResult r = run_sweep(*ranker, {{"q1", "solar energy"}}, qrels, options);
    EXPECT_FALSE(r.reranked);
    EXPECT_EQ(r.final_stage, Stage::Final);
    EXPECT_EQ(r.find(5, Stage::Reranked), nullptr);
    const SweepRow* row = r.find(5, Stage::Final);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(stage_name(row->stage), "final");
    EXPECT_DOUBLE_EQ(row->mean_list_length, 2.0);
    EXPECT_EQ(row->run.name, "final_k5");
    // The report says so.
    Report report;
    report.sweep = r;
    std::ostringstream table;
    print_table(report, table);
    EXPECT_EQ(table.str().find("  reranked"), std::string::npos) << table.str();  // no row of that stage
    EXPECT_NE(table.str().find("  final"), std::string::npos) << table.str();
    for (const auto& j : report_json(report)["rows"]) EXPECT_NE(j["stage"], "reranked");
}

}  // namespace
}  // namespace winnow::eval
