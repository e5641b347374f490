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
        if (i) EXPECT_LE(chunks[i - 1].begin, chunks[i].begin);
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
            if (!line.empty() && line[0] == '|') EXPECT_EQ(line.back(), '|') << line;
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
