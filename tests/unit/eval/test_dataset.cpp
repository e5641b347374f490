// Collection loading: the published counts of every shared collection, and each format's quirks.
#include <gtest/gtest.h>

#include <filesystem>

#include "eval/dataset.h"
#include "winnow/error.h"

namespace winnow::eval {
namespace {

const std::string kIr = std::string(WINNOW_SHARED_DIR) + "/data/ir/";

struct Expected {
    const char* dir;
    const char* kind;
    std::size_t n_queries;        // all queries in the collection
    std::size_t n_judged;         // queries with judgments in the test split
    std::size_t n_judgments;      // (query, doc) pairs in the test split
};

class SharedCollections : public ::testing::TestWithParam<Expected> {};

TEST_P(SharedCollections, PublishedCounts) {
    const auto& e = GetParam();
    if (!std::filesystem::exists(kIr + e.dir)) GTEST_SKIP() << "no shared collection " << e.dir;
    Dataset ds = load_dataset(kIr + e.dir);
    EXPECT_EQ(ds.kind, e.kind);
    EXPECT_EQ(ds.queries.size(), e.n_queries);
    EXPECT_EQ(ds.default_split(), "test");
    EXPECT_EQ(ds.qrels("test").n_queries(), e.n_judged);
    EXPECT_EQ(ds.qrels("test").n_judgments(), e.n_judgments);
    EXPECT_EQ(ds.queries_for("test").size(), e.n_judged);
    for (const auto& p : ds.corpus_paths) EXPECT_TRUE(std::filesystem::exists(p)) << p;
}

INSTANTIATE_TEST_SUITE_P(Ir, SharedCollections,
                         ::testing::Values(Expected{"adi", "smart", 35, 35, 170},
                                           Expected{"beir-scifact", "beir", 1109, 300, 339},
                                           Expected{"cacm", "smart", 64, 52, 796},
                                           Expected{"cisi", "smart", 112, 76, 3114},
                                           Expected{"cranfield", "cranfield", 225, 225, 1837},
                                           Expected{"lisa", "lisa", 35, 35, 379},
                                           Expected{"medline", "smart", 30, 30, 696},
                                           Expected{"npl-vaswani", "trec", 93, 93, 2083},
                                           Expected{"subset-dbpedia-agentset", "beir", 50, 40, 3709},
                                           Expected{"subset-msmarco-agentset", "beir", 50, 43, 4102},
                                           Expected{"wikiqa-test", "wikiqa", 243, 243, 2351}),
                         [](const auto& info) {
                             std::string n = info.param.dir;
                             for (auto& c : n) c = (c == '-') ? '_' : c;
                             return n;
                         });

TEST(Dataset, CranfieldPositionsAndReversedGrades) {
    if (!std::filesystem::exists(kIr + "cranfield")) GTEST_SKIP();
    Dataset ds = load_dataset(kIr + "cranfield");
    // The third record of cran.qry is ".I 004"; it is query 3 in cranqrel.
    EXPECT_EQ(ds.queries[2].id, "3");
    EXPECT_EQ(ds.queries[2].text.substr(0, 20), "what problems of hea");
    const Qrels& q = ds.qrels("test");
    EXPECT_EQ(q.grade("1", "184"), 3);  // code 2
    EXPECT_EQ(q.grade("1", "12"), 2);   // code 3
    std::map<int, std::size_t> by_grade;
    for (const auto& [qid, docs] : q.judgments) {
        for (const auto& [d, g] : docs) ++by_grade[g];
    }
    EXPECT_EQ(by_grade, (std::map<int, std::size_t>{{0, 225}, {1, 363}, {2, 734}, {3, 387}, {4, 128}}));
}

TEST(Dataset, CacmDropsEmptyRecordAndLeadingZeros) {
    if (!std::filesystem::exists(kIr + "cacm")) GTEST_SKIP();
    Dataset ds = load_dataset(kIr + "cacm");
    EXPECT_EQ(ds.queries.back().id, "64");
    EXPECT_EQ(ds.qrels("test").grade("1", "1410"), 1);  // "01 1410 0 0"
    ASSERT_EQ(ds.notes.size(), 2u);
    EXPECT_NE(ds.notes[0].find("1 query record(s) without text dropped"), std::string::npos);
    EXPECT_NE(ds.notes[1].find("zero-padded"), std::string::npos);
    if (std::filesystem::exists(kIr + "adi")) {
        EXPECT_TRUE(load_dataset(kIr + "adi").notes.empty());
    }
}

TEST(Dataset, GradedBeirKeepsGrades) {
    if (!std::filesystem::exists(kIr + "subset-dbpedia-agentset")) GTEST_SKIP();
    Dataset ds = load_dataset(kIr + "subset-dbpedia-agentset");
    std::size_t n2 = 0;
    std::size_t n_rel = 0;
    for (const auto& [qid, docs] : ds.qrels("test").judgments) {
        for (const auto& [d, g] : docs) n2 += g == 2;
        n_rel += ds.qrels("test").n_relevant(qid);
    }
    EXPECT_EQ(n2, 266u);
    EXPECT_EQ(n_rel, 880u);
    EXPECT_THROW(ds.qrels("train"), Error);
}

TEST(Dataset, SplitErrorsNameAvailableSplits) {
    if (!std::filesystem::exists(kIr + "beir-scifact")) GTEST_SKIP();
    Dataset ds = load_dataset(kIr + "beir-scifact");
    EXPECT_EQ(ds.qrels("train").n_queries(), 809u);
    try {
        ds.qrels("dev");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::NotFound);
        EXPECT_NE(std::string(e.what()).find("test, train"), std::string::npos);
    }
}

TEST(Dataset, FormatParsers) {
    auto topics = parse_trec_topics(
        "<top>\n<num> Number: 301\n<title> Topic: International Organized Crime\n<desc> Description:\nx\n</top>\n"
        "<top>\n<num>2</num><title>\nTWO\n</title>\n</top>\n",
        "t");
    ASSERT_EQ(topics.size(), 2u);
    EXPECT_EQ(topics[0].id, "301");
    EXPECT_EQ(topics[0].text, "International Organized Crime");
    EXPECT_EQ(topics[1].text, "TWO");
    auto smart = parse_smart_queries(".I 001\r\n.T\r\nTitle\r\n.W\r\nsome  text\r\n.I 0\r\n", "s");
    ASSERT_EQ(smart.size(), 1u);
    EXPECT_EQ(smart[0].id, "1");
    EXPECT_EQ(smart[0].text, "Title some text");
    auto lisa = parse_lisa_judgments("1 2 3392 3396\n 2 1\n 7\n", "n");
    EXPECT_EQ(lisa.n_judgments(), 3u);
    EXPECT_EQ(lisa.grade("2", "7"), 1);
    EXPECT_THROW(parse_lisa_judgments("1 3 4 5", "n"), Error);
    auto lq = parse_lisa_queries("1\nFIRST LINE\nSECOND. #\n2\nB #\n", "q");
    ASSERT_EQ(lq.size(), 2u);
    EXPECT_EQ(lq[0].text, "FIRST LINE SECOND.");
    auto beir = parse_beir_qrels("query-id\tcorpus-id\tscore\r\n1\t31715818\t1\r\n2\t9\t0\r\n", "b");
    EXPECT_EQ(beir.n_judgments(), 2u);
    EXPECT_THROW(parse_beir_qrels("1\t2\n", "b"), Error);
    EXPECT_THROW(parse_beir_queries("{\"text\": \"no id\"}\n", "q"), Error);
    EXPECT_THROW(load_dataset(std::string(WINNOW_SOURCE_DIR) + "/include"), Error);
}

}  // namespace
}  // namespace winnow::eval
