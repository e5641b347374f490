#include <gtest/gtest.h>

#include <string>

#include "ingest/chunker.h"
#include "ingest/document.h"
#include "winnow/tokenizer.h"
#include "winnow/error.h"

using namespace winnow::ingest;

namespace {

std::string body_of(const Document& d, const Chunk& c) { return d.text.substr(c.begin, c.end - c.begin); }

std::string long_paragraph(int sentences) {
    std::string s;
    for (int i = 0; i < sentences; ++i) s += "Sentence number " + std::to_string(i) + " talks about travel expenses and meals. ";
    return s;
}

}  // namespace

TEST(TokenCounter, Approximate) {
    const auto c = TokenCounter::approximate();
    EXPECT_EQ(c.count(""), 0u);
    EXPECT_EQ(c.count("a b c"), 3u);
    EXPECT_EQ(c.count("Hello, world!"), 4u);
    EXPECT_EQ(c.count("reimbursement"), 3u);  // 13 letters -> 3 pieces
    EXPECT_EQ(c.count("caf\xC3\xA9"), 1u);
}

TEST(Sentences, SplitsButNotAbbreviations) {
    const auto s = sentence_starts("Dr. Smith approved it. The total was $5.20 e.g. for meals. Next one! Ok");
    // starts: 0, "The", "Next", "Ok"
    ASSERT_EQ(s.size(), 4u);
}

TEST(Chunker, HeadingPathIsCarriedIntoEveryChunk) {
    std::string md = "# Handbook\n\n## Travel\n\n### Meals\n\n" + long_paragraph(30) + "\n\n## Office\n\nPens are free.\n";
    Document d = parse_markdown(md, "h.md");
    ChunkOptions o;
    o.size_tokens = 64;
    o.overlap_tokens = 0;
    auto chunks = chunk_document(d, o, TokenCounter::approximate());
    ASSERT_GT(chunks.size(), 3u);
    for (const auto& c : chunks) {
        EXPECT_LE(c.n_tokens, o.size_tokens) << c.text;
        if (c.text.find("Pens are free") != std::string::npos) {
            // The Office section's heading travels with its text (in the body or as the context).
            EXPECT_TRUE(c.text.find("## Office") != std::string::npos || c.context == "Handbook > Office") << c.text;
        } else if (c.ordinal > 0) {
            EXPECT_EQ(c.context, "Handbook > Travel > Meals") << c.text;
            EXPECT_EQ(c.text.rfind("Handbook > Travel > Meals\n", 0), 0u) << c.text;
        }
    }
    // Chunks cover the document in order; ordinals count up.
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        EXPECT_EQ(chunks[i].ordinal, i);
        if (i) {
            EXPECT_LE(chunks[i - 1].begin, chunks[i].begin);
        }
    }
}

TEST(Chunker, TableRowsAreNeverSplitAndHeaderRepeats) {
    std::string md = "# Limits\n\n| Category | Limit | Approver |\n|---|---|---|\n";
    for (int i = 0; i < 40; ++i) {
        md += "| Category " + std::to_string(i) + " | $" + std::to_string(100 + i) + " per day | Manager " +
              std::to_string(i) + " |\n";
    }
    Document d = parse_markdown(md, "t.md");
    ChunkOptions o;
    o.size_tokens = 60;
    o.overlap_tokens = 0;
    auto chunks = chunk_document(d, o, TokenCounter::approximate());
    ASSERT_GT(chunks.size(), 2u);
    for (const auto& c : chunks) {
        const std::string body = body_of(d, c);
        // Every body line is a whole row.
        std::size_t start = 0;
        while (start < body.size()) {
            std::size_t nl = body.find('\n', start);
            if (nl == std::string::npos) nl = body.size();
            const std::string line = body.substr(start, nl - start);
            if (!line.empty() && line[0] == '|') {
                EXPECT_EQ(line.back(), '|') << line;
            }
            start = nl + 1;
        }
        EXPECT_EQ(body.back(), '|');
        EXPECT_NE(c.text.find("| Category | Limit | Approver |"), std::string::npos) << c.text;
        EXPECT_LE(c.n_tokens, o.size_tokens);
    }
    // All 40 rows appear.
    std::string all;
    for (const auto& c : chunks) all += body_of(d, c);
    for (int i = 0; i < 40; ++i) EXPECT_NE(all.find("| Category " + std::to_string(i) + " |"), std::string::npos);
}

// A 1 KB approval table at size=64: rows stay whole (never "| EUR 10,000 |" alone), every chunk inside the
// table carries the header, and a row longer than the size is a chunk of its own with the header.
TEST(Chunker, OneKilobyteTableAtSize64KeepsRowsWhole) {
    std::string md = "# Approvals\n\n| Amount | Approver | Conditions |\n|:---|:---|:---|\n";
    const char* approvers[] = {"Team lead", "Department head", "Finance controller", "CFO", "CEO and CFO"};
    constexpr int kRows = 12;
    for (int i = 0; i < kRows; ++i) {
        md += "| EUR " + std::to_string((i + 1) * 1000) + " | " + approvers[i % 5] +
              " | written request with the quote attached |\n";
    }
    const std::string long_row =
        "| EUR 1,000,000 | Board | a board resolution, two independent quotes, a legal review of the contract, a "
        "risk assessment signed by the controller, a payment schedule agreed with treasury, the approval of the audit "
        "committee and a signed statement from the budget owner before any commitment is made to the supplier |";
    md += long_row + "\n";
    ASSERT_GE(md.size(), 1000u);
    Document d = parse_markdown(md, "approvals.md");
    ChunkOptions o;
    o.size_tokens = 64;
    o.overlap_tokens = 0;
    const TokenCounter counter = TokenCounter::approximate();
    ASSERT_GT(counter.count(long_row), o.size_tokens);
    auto chunks = chunk_document(d, o, counter);
    ASSERT_GT(chunks.size(), 1u);
    EXPECT_LT(chunks.size(), static_cast<std::size_t>(kRows));  // several rows per chunk, not a chunk per cell
    std::size_t over_size = 0;
    for (const auto& c : chunks) {
        const std::string body = body_of(d, c);
        std::size_t start = 0;
        while (start < body.size()) {
            std::size_t nl = body.find('\n', start);
            if (nl == std::string::npos) nl = body.size();
            const std::string line = body.substr(start, nl - start);
            start = nl + 1;
            if (line.empty() || line.front() == '#') continue;  // the heading chunk starts with it
            EXPECT_TRUE(line.size() > 2 && line.front() == '|' && line.back() == '|') << "not a whole row: " << line;
        }
        EXPECT_NE(c.text.find("| Amount | Approver | Conditions |"), std::string::npos) << c.text;
        if (c.n_tokens > o.size_tokens) {
            ++over_size;
            EXPECT_EQ(body, long_row);  // only the long row, alone, exceeds the size
        }
    }
    EXPECT_EQ(over_size, 1u);
    for (int i = 0; i < kRows; ++i) {
        std::string all;
        for (const auto& c : chunks) all += body_of(d, c) + "\n";
        EXPECT_NE(all.find("| EUR " + std::to_string((i + 1) * 1000) + " | " + approvers[i % 5] +
                           " | written request with the quote attached |"),
                  std::string::npos)
            << "row " << i;
    }
}

// Text extracted from an HTML page or a PDF starts with the title line: it is the title heading, so no chunk
// carries the title twice (once as context, once as text), and later chunks still name it as context.
TEST(Chunker, TitleLineOfExtractedTextIsNotRepeated) {
    const std::string title = "Sales Compensation and Bonus Plan 2025";
    Document d = parse_text("Intranet > People\n\n" + title + "\n\n" + long_paragraph(12), "sales.html");
    d.title = title;
    ChunkOptions o;
    o.size_tokens = 48;
    o.overlap_tokens = 0;
    auto chunks = chunk_document(d, o, TokenCounter::approximate());
    ASSERT_GT(chunks.size(), 1u);
    for (const auto& c : chunks) {
        const std::size_t first = c.text.find(title);
        ASSERT_NE(first, std::string::npos) << c.text;
        EXPECT_EQ(c.text.find(title, first + 1), std::string::npos) << "title twice: " << c.text;
    }
    EXPECT_NE(chunks[0].text.find(title + "\n\nSentence number 0"), std::string::npos) << chunks[0].text;
    EXPECT_EQ(chunks.back().context, title);
}

TEST(Chunker, ListItemsStayWholeAndParagraphsAreBoundaries) {
    std::string md = "# Rules\n\n";
    for (int i = 0; i < 12; ++i) md += "- Rule " + std::to_string(i) + ": keep every receipt for seven years.\n";
    md += "\nA closing paragraph about audits.\n";
    Document d = parse_markdown(md, "r.md");
    ChunkOptions o;
    o.size_tokens = 40;
    o.overlap_tokens = 0;
    auto chunks = chunk_document(d, o, TokenCounter::approximate());
    ASSERT_GT(chunks.size(), 1u);
    for (const auto& c : chunks) {
        const std::string body = body_of(d, c);
        EXPECT_TRUE(body.rfind("- Rule", 0) == 0 || body.rfind("# Rules", 0) == 0 || body.rfind("A closing", 0) == 0) << body;
        EXPECT_TRUE(body.back() == '.') << body;
    }
}

TEST(Chunker, OverlapRepeatsTrailingSentences) {
    Document d = parse_markdown("# T\n\n" + long_paragraph(20), "o.md");
    ChunkOptions o;
    o.size_tokens = 48;
    o.overlap_tokens = 12;
    auto chunks = chunk_document(d, o, TokenCounter::approximate());
    ASSERT_GT(chunks.size(), 2u);
    std::size_t overlapping = 0;
    for (std::size_t i = 1; i < chunks.size(); ++i) {
        if (chunks[i].begin < chunks[i - 1].end) ++overlapping;
        EXPECT_GT(chunks[i].end, chunks[i - 1].end);  // progress
    }
    EXPECT_GT(overlapping, 0u);
    o.overlap_tokens = 0;
    auto plain = chunk_document(d, o, TokenCounter::approximate());
    for (std::size_t i = 1; i < plain.size(); ++i) EXPECT_GE(plain[i].begin, plain[i - 1].end);
}

TEST(Chunker, HugeWordsAndTinySizesTerminate) {
    Document d = parse_text(std::string(5000, 'x') + " tail words here.", "w.txt");
    ChunkOptions o;
    o.size_tokens = 16;
    o.overlap_tokens = 4;
    auto chunks = chunk_document(d, o, TokenCounter::approximate());
    ASSERT_FALSE(chunks.empty());
    EXPECT_EQ(chunks.back().end, d.text.size() - 0);
    EXPECT_THROW(chunk_document(d, ChunkOptions{4, 0}, TokenCounter::approximate()), winnow::Error);
    EXPECT_THROW(chunk_document(d, ChunkOptions{16, 16}, TokenCounter::approximate()), winnow::Error);
    EXPECT_TRUE(chunk_document(parse_text("", "e.txt"), ChunkOptions{}, TokenCounter::approximate()).empty());
}

TEST(Chunker, ModelTokenizerCountsBoundChunks) {
    auto tok = std::make_shared<const winnow::Tokenizer>(
        winnow::Tokenizer::from_file(std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce"));
    const auto counter = TokenCounter::from_tokenizer(tok);
    EXPECT_EQ(counter.name(), "tokenizer");
    EXPECT_EQ(counter.count(""), 0u);
    EXPECT_GT(counter.count("expense reimbursement approval"), 0u);
    Document d = parse_markdown("# Policy\n\n## Meals\n\n" + long_paragraph(25) + "\n\n| A | B |\n|---|---|\n| 1 | 2 |\n", "p.md");
    ChunkOptions o;
    o.size_tokens = 80;
    o.overlap_tokens = 16;
    auto chunks = chunk_document(d, o, counter);
    ASSERT_GT(chunks.size(), 2u);
    for (const auto& c : chunks) {
        EXPECT_LE(c.n_tokens, o.size_tokens) << c.text;
        EXPECT_EQ(c.n_tokens, counter.count(c.text));
    }
}
