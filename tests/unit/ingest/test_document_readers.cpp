#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "ingest/chunker.h"
#include "ingest/document.h"
#include "ingest/reader.h"
#include "unit/ingest/minimal_pdf.h"
#include "support/temp_dir.h"
#include "winnow/error.h"

namespace fs = std::filesystem;
using namespace winnow::ingest;

namespace {

std::vector<std::string> block_texts(const Document& d, BlockKind kind) {
    std::vector<std::string> out;
    for (const auto& b : d.blocks) {
        if (b.kind == kind) out.emplace_back(d.block_text(b));
    }
    return out;
}

using TempDir = winnow::testing::TempDir;

}  // namespace

TEST(Markdown, BlocksHeadingsListsTablesCode) {
    const std::string md =
        "---\ntitle: \"Front Title\"\n---\n"
        "# Expense Policy\n\nIntro paragraph\nspanning two lines.\n\n"
        "## Limits\n\n- Meals: $75 per day\n  continued line\n- Hotel: $250 per night\n1. numbered item\n\n"
        "| Amount | Approver |\n|---|---|\n| up to $500 | Manager |\n| over $500 | Director |\n\n"
        "```\ncode | not a table\n```\n\nSetext Heading\n--------------\n\nLast.\n";
    Document d = parse_markdown(md, "policy.md");
    EXPECT_EQ(d.title, "Front Title");
    auto headings = block_texts(d, BlockKind::Heading);
    ASSERT_EQ(headings.size(), 3u);
    EXPECT_EQ(headings[0], "# Expense Policy");
    EXPECT_EQ(headings[2], "Setext Heading");
    EXPECT_EQ(heading_text(headings[0]), "Expense Policy");
    auto items = block_texts(d, BlockKind::ListItem);
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(items[0], "- Meals: $75 per day\n  continued line");
    EXPECT_EQ(items[2], "1. numbered item");
    auto rows = block_texts(d, BlockKind::TableRow);
    ASSERT_EQ(rows.size(), 3u);  // header (with separator) + 2 rows
    EXPECT_EQ(rows[0], "| Amount | Approver |\n|---|---|");
    EXPECT_EQ(rows[2], "| over $500 | Director |");
    for (const auto& b : d.blocks) {
        if (b.kind == BlockKind::TableRow) {
            EXPECT_EQ(d.text.substr(b.header_begin, b.header_end - b.header_begin), rows[0]);
        }
    }
    auto code = block_texts(d, BlockKind::Code);
    ASSERT_EQ(code.size(), 1u);
    EXPECT_EQ(code[0], "```\ncode | not a table\n```");
    auto paras = block_texts(d, BlockKind::Paragraph);
    ASSERT_EQ(paras.size(), 2u);
    EXPECT_EQ(paras[0], "Intro paragraph\nspanning two lines.");
    // Blocks are in order and inside the text.
    for (std::size_t i = 1; i < d.blocks.size(); ++i) EXPECT_LE(d.blocks[i - 1].end, d.blocks[i].begin);
}

TEST(Markdown, TitleFromFirstH1ElseFileName) {
    EXPECT_EQ(parse_markdown("## Sub\n\n# Main\n", "x.md").title, "Main");
    EXPECT_EQ(parse_markdown("just text\n", "dir/notes.md").title, "notes");
    EXPECT_TRUE(parse_markdown("", "e.md").blocks.empty());
}

TEST(Text, ParagraphsAndItems) {
    Document d = parse_text("Title line\n\nFirst para\nstill first.\n\n- item one\n- item two\n", "a.txt");
    EXPECT_EQ(d.title, "Title line");
    EXPECT_EQ(block_texts(d, BlockKind::Paragraph).size(), 2u);
    EXPECT_EQ(block_texts(d, BlockKind::ListItem).size(), 2u);
}

TEST(Html, StripsMarkupKeepsStructure) {
    const std::string html =
        "<!DOCTYPE html><html><head><title>Board &amp; Minutes</title><style>p{color:red}</style>"
        "<script>var x = '<p>not text</p>';</script></head><body>"
        "<h1>March Minutes</h1><!-- a comment --><p>Approved by <b>Dana&nbsp;Reyes</b> &mdash; the chair.</p>"
        "<ul><li>Item <i>one</i></li><li>Item two</li></ul>"
        "<table><tr><th>Dept</th><th>Bonus</th></tr><tr><td>Sales</td><td>10%</td></tr></table>"
        "<pre>line 1\n  line 2</pre><p>caf&#233; &#x263A; &unknown; 5 &lt; 6</p></body></html>";
    Document d = parse_html(html, "m.html");
    EXPECT_EQ(d.title, "Board & Minutes");
    EXPECT_EQ(d.text.find("not text"), std::string::npos);
    EXPECT_EQ(d.text.find("color"), std::string::npos);
    EXPECT_EQ(d.text.find("comment"), std::string::npos);
    auto headings = block_texts(d, BlockKind::Heading);
    ASSERT_EQ(headings.size(), 1u);
    EXPECT_EQ(headings[0], "March Minutes");
    auto paras = block_texts(d, BlockKind::Paragraph);
    ASSERT_EQ(paras.size(), 2u);
    EXPECT_EQ(paras[0], "Approved by Dana Reyes \xE2\x80\x94 the chair.");
    EXPECT_EQ(paras[1], "caf\xC3\xA9 \xE2\x98\xBA &unknown; 5 < 6");
    EXPECT_EQ(block_texts(d, BlockKind::ListItem), (std::vector<std::string>{"Item one", "Item two"}));
    auto rows = block_texts(d, BlockKind::TableRow);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], "Dept | Bonus");
    EXPECT_EQ(rows[1], "Sales | 10%");
    EXPECT_EQ(block_texts(d, BlockKind::Code), std::vector<std::string>{"line 1\n  line 2"});
}

TEST(Html, GarbageNeverThrows) {
    const std::string inputs[] = {"<", "<<<>>>", "<a href='x>", "&#99999999999;", "<script>", "</p></p><li>",
                                  std::string("\0\x01<b>\xff", 7)};
    for (const auto& in : inputs) EXPECT_NO_THROW(parse_html(in, "g.html")) << in;
}

TEST(Pdf, ParagraphsPagesAndTitle) {
    const std::string pdf = winnow::test::make_pdf(
        {{"Quarterly Report", "", "Revenue grew twelve per-", "cent in the fourth quarter.", "", "Costs fell."}, {"Page two."}},
        "Q4 Report");
    Document d = parse_pdf(pdf, "r.pdf");
    EXPECT_EQ(d.title, "Q4 Report");
    auto paras = block_texts(d, BlockKind::Paragraph);
    ASSERT_EQ(paras.size(), 4u);
    EXPECT_EQ(paras[1], "Revenue grew twelve percent in the fourth quarter.");
    EXPECT_EQ(paras[3], "Page two.");
}

TEST(Pdf, CorruptIsAnError) {
    try {
        parse_pdf("%PDF-1.4\ngarbage garbage", "bad.pdf");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::Corrupt);
        EXPECT_NE(std::string(e.what()).find("bad.pdf"), std::string::npos);
    }
    EXPECT_THROW(parse_pdf("hello", "x.pdf"), winnow::Error);
    const std::string good = winnow::test::make_pdf({{"text"}});
    EXPECT_THROW(parse_pdf(good.substr(0, good.size() / 3), "cut.pdf"), winnow::Error);
}

TEST(Jsonl, RecordsMetadataAndBadLines) {
    const std::string text = R"({"id": "d1", "title": "One", "text": "First doc.", "dept": "sales"}
not json
{"_id": 7, "text": "Second doc."}
{"title": "no text"}

{"text": "Third."}
)";
    IngestSummary summary;
    auto docs = parse_jsonl(text, "c.jsonl", &summary);
    ASSERT_EQ(docs.size(), 3u);
    EXPECT_EQ(docs[0].id, "d1");
    EXPECT_EQ(docs[0].title, "One");
    EXPECT_EQ(docs[0].metadata_json, R"({"dept":"sales"})");
    EXPECT_EQ(docs[1].id, "7");
    EXPECT_EQ(docs[2].id, "c.jsonl#6");
    EXPECT_EQ(summary.records_skipped, 2u);
    ASSERT_EQ(summary.skipped.size(), 2u);
    EXPECT_EQ(summary.skipped[0].path, "c.jsonl:2");
    EXPECT_THROW(parse_jsonl(text, "c.jsonl", nullptr), winnow::Error);
}

TEST(Formats, DetectAndParse) {
    EXPECT_EQ(detect_format("a/B.MD"), Format::Markdown);
    EXPECT_EQ(detect_format("x.htm"), Format::Html);
    EXPECT_EQ(detect_format("x.pdf"), Format::Pdf);
    EXPECT_EQ(detect_format("x.ndjson"), Format::Jsonl);
    EXPECT_EQ(detect_format("README"), Format::Text);
    EXPECT_EQ(parse_format("md"), Format::Markdown);
    EXPECT_THROW(parse_format("docx"), winnow::Error);
}

TEST(ReadPaths, BadFilesAreSkippedAndCounted) {
    TempDir dir;
    dir.write("a.md", "# A\n\nalpha\n");
    dir.write("sub/b.html", "<h1>B</h1><p>beta</p>");
    dir.write("c.pdf", winnow::test::make_pdf({{"gamma"}}));
    dir.write("d.jsonl", "{\"id\": \"d\", \"text\": \"delta\"}\n{broken\n");
    dir.write("broken.pdf", "%PDF-1.4 truncated");
    dir.write("binary.txt", std::string("abc\0\0\0def", 9));
    dir.write("ignored.bin", "not a document");
    dir.write(".hidden/e.md", "hidden");
    fs::create_symlink(dir.path / "missing-target.md", dir.path / "dangling.md");
    std::vector<std::string> ids;
    auto summary = read_paths({dir.path.string()}, {}, [&](Document&& d) { ids.push_back(fs::path(d.id).filename().string()); });
    EXPECT_EQ(summary.files_seen, 7u);
    EXPECT_EQ(summary.files_read, 4u);
    EXPECT_EQ(summary.files_skipped, 3u);
    EXPECT_EQ(summary.records_skipped, 1u);
    EXPECT_EQ(summary.documents, 4u);
    EXPECT_EQ(ids, (std::vector<std::string>{"a.md", "c.pdf", "d", "b.html"}));
    std::string reasons;
    for (const auto& s : summary.skipped) reasons += s.path + ": " + s.reason + "\n";
    EXPECT_NE(reasons.find("broken.pdf"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("binary"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("dangling.md"), std::string::npos) << reasons;
    EXPECT_NE(summary.to_string().find("3 skipped"), std::string::npos) << summary.to_string();
}

TEST(ReadPaths, MissingFileAndLimits) {
    IngestSummary s = read_paths({"/no/such/file.md"}, {}, [](Document&&) {});
    EXPECT_EQ(s.files_skipped, 1u);
    TempDir dir;
    const auto big = dir.write("big.txt", std::string(2000, 'x'));
    ReadOptions o;
    o.max_file_bytes = 1000;
    try {
        read_file(big, o);
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::TooLarge);
    }
    // Invalid UTF-8 is repaired, not fatal.
    const auto bad = dir.write("latin1.txt", "caf\xe9 au lait");
    auto docs = read_file(bad);
    ASSERT_EQ(docs.size(), 1u);
    EXPECT_EQ(docs[0].text, "caf\xEF\xBF\xBD au lait");
}

// Seeded garbage and mutated documents: every parser either succeeds or throws winnow::Error,
// and the chunker handles whatever they produce.
TEST(Robustness, GarbageAndMutationsNeverCrash) {
    std::mt19937 rng(7);
    const std::string seeds[] = {
        "# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- x\n  y\n\n```\ncode\n",
        "<html><title>x</title><table><tr><th>a<td>b</table><ul><li>i</ul><pre>p</pre>&#x41;&amp",
        "{\"id\": 1, \"text\": \"t\"}\n{\"text\": 5}\n[1,2]\n",
        winnow::test::make_pdf({{"hello", "", "world"}}),
    };
    std::size_t errors = 0;
    for (int round = 0; round < 300; ++round) {
        std::string input = seeds[round % 4];
        const int edits = 1 + static_cast<int>(rng() % 20);
        for (int e = 0; e < edits && !input.empty(); ++e) {
            const std::size_t pos = rng() % input.size();
            switch (rng() % 3) {
                case 0: input[pos] = static_cast<char>(rng() % 256); break;
                case 1: input.erase(pos, 1 + rng() % 8); break;
                default: input.insert(pos, std::string(1 + rng() % 4, static_cast<char>(rng() % 256))); break;
            }
        }
        try {
            std::vector<Document> docs;
            switch (round % 4) {
                case 0: docs.push_back(parse_markdown(input, "m.md")); break;
                case 1: docs.push_back(parse_html(input, "h.html")); break;
                case 2: docs = parse_jsonl(input, "j.jsonl", nullptr); break;
                default: docs.push_back(parse_pdf(input, "p.pdf")); break;
            }
            for (const auto& d : docs) {
                for (const auto& b : d.blocks) ASSERT_LE(b.end, d.text.size());
                ChunkOptions o;
                o.size_tokens = 16;
                o.overlap_tokens = 4;
                auto chunks = chunk_document(d, o, TokenCounter::approximate());
                for (const auto& c : chunks) ASSERT_LE(c.end, d.text.size());
            }
        } catch (const winnow::Error&) {
            ++errors;
        }
    }
    EXPECT_GT(errors, 0u);  // the corrupt PDFs and JSONL lines are reported, not accepted
}
