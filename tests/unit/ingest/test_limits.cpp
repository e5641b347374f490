// Input limits of the corpus readers (hardening): a record or file over its limit is skipped with
// an error naming the limit, the rest is read. Before the limits a record was held whole in memory
// however large (one JSONL line, one TREC <DOC>) and any file was read whole.
#include <filesystem>

#include <gtest/gtest.h>

#include "ingest/corpus_reader.h"
#include "ingest/document.h"
#include "minimal_pdf.h"
#include "support/temp_dir.h"
#include "winnow/error.h"

namespace winnow::ingest {
namespace {

namespace fs = std::filesystem;

using winnow::testing::TempDir;

struct Read {
    std::vector<std::string> ids;
    CorpusStats stats;
};

Read read_with(const std::string& path, CorpusFormat format, const CorpusLimits& limits) {
    Read r;
    r.stats = read_corpus(
        path, format, [&](CorpusDocument&& d) { r.ids.push_back(d.id); }, limits);
    return r;
}

void expect_skipped_naming(const Read& r, const std::string& limit_name, std::size_t limit) {
    ASSERT_EQ(r.stats.skipped, 1u);
    ASSERT_EQ(r.stats.errors.size(), 1u);
    EXPECT_NE(r.stats.errors[0].find(limit_name), std::string::npos) << r.stats.errors[0];
    EXPECT_NE(r.stats.errors[0].find(std::to_string(limit)), std::string::npos) << r.stats.errors[0];
}

const CorpusLimits kSmall{.max_file_bytes = 1000, .max_document_bytes = 1000};

TEST(CorpusLimits, BeirRecordOverTheLimitIsSkipped) {
    TempDir tmp("winnow_limits");
    const std::string big(5000, 'x');
    const auto path = tmp.write("corpus.jsonl", R"({"_id": "a", "text": "small"})"
                                                "\n"
                                                R"({"_id": "big", "text": ")" +
                                                    big + "\"}\n" + R"({"_id": "c", "text": "small too"})" + "\n");
    const Read r = read_with(path, CorpusFormat::Beir, kSmall);
    EXPECT_EQ(r.ids, (std::vector<std::string>{"a", "c"}));
    expect_skipped_naming(r, "max_document_bytes", 1000);
    EXPECT_NE(r.stats.errors[0].find(":2:"), std::string::npos) << r.stats.errors[0];  // the line number
    // The default limit keeps it.
    EXPECT_EQ(read_with(path, CorpusFormat::Beir, CorpusLimits{}).ids.size(), 3u);
}

TEST(CorpusLimits, TrecDocumentOverTheLimitIsSkipped) {
    TempDir tmp("winnow_limits");
    std::string big;
    for (int i = 0; i < 100; ++i) big += "a line of the long document body\n";  // 3300 bytes over many lines
    const auto path = tmp.write("docs.trec", "<DOC>\n<DOCNO> d1 </DOCNO>\nshort\n</DOC>\n<DOC>\n<DOCNO> d2 </DOCNO>\n" +
                                                 big + "</DOC>\n<DOC>\n<DOCNO> d3 </DOCNO>\nshort\n</DOC>\n");
    const Read r = read_with(path, CorpusFormat::Trec, kSmall);
    EXPECT_EQ(r.ids, (std::vector<std::string>{"d1", "d3"}));
    expect_skipped_naming(r, "max_document_bytes", 1000);
}

TEST(CorpusLimits, SmartDocumentOverTheLimitIsSkipped) {
    TempDir tmp("winnow_limits");
    std::string big;
    for (int i = 0; i < 100; ++i) big += "words of the abstract\n";
    const auto path = tmp.write(
        "docs.all", ".I 1\n.T\nfirst\n.W\nshort\n.I 2\n.T\nsecond\n.W\n" + big + ".I 3\n.T\nthird\n.W\nshort\n");
    const Read r = read_with(path, CorpusFormat::Smart, kSmall);
    EXPECT_EQ(r.ids, (std::vector<std::string>{"1", "3"}));
    expect_skipped_naming(r, "max_document_bytes", 1000);
}

TEST(CorpusLimits, FileOverTheLimitIsSkipped) {
    TempDir tmp("winnow_limits");
    fs::create_directories(tmp.path / "docs");
    tmp.write("docs/small.txt", "a small file");
    tmp.write("docs/large.txt", std::string(2000, 'y'));
    const Read r = read_with((tmp.path / "docs").string(), CorpusFormat::Files, kSmall);
    ASSERT_EQ(r.ids.size(), 1u);
    EXPECT_NE(r.ids[0].find("small.txt"), std::string::npos);
    expect_skipped_naming(r, "max_file_bytes", 1000);
    EXPECT_NE(r.stats.errors[0].find("large.txt"), std::string::npos) << r.stats.errors[0];
}

TEST(CorpusLimits, LineReaderReadsPastAnOversizedLine) {
    TempDir tmp("winnow_limits");
    const auto path = tmp.write("lines.txt", "one\n" + std::string(100000, 'z') + "\nthree\n");
    LineReader reader(path);
    reader.set_max_line_bytes(1000);
    std::string line;
    ASSERT_TRUE(reader.next(line));
    EXPECT_EQ(line, "one");
    EXPECT_FALSE(reader.oversized());
    ASSERT_TRUE(reader.next(line));
    EXPECT_TRUE(reader.oversized());
    EXPECT_TRUE(line.empty());
    ASSERT_TRUE(reader.next(line));
    EXPECT_EQ(line, "three");
    EXPECT_EQ(reader.line_number(), 3u);
    EXPECT_FALSE(reader.next(line));
}

TEST(CorpusLimits, PdfTextOverTheLimitStopsExtraction) {
    std::vector<std::vector<std::string>> pages;
    for (int p = 0; p < 5; ++p) pages.push_back({"Page " + std::to_string(p) + " has a line of text on it."});
    const std::string pdf = test::make_pdf(pages);
    EXPECT_EQ(parse_pdf(pdf, "doc.pdf").blocks.size(), 5u);
    try {
        parse_pdf(pdf, "doc.pdf", 60);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::TooLarge);
        const std::string m = e.what();
        EXPECT_NE(m.find("max_document_bytes"), std::string::npos) << m;
        EXPECT_NE(m.find("pages 1-2 of 5"), std::string::npos) << m;
    }
}

}  // namespace
}  // namespace winnow::ingest
