#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "expect_same_hits.h"
#include "lexical/file_format.h"
#include "lexical/inverted_index.h"
#include "lexical/segment_searcher.h"

namespace winnow::lexical {
namespace {

InvertedIndex toy_index() {
    InvertedIndex::Builder b;
    b.add(10, "The quick brown fox");  // quick brown fox       (length 3)
    b.add(11, "quick quick dog");      // quick x2, dog         (length 3)
    b.add(12, "Lazy dogs sleep");      // lazi dog sleep        (length 3)
    b.add(13, "the and of");           // only stop words: length 0, not counted in docCount
    return b.finish(7, "english");
}

TEST(InvertedIndex, ToyCorpusStatistics) {
    const auto ix = toy_index();
    EXPECT_EQ(ix.doc_count(), 4u);
    EXPECT_EQ(ix.docs_with_terms(), 3u);
    EXPECT_EQ(ix.sum_total_term_freq(), 9u);
    EXPECT_EQ(ix.generation(), 7);
    EXPECT_EQ(ix.doc_freq(ix.term_id("quick")), 2u);
    EXPECT_EQ(ix.doc_freq(ix.term_id("dog")), 2u);
    EXPECT_EQ(ix.term_id("the"), -1);
}

TEST(InvertedIndex, ScoresEqualHandComputedLucene) {
    const auto ix = toy_index();
    // N = 3, avgdl = 9 / 3 = 3; every document has length 3, so k1 * (1 - b + b * dl / avgdl) = k1 = 0.9.
    // idf(quick) = idf(dog) = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln 1.6
    const double idf = std::log(1.6);
    const double doc11 = idf * (2.0 / (2.0 + 0.9)) + idf * (1.0 / (1.0 + 0.9));
    const double doc10 = idf * (1.0 / (1.0 + 0.9));
    EXPECT_NEAR(doc11, 0.571511, 2e-6);  // by hand: 0.470004 * (0.689655 + 0.526316)
    const auto hits = ix.search("quick dog", 10);
    ASSERT_EQ(hits.size(), 3u);
    EXPECT_EQ(hits[0].chunk_id, 11);
    EXPECT_NEAR(hits[0].score, doc11, 1e-6);
    // Ties are broken by the lower document number, as in Lucene.
    EXPECT_EQ(hits[1].chunk_id, 10);
    EXPECT_EQ(hits[2].chunk_id, 12);
    EXPECT_NEAR(hits[1].score, doc10, 1e-6);
    EXPECT_NEAR(hits[2].score, doc10, 1e-6);

    // Other parameters: k1 = 1.2, b = 0.75 (lengths all equal avgdl, so only k1 matters).
    const auto h2 = ix.search("quick", 10, Bm25Params{1.2f, 0.75f});
    ASSERT_EQ(h2.size(), 2u);
    EXPECT_NEAR(h2[0].score, idf * 2.0 / (2.0 + 1.2), 1e-6);
}

TEST(InvertedIndex, RepeatedQueryTermsAreBoosted) {
    const auto ix = toy_index();
    const auto once = ix.search("fox", 1);
    const auto twice = ix.search("fox fox", 1);
    ASSERT_EQ(once.size(), 1u);
    ASSERT_EQ(twice.size(), 1u);
    EXPECT_NEAR(twice[0].score, 2 * once[0].score, 1e-6);
}

TEST(InvertedIndex, LengthNormUsesLuceneQuantization) {
    // One long document (length 100 decodes to 96) and one short.
    std::string long_doc = "target";
    for (int i = 0; i < 99; ++i) long_doc += " filler" + std::to_string(i);
    InvertedIndex::Builder b;
    b.add(1, long_doc);
    b.add(2, "target other");
    const auto ix = b.finish(1, "english");
    const double avgdl = 102.0 / 2.0;
    const double idf = std::log(1 + (2 - 2 + 0.5) / (2 + 0.5));
    const double expected_long = idf * 1.0 / (1.0 + 0.9 * (0.6 + 0.4 * 96.0 / avgdl));
    auto e = ix.explain("target", 1);
    ASSERT_TRUE(e.has_value());
    ASSERT_EQ(e->terms.size(), 1u);
    EXPECT_EQ(e->terms[0].doc_length, 100u);
    EXPECT_EQ(e->terms[0].encoded_length, 96u);
    EXPECT_NEAR(e->score, expected_long, 1e-6);
    EXPECT_NE(e->to_string().find("idf"), std::string::npos);
}

TEST(InvertedIndex, ExplainMatchesSearchScore) {
    const auto ix = toy_index();
    const auto hits = ix.search("quick brown dog elephant", 10);
    for (const auto& h : hits) {
        auto e = ix.explain("quick brown dog elephant", h.chunk_id);
        ASSERT_TRUE(e.has_value());
        EXPECT_FLOAT_EQ(e->score, h.score);
        EXPECT_EQ(e->terms.size(), 4u);  // every query term, absent ones with tf 0
    }
    EXPECT_FALSE(ix.explain("quick", 999).has_value());
}

TEST(InvertedIndex, MaxScoreEqualsExhaustive) {
    std::mt19937 rng(42);
    // Zipf-like vocabulary so some terms are frequent and some rare.
    std::vector<std::string> vocab;
    for (int i = 0; i < 400; ++i) vocab.push_back(fmt::format("w{}x", i));
    std::vector<double> weights;
    for (int i = 0; i < 400; ++i) weights.push_back(1.0 / (i + 1));
    std::discrete_distribution<int> zipf(weights.begin(), weights.end());
    std::uniform_int_distribution<int> len(1, 60);
    InvertedIndex::Builder b;
    for (int d = 0; d < 3000; ++d) {
        std::string text;
        for (int n = len(rng); n > 0; --n) text += vocab[zipf(rng)] + " ";
        b.add(d + 1, text);
    }
    const auto ix = std::make_shared<const InvertedIndex>(b.finish(1, "english"));
    const SegmentSearcher searcher({Segment{ix, nullptr}});
    for (int q = 0; q < 60; ++q) {
        std::string query;
        const int nterms = 1 + q % 6;
        for (int t = 0; t < nterms; ++t) query += vocab[zipf(rng)] + " ";
        for (std::size_t k : {1u, 5u, 10u, 100u, 1000u}) {
            const auto slow = searcher.search_exhaustive(ix->parse(query), k);
            for (const Pruning pruning : {Pruning::automatic, Pruning::max_score, Pruning::doc_blocks,
                                          Pruning::doc_blocks_blockwise, Pruning::doc_blocks_termwise,
                                          Pruning::doc_blocks_banded}) {
                expect_same(searcher.search(ix->parse(query), k, {}, pruning), slow,
                            fmt::format("{} k={} pruning={}", query, k, pruning_name(pruning)));
            }
        }
    }
}

// The document blocks' corner cases, each against exhaustive scoring, with their later rounds
// block at a time and term at a time: a tf of 255 or more (the blocks saturate it and read the
// postings), a query of more than 64 terms (MaxScore instead), a segment's last block partly
// filled, and blocks of one document's deleted neighbours.
TEST(InvertedIndex, DocBlocksCornerCasesEqualExhaustive) {
    InvertedIndex::Builder b;
    std::mt19937 rng(7);
    for (int d = 0; d < 1003; ++d) {  // 125 full blocks and one of 3 documents
        std::string text;
        for (int n = 0; n < 12; ++n) text += fmt::format("t{}x ", rng() % 90);
        if (d % 97 == 5) {
            for (int n = 0; n < 300 + d; ++n) text += "echo ";  // tf >= 255
        }
        b.add(d + 1, text);
    }
    const auto ix = std::make_shared<const InvertedIndex>(b.finish(1, "english"));
    ASSERT_FALSE(ix->doc_blocks().empty());
    EXPECT_EQ(ix->doc_blocks().block_count(), 126u);
    std::vector<std::uint32_t> deleted;
    for (std::uint32_t d = 0; d < 1003; d += 3) deleted.push_back(d);
    const auto live = LiveDocs(1003).with_deleted(deleted);
    std::string long_query;
    for (int t = 0; t < 80; ++t) long_query += fmt::format("t{}x ", t);
    // A query built by hand may repeat a term or weigh one 0: the blocks do not apply, MaxScore
    // scores it as exhaustive scoring does.
    Bm25Query odd;
    odd.terms = {{"t1x", 1.0f}, {"t2x", 1.0f}, {"t1x", 2.0f}, {"t3x", 0.0f}};
    for (const auto& searcher : {SegmentSearcher({Segment{ix, nullptr}}), SegmentSearcher({Segment{ix, live}})}) {
        expect_same(searcher.search(odd, 10, {}, Pruning::doc_blocks), searcher.search_exhaustive(odd, 10),
                    "repeated and 0-weight terms");
    }
    for (const std::string query : {"echo", "echo t3x t4x", "t1x t2x t3x t4x t5x t6x t7x t8x", long_query.c_str()}) {
        for (const auto& searcher : {SegmentSearcher({Segment{ix, nullptr}}), SegmentSearcher({Segment{ix, live}})}) {
            for (std::size_t k : {1u, 10u, 1000u}) {
                const auto slow = searcher.search_exhaustive(searcher.parse(query), k);
                for (const Pruning pruning :
                     {Pruning::doc_blocks_blockwise, Pruning::doc_blocks_termwise, Pruning::doc_blocks_banded}) {
                    expect_same(searcher.search(searcher.parse(query), k, {}, pruning), slow,
                                fmt::format("{} k={} pruning={}", query, k, pruning_name(pruning)));
                }
            }
        }
    }
}

TEST(InvertedIndex, SaveLoadRoundTrip) {
    const auto dir = std::filesystem::temp_directory_path() / ("winnow_lex_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "lexical.idx").string();
    const auto ix = toy_index();
    ix.save(path);
    auto loaded = InvertedIndex::load(path, 7, "english");
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->doc_count(), ix.doc_count());
    const auto a = ix.search("quick dog", 10);
    const auto b = loaded->search("quick dog", 10);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].chunk_id, b[i].chunk_id);
        EXPECT_EQ(a[i].score, b[i].score);
    }
    // Stale generation, other analyzer: the caller must rebuild.
    EXPECT_FALSE(InvertedIndex::load(path, 8, "english").has_value());
    EXPECT_FALSE(InvertedIndex::load(path, 7, "standard").has_value());
    EXPECT_FALSE(InvertedIndex::load((dir / "missing.idx").string(), 7, "english").has_value());
    // A flipped byte fails the checksum; a truncated file is rejected.
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(40);
        f.put('\x5a');
    }
    EXPECT_FALSE(InvertedIndex::load(path, 7, "english").has_value());
    std::filesystem::resize_file(path, 20);
    EXPECT_FALSE(InvertedIndex::load(path, 7, "english").has_value());
    std::filesystem::remove_all(dir);
}

// A segment of more than 4096 blocks is checked on load over ranges of terms in parallel; the
// loaded segment (its arrays used in place from the mapping) holds the impacts the builder
// collected, block by block, and searches the same.
TEST(InvertedIndex, LoadedSegmentHoldsTheBuiltImpacts) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> word(0, 2999), length(5, 60), repeat(0, 9);
    InvertedIndex::Builder builder;
    for (int d = 0; d < 20000; ++d) {
        std::string text;
        const int n = length(rng);
        for (int i = 0; i < n; ++i) {
            const std::string w = fmt::format("w{} ", word(rng) % (i % 3 == 0 ? 100 : 3000));
            text += w;
            if (repeat(rng) == 0) text += w;  // tf 2
        }
        builder.add(d + 1, text);
    }
    const InvertedIndex built = builder.finish(3, "english");
    const auto dir = std::filesystem::temp_directory_path() / ("winnow_lex_par_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "lexical.idx").string();
    built.save(path);
    const auto loaded = InvertedIndex::load(path, 3, "english");
    std::filesystem::remove_all(dir);
    ASSERT_TRUE(loaded.has_value());
    ASSERT_EQ(loaded->term_count(), built.term_count());
    EXPECT_EQ(loaded->posting_count(), built.posting_count());
    std::size_t blocks = 0;
    for (std::uint32_t t = 0; t < built.term_count(); ++t) {
        ASSERT_EQ(loaded->term(t), built.term(t));
        ASSERT_EQ(loaded->term_impacts_end(t) - loaded->term_impacts_begin(t),
                  built.term_impacts_end(t) - built.term_impacts_begin(t));
        for (auto i = built.term_impacts_begin(t), j = loaded->term_impacts_begin(t); i < built.term_impacts_end(t);
             ++i, ++j) {
            ASSERT_EQ(loaded->term_impact_tf(j), built.term_impact_tf(i));
            ASSERT_EQ(loaded->term_impact_norm(j), built.term_impact_norm(i));
        }
        auto a = built.postings(t);
        auto b = loaded->postings(t);
        for (auto block = a.shallow(0); block < a.end_block(); ++block, ++blocks) {
            ASSERT_EQ(b.impacts_end(block) - b.impacts_begin(block), a.impacts_end(block) - a.impacts_begin(block));
            for (auto i = a.impacts_begin(block), j = b.impacts_begin(block); i < a.impacts_end(block); ++i, ++j) {
                ASSERT_EQ(loaded->impact_tf(j), built.impact_tf(i));
                ASSERT_EQ(loaded->impact_norm(j), built.impact_norm(i));
            }
        }
    }
    EXPECT_GT(blocks, 4096U) << "the parallel path must be taken";
    for (const char* q : {"w1 w2 w3", "w17 w2500 w42 w99 w1234", "w7"}) {
        const auto x = built.search(q, 100);
        const auto y = loaded->search(q, 100);
        ASSERT_EQ(x.size(), y.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            EXPECT_EQ(x[i].chunk_id, y[i].chunk_id);
            EXPECT_EQ(x[i].score, y[i].score);
        }
    }
}

// A file whose checksum is right but whose contents are not (a writer's bug, or a crafted file)
// is rejected by the checks of load(), not searched: a block header with bits set outside its
// widths, a block whose documents do not end at its recorded last document, two documents of one
// chunk id.
TEST(InvertedIndex, LoadRejectsMalformedBlocksBehindAValidChecksum) {
    InvertedIndex::Builder builder;
    for (int d = 0; d < 300; ++d) builder.add(d, fmt::format("alpha beta w{} w{}", d % 7, d % 13));
    const InvertedIndex built = builder.finish(1, "english");
    const auto dir = std::filesystem::temp_directory_path() / ("winnow_lex_bad_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "lexical.idx").string();
    built.save(path);
    std::string original;
    {
        std::ifstream in(path, std::ios::binary);
        original.assign(std::istreambuf_iterator<char>(in), {});
    }
    // The columns' offsets, read as load() reads them (file_format.h; the order of save()).
    struct Offsets {
        std::size_t chunk_ids = 0, block_last = 0, words = 0, entries = 0, tfs = 0, block_words = 0;
    } at;
    {
        detail::BufferReader r(std::string_view(original).substr(0, original.size() - 8), 8);
        std::int64_t generation = 0;
        std::string analyzer;
        ASSERT_TRUE(r.pod(generation) && r.str(analyzer));
        auto keep = std::make_shared<int>(0);
        Column<std::int64_t> chunk_ids;
        Column<std::uint32_t> u32;
        Column<std::uint8_t> u8;
        Column<std::uint64_t> u64;
        Column<char> bytes;
        ASSERT_TRUE(r.column(chunk_ids, keep));
        at.chunk_ids = static_cast<std::size_t>(reinterpret_cast<const char*>(chunk_ids.data()) - original.data());
        ASSERT_TRUE(r.column(u32, keep) && r.column(u32, keep) && r.column(u8, keep) && r.column(u64, keep) &&
                    r.column(bytes, keep) && r.column(u32, keep) && r.column(u64, keep) && r.column(u32, keep));
        at.block_last = static_cast<std::size_t>(reinterpret_cast<const char*>(u32.data()) - original.data());
        ASSERT_TRUE(r.column(u64, keep) && r.column(u64, keep));
        at.words = static_cast<std::size_t>(reinterpret_cast<const char*>(u64.data()) - original.data());
        // The impacts (6 columns), then the document blocks (doc_blocks.h: norm levels, term ends,
        // entries, entry keys, tf ends, tfs, block offsets, words).
        ASSERT_TRUE(r.column(u64, keep) && r.column(u64, keep) && r.column(u32, keep) && r.column(u8, keep) &&
                    r.column(u32, keep) && r.column(u8, keep));
        ASSERT_TRUE(r.column(u8, keep) && r.column(u64, keep) && r.column(u32, keep));
        at.entries = static_cast<std::size_t>(reinterpret_cast<const char*>(u32.data()) - original.data());
        ASSERT_TRUE(r.column(u8, keep) && r.column(u64, keep) && r.column(u8, keep));
        at.tfs = static_cast<std::size_t>(reinterpret_cast<const char*>(u8.data()) - original.data());
        ASSERT_TRUE(r.column(u64, keep) && r.column(u32, keep) && r.at_end());
        at.block_words = static_cast<std::size_t>(reinterpret_cast<const char*>(u32.data()) - original.data());
    }
    auto write_with_checksum = [&](std::string contents) {
        const std::uint64_t crc = detail::checksum(std::string_view(contents).substr(0, contents.size() - 8));
        std::memcpy(contents.data() + contents.size() - 8, &crc, 8);
        std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
    };
    write_with_checksum(original);
    ASSERT_TRUE(InvertedIndex::load(path, 1, "english").has_value()) << "the offsets above are wrong";
    std::string bad = original;
    bad[at.words + 3] = '\x01';  // the first block's header: bits above its two widths
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    bad = original;
    bad[at.block_last] = static_cast<char>(bad[at.block_last] + 1);  // the first block's last document
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    bad = original;
    std::memcpy(bad.data() + at.chunk_ids + 8, bad.data() + at.chunk_ids, 8);  // document 1 of document 0's chunk
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    const std::uint32_t huge = 0xffffff01U;
    bad = original;
    std::memcpy(bad.data() + at.entries, &huge, 4);  // a term's first block past the last block
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    bad = original;
    bad[at.entries] = '\0';  // a term's first entry without a document
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    bad = original;
    bad[at.entries] = static_cast<char>(bad[at.entries] ^ 0x80);  // a document more or less than its tfs
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    bad = original;
    bad[at.tfs] = '\0';  // a posting of tf 0
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    bad = original;
    std::memcpy(bad.data() + at.block_words + 4 * DocBlocks::kHeaderWords, &huge, 4);  // a pair of term 2^24 - 1
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    bad = original;
    bad[at.block_words] = static_cast<char>(bad[at.block_words] + 1);  // document 0's pair count
    write_with_checksum(bad);
    EXPECT_FALSE(InvertedIndex::load(path, 1, "english").has_value());
    std::filesystem::remove_all(dir);
}

TEST(InvertedIndex, EmptyIndexAndQueries) {
    InvertedIndex::Builder b;
    const auto ix = b.finish(0, "english");
    EXPECT_TRUE(ix.search("anything", 10).empty());
    const auto toy = toy_index();
    EXPECT_TRUE(toy.search("", 10).empty());
    EXPECT_TRUE(toy.search("the of and", 10).empty());
    EXPECT_TRUE(toy.search("quick", 0).empty());
    EXPECT_TRUE(toy.search("zebra", 10).empty());
}

}  // namespace
}  // namespace winnow::lexical
