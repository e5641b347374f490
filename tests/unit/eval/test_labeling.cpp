#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "eval/labeling.h"
#include "winnow/error.h"

namespace winnow::eval {
namespace {

namespace fs = std::filesystem;

// Query "q1" ranks d0..d9; query "q2" ranks e0..e9. Top 2 at k = 3 and k = 10 are the same
// documents here, except that the "reranker" reverses the list, so k changes the top.
FunctionRanker make_ranker() {
    return FunctionRanker("toy", true, [](const Query& q, std::size_t k) {
        RankerOutput out;
        const std::string prefix = q.id == "q1" ? "d" : "e";
        for (std::size_t i = 0; i < k && i < 10; ++i) {
            out.first_stage.push_back({prefix + std::to_string(i), 1.0, "Title " + std::to_string(i),
                                       "text of document " + std::to_string(i)});
        }
        out.final.assign(out.first_stage.rbegin(), out.first_stage.rend());
        return out;
    });
}

class Labeling : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("winnow_label_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
        path_ = (dir_ / "labels.qrels").string();
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
    std::string path_;
};

TEST_F(Labeling, UnionAcrossKShuffledWithoutOrder) {
    auto ranker = make_ranker();
    auto tasks = build_label_tasks(ranker, {{"q1", "first"}, {"q2", "second"}}, {3, 10}, 2, 7);
    ASSERT_EQ(tasks.size(), 2u);
    // k=3 final top 2: d2 d1; k=10: d9 d8 -> union of 4.
    std::vector<std::string> ids;
    for (const auto& c : tasks[0].candidates) ids.push_back(c.doc_id);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"d1", "d2", "d8", "d9"}));
    EXPECT_EQ(tasks[0].candidates[0].text.substr(0, 16), "text of document");
    // Same seed, same order; another seed, (here) another order.
    auto again = build_label_tasks(ranker, {{"q1", "first"}, {"q2", "second"}}, {3, 10}, 2, 7);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(again[0].candidates[i].doc_id, tasks[0].candidates[i].doc_id);
    EXPECT_THROW(build_label_tasks(ranker, {{"q1", "x"}}, {3}, 0, 7), Error);
}

TEST_F(Labeling, SessionWritesResumesAndSurvivesAPartialLine) {
    auto ranker = make_ranker();
    auto tasks = build_label_tasks(ranker, {{"q1", "first"}, {"q2", "second"}}, {3, 10}, 2, 7);
    // Session 1: relevant, an invalid answer then not relevant, skip, then the input ends.
    std::istringstream in1("r\nwhat\nn\ns\n");
    std::ostringstream out1;
    auto s1 = run_labeling(tasks, path_, in1, out1);
    EXPECT_EQ(s1.labelled, 2u);
    EXPECT_EQ(s1.relevant, 1u);
    EXPECT_EQ(s1.skipped, 1u);
    EXPECT_TRUE(s1.quit);
    EXPECT_EQ(s1.remaining, 5u);
    EXPECT_NE(out1.str().find("query q1: first"), std::string::npos);
    EXPECT_EQ(out1.str().find("1.0"), std::string::npos);  // no scores shown
    EXPECT_NE(out1.str().find("r (or y, 1) = relevant"), std::string::npos);
    auto q = read_trec_qrels(path_);
    EXPECT_EQ(q.n_judgments(), 2u);
    EXPECT_EQ(q.grade("q1", tasks[0].candidates[0].doc_id, -1), 1);
    EXPECT_EQ(q.grade("q1", tasks[0].candidates[1].doc_id, -1), 0);

    // A crash in the middle of an append leaves a partial line: it is dropped on resume.
    { std::ofstream(path_, std::ios::app) << "q1 0 d"; }
    // Session 2 resumes: the skipped pair is asked again first, then the rest; q quits.
    std::istringstream in2("n\nr\nq\n");
    std::ostringstream out2;
    auto s2 = run_labeling(tasks, path_, in2, out2);
    EXPECT_EQ(s2.already, 2u);
    EXPECT_EQ(s2.labelled, 2u);
    EXPECT_TRUE(s2.quit);
    EXPECT_EQ(read_trec_qrels(path_).n_judgments(), 4u);
    EXPECT_EQ(read_trec_qrels(path_).grade("q1", tasks[0].candidates[2].doc_id, -1), 0);

    // Session 3 finishes everything.
    std::istringstream in3("r\nn\nr\nn\n");
    std::ostringstream out3;
    auto s3 = run_labeling(tasks, path_, in3, out3);
    EXPECT_EQ(s3.already, 4u);
    EXPECT_EQ(s3.labelled, 4u);
    EXPECT_EQ(s3.remaining, 0u);
    EXPECT_FALSE(s3.quit);
    EXPECT_EQ(read_trec_qrels(path_).n_judgments(), 8u);

    // The labels now judge each k: precision of the final top 2 for k = 3 and k = 10.
    SweepOptions options;
    options.ks = {3, 10};
    options.measures = {"P_2"};
    auto r = run_sweep(ranker, {{"q1", "first"}, {"q2", "second"}}, read_trec_qrels(path_), options);
    const auto labels = read_trec_qrels(path_);
    for (std::size_t k : {3, 10}) {
        double expected = 0.0;
        for (const char* qid : {"q1", "q2"}) {
            auto out = ranker.rank({qid, ""}, k);
            for (int i = 0; i < 2; ++i) expected += labels.grade(qid, out.final[i].doc_id) >= 1 ? 0.5 : 0.0;
        }
        EXPECT_DOUBLE_EQ(r.find(k, Stage::Reranked)->eval.value("P_2"), expected / 2.0) << "k=" << k;
    }
}

TEST_F(Labeling, MissingFileMeansNothingLabelled) {
    EXPECT_TRUE(load_labelled_pairs((dir_ / "none.qrels").string()).empty());
    { std::ofstream(path_) << "not a qrels line\n"; }
    EXPECT_THROW(load_labelled_pairs(path_), Error);
}

}  // namespace
}  // namespace winnow::eval
