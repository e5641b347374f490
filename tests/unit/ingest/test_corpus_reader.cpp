#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>

#include "ingest/corpus_reader.h"
#include "support/temp_dir.h"
#include "winnow/error.h"

namespace winnow::ingest {
namespace {

namespace fs = std::filesystem;

using winnow::testing::TempDir;

std::vector<CorpusDocument> read_all(const std::string& path, CorpusFormat format, CorpusStats* stats = nullptr) {
    std::vector<CorpusDocument> docs;
    auto s = read_corpus(path, format, [&](CorpusDocument&& d) { docs.push_back(std::move(d)); });
    if (stats) *stats = s;
    return docs;
}

const char* kBeir =
    "{\"_id\": \"1\", \"title\": \"T one\", \"text\": \"first\", \"metadata\": {\"year\": 2020}}\n"
    "not json\n"
    "{\"title\": \"no id\"}\n"
    "\r\n"
    "{\"_id\": 42, \"text\": \"numeric id\"}\n";

TEST(CorpusReader, BeirJsonlSkipsBadLines) {
    TempDir tmp("winnow_corpus");
    const auto path = tmp.write("corpus.jsonl", kBeir);
    CorpusStats stats;
    const auto docs = read_all(path, CorpusFormat::Beir, &stats);
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[0].id, "1");
    EXPECT_EQ(docs[0].title, "T one");
    EXPECT_EQ(docs[0].text, "first");
    EXPECT_EQ(docs[0].metadata_json, "{\"year\":2020}");
    EXPECT_EQ(docs[1].id, "42");
    EXPECT_EQ(stats.documents, 2u);
    EXPECT_EQ(stats.skipped, 2u);
    EXPECT_EQ(stats.errors.size(), 2u);
    // The folder form finds corpus.jsonl, auto-detection too.
    EXPECT_EQ(read_all(tmp.path.string(), CorpusFormat::Auto).size(), 2u);
    EXPECT_EQ(detect_corpus_format(tmp.path.string()), CorpusFormat::Beir);
}

TEST(CorpusReader, BeirGzip) {
    TempDir tmp("winnow_corpus");
    const auto path = (tmp.path / "corpus.jsonl.gz").string();
    gzFile gz = gzopen(path.c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    const std::string text = kBeir;
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
    const auto docs = read_all(path, CorpusFormat::Auto);
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[1].text, "numeric id");
}

TEST(CorpusReader, Trec) {
    TempDir tmp("winnow_corpus");
    const auto path = tmp.write("docs.trec",
                                "<DOC>\n<DOCNO> AP-1 </DOCNO>\n<HEADLINE>Big news</HEADLINE>\n<TEXT>\nline one\n"
                                "line two\n</TEXT>\n</DOC>\n<DOC>\n<DOCNO>2</DOCNO>\nplain body\n</DOC>\n"
                                "<DOC>\nno docno\n</DOC>\n<DOC>\n<DOCNO>3</DOCNO>\nunterminated\n");
    CorpusStats stats;
    const auto docs = read_all(path, CorpusFormat::Auto, &stats);
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[0].id, "AP-1");
    EXPECT_EQ(docs[0].title, "Big news");
    EXPECT_EQ(docs[0].text, "line one\nline two");
    EXPECT_EQ(docs[1].id, "2");
    EXPECT_EQ(docs[1].text, "plain body");
    EXPECT_EQ(stats.skipped, 2u);
}

TEST(CorpusReader, SmartDotFormatWithCrlf) {
    TempDir tmp("winnow_corpus");
    const auto path = tmp.write("MED.ALL",
                                ".I 1\r\n.T\r\nA title\r\n.A\r\nSmith, J.\r\n.W\r\n  some abstract\r\ntext here\r\n"
                                ".I 2\r\n.W\r\nsecond\r\n.I 3\r\n");
    const auto docs = read_all(path, CorpusFormat::Auto);
    ASSERT_EQ(docs.size(), 3u);
    EXPECT_EQ(docs[0].id, "1");
    EXPECT_EQ(docs[0].title, "A title");
    EXPECT_EQ(docs[0].text, "some abstract\ntext here");
    EXPECT_EQ(docs[0].metadata_json, "{\"A\":\"Smith, J.\"}");
    EXPECT_EQ(docs[1].text, "second");
    EXPECT_EQ(docs[2].id, "3");  // an empty record (CACM has some) is kept: its id may be judged
    EXPECT_TRUE(docs[2].text.empty());
}

TEST(CorpusReader, SmartLisaLayout) {
    TempDir tmp("winnow_corpus");
    const auto path = tmp.write("LISA.txt",
                                "Document  1\nA TITLE\nON TWO LINES\n\nTHE ABSTRACT.\nMORE.\n"
                                "********************************************\nDocument 2\nT2\n\nA2\n"
                                "********************************************\n");
    const auto docs = read_all(path, CorpusFormat::Smart);
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[0].id, "1");
    EXPECT_EQ(docs[0].title, "A TITLE\nON TWO LINES");
    EXPECT_EQ(docs[0].text, "THE ABSTRACT.\nMORE.");
    EXPECT_EQ(docs[1].id, "2");
    EXPECT_EQ(docs[1].text, "A2");
}

TEST(CorpusReader, FilesAndFolders) {
    TempDir tmp("winnow_corpus");
    tmp.write("notes/a.md", "\n# Heading One\n\nBody text.\n");
    tmp.write("notes/sub/b.txt", "plain words");
    tmp.write("notes/.hidden/c.md", "# hidden");
    tmp.write("notes/image.png", "\x89PNG");
    tmp.write("notes/bad.txt", std::string("bad \xff\xfe utf8"));
    CorpusStats stats;
    const auto docs = read_all((tmp.path / "notes").string(), CorpusFormat::Auto, &stats);
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[0].title, "Heading One");
    EXPECT_EQ(docs[0].id, (tmp.path / "notes/a.md").string());
    EXPECT_EQ(docs[0].source_path, docs[0].id);
    EXPECT_EQ(docs[1].title, "b");
    EXPECT_EQ(docs[1].text, "plain words");
    EXPECT_EQ(stats.skipped, 1u);  // bad.txt: not UTF-8
}

TEST(CorpusReader, FileExtractorRegistry) {
    TempDir tmp("winnow_corpus");
    const auto path = tmp.write("page.custom", "<b>x</b>");
    EXPECT_FALSE(read_file_document(path).has_value());
    register_file_extractor(".CUSTOM", [](const std::string& p) -> std::optional<CorpusDocument> {
        CorpusDocument d;
        d.id = p;
        d.text = "extracted";
        return d;
    });
    const auto d = read_file_document(path);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->text, "extracted");
}

TEST(CorpusReader, Errors) {
    EXPECT_THROW(read_all("/nonexistent/corpus.jsonl", CorpusFormat::Beir), Error);
    EXPECT_THROW(parse_corpus_format("csv"), Error);
    EXPECT_EQ(parse_corpus_format("smart"), CorpusFormat::Smart);
    EXPECT_EQ(corpus_format_name(CorpusFormat::Trec), "trec");
    TempDir tmp("winnow_corpus");
    EXPECT_THROW(read_all(tmp.path.string(), CorpusFormat::Beir), Error);  // folder without corpus.jsonl
}

}  // namespace
}  // namespace winnow::ingest
