#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json.h"
#include "support/run_command.h"
#include "winnow/eval.h"

namespace {

namespace fs = std::filesystem;
const std::string kWinnow = std::string(WINNOW_BINARY_DIR) + "/winnow";

// Runs a shell command line, capturing stdout; stderr goes to the test log.
winnow::testing::CommandResult run(const std::string& cmd) {
    return winnow::testing::run_command(cmd);
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class EvalCli : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(kWinnow)) GTEST_SKIP() << "build winnow_cli first";
        dir_ = fs::temp_directory_path() / ("winnow_eval_cli_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "data" / "qrels");
        // A tiny BEIR collection: two topics, six documents each.
        std::ofstream corpus(dir_ / "data" / "corpus.jsonl");
        const char* topics[2][6] = {
            {"volcano eruption lava", "volcano ash cloud", "lava flow speed", "eruption warning volcano", "magma volcano chamber",
             "ash fall eruption"},
            {"river flood plain", "flood barrier river", "river delta sediment", "flood insurance river", "river bank erosion",
             "flood forecast rain"}};
        for (int t = 0; t < 2; ++t) {
            for (int i = 0; i < 6; ++i) {
                corpus << "{\"_id\": \"" << (t == 0 ? "v" : "r") << i << "\", \"title\": \"\", \"text\": \"" << topics[t][i]
                       << " document number " << i << "\"}\n";
            }
        }
        std::ofstream(dir_ / "data" / "queries.jsonl")
            << "{\"_id\": \"1\", \"text\": \"volcano eruption\"}\n{\"_id\": \"2\", \"text\": \"river flood\"}\n"
               "{\"_id\": \"3\", \"text\": \"no judgments\"}\n";
        std::ofstream(dir_ / "data" / "qrels" / "test.tsv")
            << "query-id\tcorpus-id\tscore\n1\tv0\t2\n1\tv3\t1\n1\tr0\t0\n2\tr0\t1\n2\tr1\t1\n2\tr3\t1\n";
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    std::string base() const {
        return kWinnow + " eval --dataset " + (dir_ / "data").string() + " --cache-dir " + (dir_ / "cache").string();
    }
    fs::path dir_;
};

TEST_F(EvalCli, SweepWritesJsonHtmlAndRunsThatTrecEvalModeAgreesWith) {
    auto r = run(base() + " --k 2,5 --json " + (dir_ / "out.json").string() + " --report " +
                 (dir_ / "out.html").string() + " --run-out " + (dir_ / "run.trec").string() + " --qrels-out " +
                 (dir_ / "data.qrels").string());
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("first stage only"), std::string::npos);
    // Each file written is named.
    EXPECT_NE(r.out.find("wrote " + (dir_ / "out.json").string() + " (JSON results)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("wrote " + (dir_ / "out.html").string() + " (HTML report)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("wrote " + (dir_ / "data.qrels").string() + " (TREC qrels: 2 queries, 6 judgments)"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("wrote " + (dir_ / "run.k5.trec").string()), std::string::npos) << r.out;
    const auto j = winnow::parse_json(slurp(dir_ / "out.json"), "out.json");
    EXPECT_EQ(j["queries"], 2);  // query 3 has no judgments
    ASSERT_EQ(j["rows"].size(), 4u);
    EXPECT_EQ(j["rows"][0]["stage"], "first");
    EXPECT_EQ(j["rows"][1]["stage"], "oracle");
    EXPECT_EQ(j["rows"][2]["k"], 5);
    // The oracle at k = 5 can only be as good as recall_5 allows, and is never below the first stage.
    for (const char* m : {"P_5", "ndcg_cut_10", "recip_rank", "map"}) {
        EXPECT_GE(j["rows"][3]["metrics"][m].get<double>(), j["rows"][2]["metrics"][m].get<double>()) << m;
    }
    EXPECT_TRUE(fs::exists(dir_ / "run.k2.trec"));
    ASSERT_TRUE(fs::exists(dir_ / "run.k5.trec"));
    EXPECT_NE(slurp(dir_ / "out.html").find("<svg"), std::string::npos);
    // Evaluating the written run in trec_eval mode gives the JSON's numbers.
    auto te = run(kWinnow + " eval --run " + (dir_ / "run.k5.trec").string() + " --qrels " +
                  (dir_ / "data.qrels").string() + " -m P_5,ndcg_cut_10,map,recall_5");
    ASSERT_EQ(te.status, 0) << te.out;
    for (const char* m : {"P_5", "ndcg_cut_10", "map", "recall_5"}) {
        const auto at = te.out.find(std::string(m) + " ");
        ASSERT_NE(at, std::string::npos) << m;
        const double v = std::stod(te.out.substr(te.out.find("all\t", at) + 4));
        EXPECT_NEAR(v, j["rows"][2]["metrics"][m].get<double>(), 5e-5) << m;
    }
    // The cached index is reused.
    auto again = run(base() + " --k 5");
    ASSERT_EQ(again.status, 0);
    EXPECT_EQ(again.out.find("built in"), std::string::npos) << again.out;
}

TEST_F(EvalCli, ProgressGoesToStderrAsPlainLinesUnlessQuiet) {
    // Not a terminal: one line per tenth of queries x k, and the last; --quiet: none.
    auto r = run(base() + " --k 2,5 2> " + (dir_ / "progress.txt").string());
    ASSERT_EQ(r.status, 0) << r.out;
    const std::string progress = slurp(dir_ / "progress.txt");
    EXPECT_EQ(progress.find('\r'), std::string::npos) << progress;
    EXPECT_NE(progress.find("eval: queries x k: 1/4 (25%), "), std::string::npos) << progress;
    EXPECT_NE(progress.find("eval: queries x k: 4/4 (100%), "), std::string::npos) << progress;
    auto q = run(base() + " --k 2,5 --quiet 2> " + (dir_ / "quiet.txt").string());
    ASSERT_EQ(q.status, 0);
    EXPECT_EQ(slurp(dir_ / "quiet.txt"), "");
}

TEST_F(EvalCli, RerankPipelineRowsAndStageSignificance) {
    const std::string ce = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce";
    if (!fs::exists(ce)) GTEST_SKIP() << "no fixture cross-encoder";
    auto r = run(base() + " --k 2,5 --pipeline 'bm25 > rerank(model=" + ce + ") > cutoff(top_n=3)' --json " +
                 (dir_ / "rr.json").string() + " --permutations 100");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find("first stage only"), std::string::npos);
    const auto j = winnow::parse_json(slurp(dir_ / "rr.json"), "rr.json");
    ASSERT_EQ(j["rows"].size(), 6u);
    const auto& rr2 = j["rows"][1];
    EXPECT_EQ(rr2["stage"], "reranked");
    EXPECT_EQ(rr2["pairs_scored"], 4);           // 2 queries x k = 2
    EXPECT_EQ(j["rows"][4]["pairs_scored"], 10);  // 2 queries x k = 5
    // The largest k is scored once; k = 2 is derived from its scores.
    EXPECT_EQ(j["rows"][4]["pairs_computed"], 10);
    EXPECT_EQ(rr2["pairs_computed"], 0);
    EXPECT_DOUBLE_EQ(j["rows"][4]["mean_list_length"].get<double>(), 3.0);  // cutoff(top_n=3)
    EXPECT_TRUE(rr2["latency_ms"].contains("rerank"));
    EXPECT_GT(rr2["latency_ms"]["total"]["p50"].get<double>(), 0.0);
    // recall_k is the first stage's ceiling in the reranked row too.
    EXPECT_EQ(j["rows"][4]["metrics"]["recall_5"], j["rows"][3]["metrics"]["recall_5"]);
    ASSERT_EQ(j["comparisons"].size(), 2u);  // first vs reranked at each k
    EXPECT_EQ(j["comparisons"][0]["measures"]["P_5"]["n"], 2);
}

TEST_F(EvalCli, BadArgumentsExitTwo) {
    EXPECT_EQ(run(base() + " --k 0 2>/dev/null").status, 2);
    EXPECT_EQ(run(base() + " --pipeline 'bm25(k1=x)' 2>/dev/null").status, 2);
    EXPECT_EQ(run(kWinnow + " eval --no-such-flag 2>/dev/null").status, 2);
    EXPECT_NE(run(kWinnow + " eval --dataset /nonexistent 2>/dev/null").status, 0);
}

TEST_F(EvalCli, LabelInterruptResumeThenMeasure) {
    const std::string labels = (dir_ / "labels.qrels").string();
    const std::string label = kWinnow + " label --dataset " + (dir_ / "data").string() + " --cache-dir " +
                              (dir_ / "cache").string() + " --k 2,5 --top 2 --out " + labels;
    // Session 1 answers two pairs, then its input ends (an interrupted session).
    std::ofstream(dir_ / "in1") << "r\nn\n";
    auto s1 = run(label + " < " + (dir_ / "in1").string());
    ASSERT_EQ(s1.status, 0) << s1.out;
    EXPECT_NE(s1.out.find("2 labelled"), std::string::npos) << s1.out;
    EXPECT_EQ(winnow::eval::read_trec_qrels(labels).n_judgments(), 2u);
    // Session 2 resumes with the pairs left and finishes: everything "r" for query 1's topic docs.
    std::ofstream in2(dir_ / "in2");
    for (int i = 0; i < 20; ++i) in2 << (i % 2 == 0 ? "r\n" : "n\n");
    in2.close();
    auto s2 = run(label + " < " + (dir_ / "in2").string());
    ASSERT_EQ(s2.status, 0) << s2.out;
    EXPECT_NE(s2.out.find("already labelled"), std::string::npos);
    EXPECT_NE(s2.out.find("All pairs labelled"), std::string::npos) << s2.out;
    const auto q = winnow::eval::read_trec_qrels(labels);
    EXPECT_GE(q.n_judgments(), 4u);  // 2 queries x top 2, pooled over k = 2 and 5 (3 queries, all labelled)
    // A third session has nothing to ask.
    auto s3 = run(label + " < /dev/null");
    EXPECT_NE(s3.out.find("0 pairs to label"), std::string::npos) << s3.out;

    // Measure each k with the labels; P_5 of the k = 2 final list equals relevant-in-top-2 / 5.
    auto e = run(base() + " --qrels " + labels + " --k 2,5 --json " + (dir_ / "labels.json").string() +
                 " --run-out " + (dir_ / "lab.trec").string());
    ASSERT_EQ(e.status, 0) << e.out;
    const auto j = winnow::parse_json(slurp(dir_ / "labels.json"), "labels.json");
    const auto run2 = winnow::eval::read_trec_run((dir_ / "lab.k2.trec").string());
    double expected = 0.0;
    std::size_t n_queries = 0;
    for (const auto& [qid, entries] : run2.results) {
        if (q.find(qid) == nullptr) continue;
        ++n_queries;
        for (const auto& e : entries) expected += q.grade(qid, e.docno) >= 1 ? 1.0 / 5.0 : 0.0;
    }
    ASSERT_GT(n_queries, 0u);
    EXPECT_EQ(j["queries"], n_queries);
    EXPECT_NEAR(j["rows"][0]["metrics"]["P_5"].get<double>(), expected / static_cast<double>(n_queries), 1e-12);
}

TEST(EvalCliShared, AdiSweepAgreesWithTrecEvalMode) {
    const std::string adi = std::string(WINNOW_SHARED_DIR) + "/data/ir/adi";
    if (!fs::exists(kWinnow) || !fs::exists(adi)) GTEST_SKIP();
    const fs::path dir = fs::temp_directory_path() / ("winnow_eval_adi_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto r = run(kWinnow + " eval --dataset " + adi + " --cache-dir " + (dir / "cache").string() + " --k 10,100" +
                 " --json " + (dir / "adi.json").string() + " --run-out " + (dir / "adi.trec").string() +
                 " --qrels-out " + (dir / "adi.qrels").string() + " --quiet");
    ASSERT_EQ(r.status, 0) << r.out;
    const auto j = winnow::parse_json(slurp(dir / "adi.json"), "adi.json");
    EXPECT_EQ(j["queries"], 35);
    const auto qrels = winnow::eval::read_trec_qrels((dir / "adi.qrels").string());
    EXPECT_EQ(qrels.n_judgments(), 170u);
    const auto run100 = winnow::eval::read_trec_run((dir / "adi.k100.trec").string());
    const auto res = winnow::eval::evaluate(run100, qrels, winnow::eval::parse_measures("recall_100,map,ndcg_cut_10"));
    EXPECT_NEAR(res.value("recall_100"), j["rows"][2]["metrics"]["recall_100"].get<double>(), 1e-12);
    EXPECT_NEAR(res.value("map"), j["rows"][2]["metrics"]["map"].get<double>(), 1e-12);
    EXPECT_GT(res.value("ndcg_cut_10"), 0.3);  // BM25 on ADI: about 0.47
    fs::remove_all(dir);
}

}  // namespace
