// trec_eval semantics on hand-computed cases (values checked by hand and against trec_eval 9.0.8).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "winnow/error.h"
#include "winnow/eval.h"

namespace winnow::eval {
namespace {

// q1: graded; q2: judged but nothing relevant; q3: run only; q4: qrels only.
constexpr const char* kQrels =
    "q1 0 d1 1\nq1 0 d2 2\nq1 0 d3 0\nq1 0 d5 1\nq2 0 d9 0\nq4 0 d7 1\n";
// d3 and d2 tie at 2.0: trec_eval ranks d3 first (docno descending). d4 is unjudged.
constexpr const char* kRun =
    "q1 Q0 d1 1 3.0 r\nq1 Q0 d2 2 2.0 r\nq1 Q0 d3 3 2.0 r\nq1 Q0 d4 4 1.0 r\nq1 Q0 d5 5 0.5 r\n"
    "q2 Q0 d9 1 1 r\nq3 Q0 d1 1 1 r\n";

std::vector<double> q1_values(const std::vector<Measure>& ms, int level = 1) {
    auto qrels = parse_trec_qrels(kQrels, "qrels");
    auto run = parse_trec_run(kRun, "run");
    auto ranked = run.results.at("q1");
    sort_trec_order(ranked);
    return evaluate_ranking(ranked, qrels.find("q1"), ms, level);
}

double q1(std::string_view name, int level = 1) { return q1_values({Measure::parse(name)}, level)[0]; }

TEST(Metrics, TiesBrokenByDocnoDescending) {
    auto run = parse_trec_run(kRun, "run");
    auto ranked = run.results.at("q1");
    sort_trec_order(ranked);
    ASSERT_EQ(ranked.size(), 5u);
    EXPECT_EQ(ranked[1].docno, "d3");
    EXPECT_EQ(ranked[2].docno, "d2");
}

TEST(Metrics, HandComputedSingleQuery) {
    // Ranked relevance: d1=1, d3=0, d2=2, d4=unjudged, d5=1; 3 relevant judged.
    EXPECT_DOUBLE_EQ(q1("P_1"), 1.0);
    EXPECT_DOUBLE_EQ(q1("P_5"), 0.6);
    EXPECT_DOUBLE_EQ(q1("P_10"), 0.3);  // divides by k even with 5 retrieved
    EXPECT_DOUBLE_EQ(q1("recall_2"), 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(q1("recall_5"), 1.0);
    EXPECT_NEAR(q1("map"), (1.0 + 2.0 / 3.0 + 3.0 / 5.0) / 3.0, 1e-12);
    EXPECT_NEAR(q1("map_cut_2"), 1.0 / 3.0, 1e-12);
    EXPECT_DOUBLE_EQ(q1("recip_rank"), 1.0);
    EXPECT_NEAR(q1("Rprec"), 2.0 / 3.0, 1e-12);
    EXPECT_DOUBLE_EQ(q1("success_1"), 1.0);
    // DCG@3 = 1/log2(2) + 2/log2(4) = 2; ideal (2,1,1) = 2 + 1/log2(3) + 1/2.
    const double ideal3 = 2.0 + 1.0 / std::log2(3.0) + 0.5;
    EXPECT_NEAR(q1("ndcg_cut_3"), 2.0 / ideal3, 1e-12);
    EXPECT_NEAR(q1("ndcg"), (2.0 + 1.0 / std::log2(6.0)) / ideal3, 1e-12);
    EXPECT_DOUBLE_EQ(q1("num_ret"), 5.0);
    EXPECT_DOUBLE_EQ(q1("num_rel"), 3.0);
    EXPECT_DOUBLE_EQ(q1("num_rel_ret"), 3.0);
}

TEST(Metrics, RelevanceLevelChangesRelevantButNotGain) {
    // With -l 2 only d2 (rank 3) is relevant; nDCG still gains from grade 1.
    EXPECT_DOUBLE_EQ(q1("P_5", 2), 0.2);
    EXPECT_NEAR(q1("recip_rank", 2), 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(q1("ndcg_cut_3", 2), q1("ndcg_cut_3", 1), 1e-12);
}

TEST(Metrics, RecipRankCutIsMrrAtK) {
    EXPECT_DOUBLE_EQ(q1("recip_rank_cut_2", 2), 0.0);
    EXPECT_NEAR(q1("recip_rank_cut_3", 2), 1.0 / 3.0, 1e-12);
}

TEST(Metrics, AveragesOverQueriesInRunAndQrels) {
    auto qrels = parse_trec_qrels(kQrels, "qrels");
    auto run = parse_trec_run(kRun, "run");
    auto r = evaluate(run, qrels, parse_measures("map,P_5,recip_rank,ndcg_cut_3"));
    EXPECT_EQ(r.n_queries, 2u);  // q1 and q2; q3 (no judgments) ignored, q4 (no results) ignored
    EXPECT_EQ(r.per_query.count("q3"), 0u);
    EXPECT_NEAR(r.value("map"), 0.755556 / 2, 1e-6);
    EXPECT_NEAR(r.value("P_5"), 0.3, 1e-12);
    EXPECT_NEAR(r.value("recip_rank"), 0.5, 1e-12);
    EXPECT_NEAR(r.value("ndcg_cut_3"), 0.3194, 1e-4);
    EXPECT_EQ(r.per_query.at("q2"), std::vector<double>(4, 0.0));
}

TEST(Metrics, CompleteCountsEveryQrelsQuery) {
    auto qrels = parse_trec_qrels(kQrels, "qrels");
    auto run = parse_trec_run(kRun, "run");
    auto r = evaluate(run, qrels, parse_measures("map"), EvalOptions{1, true});
    EXPECT_EQ(r.n_queries, 3u);
    EXPECT_NEAR(r.value("map"), 0.2519, 1e-4);
    EXPECT_EQ(r.per_query.at("q4"), std::vector<double>{0.0});
}

TEST(Metrics, EmptyAndUnjudged) {
    std::map<std::string, int> judged{{"a", 1}};
    const auto ms = parse_measures("P_5,recall_5,map,ndcg_cut_5,Rprec,recip_rank");
    EXPECT_EQ(evaluate_ranking_ids({}, &judged, ms), std::vector<double>(ms.size(), 0.0));
    EXPECT_EQ(evaluate_ranking_ids({"x", "y"}, &judged, ms), std::vector<double>(ms.size(), 0.0));
    EXPECT_EQ(evaluate_ranking_ids({"a"}, nullptr, ms), std::vector<double>(ms.size(), 0.0));
    // Negative grade = in the pool but unjudged: never relevant.
    std::map<std::string, int> pooled{{"a", -1}, {"b", 1}};
    auto v = evaluate_ranking_ids({"a", "b"}, &pooled, parse_measures("P_2,recip_rank,num_rel"));
    EXPECT_DOUBLE_EQ(v[0], 0.5);
    EXPECT_DOUBLE_EQ(v[1], 0.5);
    EXPECT_DOUBLE_EQ(v[2], 1.0);
}

TEST(Metrics, IdealDcgUsesAllJudgedDocuments) {
    // Only one of two relevant documents retrieved, at rank 1: nDCG@10 = 1 / (1 + 1/log2(3)).
    std::map<std::string, int> judged{{"a", 1}, {"b", 1}};
    auto v = evaluate_ranking_ids({"a", "z"}, &judged, parse_measures("ndcg_cut_10"));
    EXPECT_NEAR(v[0], 1.0 / (1.0 + 1.0 / std::log2(3.0)), 1e-12);
}

TEST(Metrics, MeasureNamesAsTrecEval) {
    auto ms = parse_measures("P.5,10;ndcg_cut.10;map;recall_100;recip_rank;success_1;Rprec;map_cut_1000");
    std::vector<std::string> names;
    for (const auto& m : ms) names.push_back(m.name());
    EXPECT_EQ(names, (std::vector<std::string>{"P_5", "P_10", "ndcg_cut_10", "map", "recall_100", "recip_rank",
                                               "success_1", "Rprec", "map_cut_1000"}));
    EXPECT_THROW(Measure::parse("ndcg_cut_0"), Error);
    EXPECT_THROW(Measure::parse("precision_5"), Error);
    EXPECT_THROW(Measure::parse("map_5"), Error);
    EXPECT_EQ(parse_measures("official").size(), 15u);
}

TEST(Metrics, PrintsLikeTrecEval) {
    auto qrels = parse_trec_qrels(kQrels, "qrels");
    auto run = parse_trec_run(kRun, "run");
    std::ostringstream out;
    print_trec_eval(evaluate(run, qrels, parse_measures("map,num_rel")), out);
    EXPECT_EQ(out.str(), "num_q                 \tall\t2\nmap                   \tall\t0.3778\n"
                         "num_rel               \tall\t3\n");
}

TEST(TrecIo, QrelsGradesAndErrors) {
    auto qrels = parse_trec_qrels("1 0 17 0.000000\r\n1 0 18 2\n\n2 Q0 5 1", "x.qrels");
    EXPECT_EQ(qrels.grade("1", "17"), 0);
    EXPECT_EQ(qrels.grade("1", "18"), 2);
    EXPECT_EQ(qrels.grade("2", "5"), 1);
    EXPECT_EQ(qrels.grade("2", "6", -7), -7);
    EXPECT_EQ(qrels.n_relevant("1"), 1u);
    try {
        parse_trec_qrels("1 0 17\n", "bad.qrels");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Corrupt);
        EXPECT_NE(std::string(e.what()).find("bad.qrels line 1"), std::string::npos);
    }
    EXPECT_THROW(parse_trec_qrels("1 0 17 x\n", "bad.qrels"), Error);
}

TEST(TrecIo, RunRoundTripAndDuplicates) {
    eval::Run run;
    run.name = "bm25";
    run.results["7"] = {{"b", 0.1}, {"a", 1.0 / 3.0}, {"c", 0.1}};
    std::ostringstream out;
    write_trec_run(run, out);
    EXPECT_EQ(out.str().substr(0, 19), "7 Q0 a 1 0.33333333");
    auto back = parse_trec_run(out.str(), "mem");
    EXPECT_EQ(back.name, "bm25");
    ASSERT_EQ(back.results.at("7").size(), 3u);
    EXPECT_EQ(back.results.at("7")[0].score, 1.0 / 3.0);  // exact round trip
    EXPECT_EQ(back.results.at("7")[1].docno, "c");        // tie: docno descending
    EXPECT_THROW(parse_trec_run("1 Q0 a 1 1 r\n1 Q0 a 2 0.5 r\n", "dup.run"), Error);
    EXPECT_THROW(parse_trec_run("1 Q0 a 1 high r\n", "bad.run"), Error);
}

}  // namespace
}  // namespace winnow::eval
