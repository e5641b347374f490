// Inputs found by the fuzz targets in tests/fuzz/ (see tests/README.md): each once crashed the
// process; now each must give a skipped record or a winnow::Error.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/json.h"
#include "ingest/corpus_reader.h"
#include "ingest/reader.h"
#include "winnow/error.h"

namespace winnow::ingest {
namespace {

// fuzz_corpus_readers: a number too large for a double made nlohmann::json throw out_of_range
// (406), which escaped the parse_error handlers and terminated the process.
constexpr const char* kOverflowLines =
    "{\"id\":\"d0\",\"title\":\"One\",\"text\":\"First doc\"}\n"
    "{\"_n\":1.5e320}\n"
    "{\"id\":\"d2\",\"text\":\"big\",\"n\":-1e400}\n";

TEST(FuzzRegressions, JsonlNumberOverflowIsASkippedRecord) {
    IngestSummary summary;
    std::vector<Document> docs;
    ASSERT_NO_THROW(docs = parse_jsonl(kOverflowLines, "fuzz.jsonl", &summary));
    ASSERT_EQ(docs.size(), 1u);
    EXPECT_EQ(docs[0].id, "d0");
    EXPECT_EQ(summary.records_skipped, 2u);
    // Without a summary the bad line is an Error, not some other exception.
    EXPECT_THROW(parse_jsonl("{\"text\":\"t\",\"n\":1e999}\n", "fuzz.jsonl"), Error);
}

TEST(FuzzRegressions, BeirNumberOverflowIsASkippedRecord) {
    const std::string path = ::testing::TempDir() + "winnow_fuzz_overflow_" + std::to_string(::getpid()) + ".jsonl";
    std::ofstream(path, std::ios::binary) << "{\"_id\":\"a\",\"text\":\"ok\"}\n{\"_id\":\"b\",\"text\":\"x\",\"m\":9e999}\n";
    std::vector<std::string> ids;
    CorpusStats stats;
    ASSERT_NO_THROW(stats = read_corpus(path, CorpusFormat::Beir, [&](CorpusDocument&& d) { ids.push_back(d.id); }));
    std::remove(path.c_str());
    EXPECT_EQ(ids, std::vector<std::string>{"a"});
    EXPECT_EQ(stats.documents, 1u);
    EXPECT_EQ(stats.skipped, 1u);
}

TEST(FuzzRegressions, ParseJsonNumberOverflowIsCorrupt) {
    try {
        (void)parse_json("{\"x\": 1.5e320}", "x.json");
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Corrupt);
        EXPECT_NE(std::string(e.what()).find("x.json"), std::string::npos);
    }
}

}  // namespace
}  // namespace winnow::ingest
