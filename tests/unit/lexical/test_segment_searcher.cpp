#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "expect_same_hits.h"
#include "lexical/inverted_index.h"
#include "lexical/live_docs.h"
#include "lexical/segment_searcher.h"
#include "winnow/error.h"

namespace winnow::lexical {
namespace {

struct Doc {
    std::int64_t chunk_id;
    std::string text;
};

// Zipf-distributed words with topical clusters, so some terms are frequent and some rare, and
// lengths vary (norms differ).
std::vector<Doc> random_corpus(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::string> vocab;
    for (int i = 0; i < 500; ++i) vocab.push_back("w" + std::to_string(i) + "x");
    std::vector<double> weights;
    for (int i = 0; i < 500; ++i) weights.push_back(1.0 / (i + 1));
    std::discrete_distribution<int> zipf(weights.begin(), weights.end());
    std::uniform_int_distribution<int> len(1, 80);
    std::uniform_int_distribution<int> topic(0, 9);
    std::vector<Doc> docs;
    for (std::size_t d = 0; d < n; ++d) {
        std::string text;
        const int t = topic(rng);
        for (int k = len(rng); k > 0; --k) {
            const int w = zipf(rng);
            text += vocab[(w + (w > 50 ? t * 37 : 0)) % 500] + " ";
        }
        if (d % 97 == 0) text = "the of and";  // no indexed term at all
        docs.push_back({static_cast<std::int64_t>(d * 3 + 1), text});
    }
    return docs;
}

std::shared_ptr<const InvertedIndex> build(const std::vector<Doc>& docs, std::int64_t generation = 1) {
    InvertedIndex::Builder b;
    for (const auto& d : docs) b.add(d.chunk_id, d.text);
    return std::make_shared<const InvertedIndex>(b.finish(generation, "english"));
}

std::vector<std::string> random_queries(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<double> weights;
    for (int i = 0; i < 500; ++i) weights.push_back(1.0 / (i + 1));
    std::discrete_distribution<int> zipf(weights.begin(), weights.end());
    std::vector<std::string> out;
    for (std::size_t q = 0; q < n; ++q) {
        std::string query;
        for (int t = 0; t < 1 + static_cast<int>(q % 8); ++t) query += "w" + std::to_string(zipf(rng)) + "x ";
        if (q % 5 == 0) query += "zzznotthere";
        out.push_back(query);
    }
    return out;
}

TEST(LiveDocs, DeletesMakeNewVersions) {
    const auto v0 = std::make_shared<const LiveDocs>(130);
    EXPECT_EQ(v0->doc_count(), 130u);
    EXPECT_EQ(v0->live_count(), 130u);
    EXPECT_TRUE(v0->is_live(129));
    const std::vector<std::uint32_t> del{0, 64, 129, 64};
    const auto v1 = v0->with_deleted(del);
    EXPECT_EQ(v1->deleted_count(), 3u);
    EXPECT_FALSE(v1->is_live(0));
    EXPECT_FALSE(v1->is_live(64));
    EXPECT_TRUE(v1->is_live(65));
    EXPECT_TRUE(v0->is_live(0));  // the old snapshot is unchanged
    EXPECT_EQ(v0->deleted_count(), 0u);
    const std::vector<std::uint32_t> bad{130};
    EXPECT_THROW((void)v1->with_deleted(bad), Error);
}

TEST(LiveDocs, SaveLoadRejectsBadFiles) {
    const auto dir = std::filesystem::temp_directory_path() / ("winnow_live_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "seg.live").string();
    const std::vector<std::uint32_t> del{3, 70, 99};
    const auto v = LiveDocs(100).with_deleted(del);
    v->save(path);
    auto loaded = LiveDocs::load(path, 100);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->deleted_count(), 3u);
    for (std::uint32_t d = 0; d < 100; ++d) EXPECT_EQ(loaded->is_live(d), v->is_live(d)) << d;
    EXPECT_FALSE(LiveDocs::load(path, 101).has_value());  // another segment
    EXPECT_FALSE(LiveDocs::load((dir / "missing").string(), 100).has_value());
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(20);
        f.put('\x11');
    }
    EXPECT_FALSE(LiveDocs::load(path, 100).has_value());
    std::filesystem::resize_file(path, 10);
    EXPECT_FALSE(LiveDocs::load(path, 100).has_value());
    LiveDocs(0).save(path);
    EXPECT_TRUE(LiveDocs::load(path, 0).has_value());
    std::filesystem::remove_all(dir);
}

TEST(SegmentSearcher, BuilderAcceptsAnyChunkOrder) {
    InvertedIndex::Builder b;
    b.add(30, "apple banana");
    b.add(10, "apple banana");
    b.add(20, "cherry");
    const auto ix = std::make_shared<const InvertedIndex>(b.finish(3, "english"));
    EXPECT_EQ(ix->chunk_id(0), 30);
    EXPECT_EQ(ix->doc_of_chunk(10), 1u);
    EXPECT_EQ(ix->doc_of_chunk(20), 2u);
    EXPECT_EQ(ix->doc_of_chunk(30), 0u);
    EXPECT_FALSE(ix->doc_of_chunk(15).has_value());
    const auto hits = ix->search("apple", 10);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].score, hits[1].score);
    EXPECT_EQ(hits[0].chunk_id, 10);  // ties: the lower chunk id, whatever the document number
    EXPECT_EQ(hits[0].doc, 1u);
    const auto top1 = ix->search("apple", 1);
    ASSERT_EQ(top1.size(), 1u);
    EXPECT_EQ(top1[0].chunk_id, 10);

    const auto dir = std::filesystem::temp_directory_path() / ("winnow_seg_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "seg.idx").string();
    ix->save(path);
    auto loaded = InvertedIndex::load(path, std::nullopt, "english");  // any generation
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->generation(), 3);
    EXPECT_EQ(loaded->doc_of_chunk(10), 1u);
    expect_same(loaded->search("apple cherry", 10), ix->search("apple cherry", 10), "loaded");
    EXPECT_FALSE(InvertedIndex::load(path, 4, "english").has_value());
    std::filesystem::remove_all(dir);
}

// Several segments without deletions rank exactly as one index over the same documents: the
// statistics are the same sums, and ties fall to the lower chunk id in both.
TEST(SegmentSearcher, SegmentsRankAsOneIndex) {
    auto docs = random_corpus(3000, 7);
    const auto whole = build(docs);
    std::vector<Doc> a(docs.begin(), docs.begin() + 1000), b(docs.begin() + 1000, docs.begin() + 2200),
        c(docs.begin() + 2200, docs.end());
    std::shuffle(b.begin(), b.end(), std::mt19937(3));  // one segment in no chunk order
    const SegmentSearcher one({Segment{whole, nullptr}});
    // Segment order does not matter either.
    const SegmentSearcher three({Segment{build(c), nullptr}, Segment{build(a), nullptr}, Segment{build(b), nullptr}});
    EXPECT_EQ(three.doc_count(), whole->docs_with_terms());
    EXPECT_EQ(three.sum_total_term_freq(), whole->sum_total_term_freq());
    EXPECT_EQ(three.live_doc_count(), 3000u);
    for (const auto& q : random_queries(80, 11)) {
        EXPECT_EQ(three.doc_freq(three.parse(q).terms.front().term), one.doc_freq(one.parse(q).terms.front().term));
        for (std::size_t k : {1u, 3u, 10u, 100u, 1000u, 5000u}) {
            const auto want = one.search_exhaustive(one.parse(q), k);
            expect_same(one.search(q, k), want, q + " one k=" + std::to_string(k));
            expect_same(three.search(q, k), want, q + " three k=" + std::to_string(k));
            expect_same(three.search_exhaustive(three.parse(q), k), want, q + " exhaustive k=" + std::to_string(k));
        }
        const auto hits = three.search(q, 5);
        for (const auto& h : hits) {
            const auto e = three.explain(q, h.chunk_id);
            ASSERT_TRUE(e.has_value());
            EXPECT_EQ(e->score, h.score);
            EXPECT_EQ(three.segments()[h.segment].index->chunk_id(h.doc), h.chunk_id);
        }
    }
}

// Deleted documents are never returned but still count in the statistics until merged; the
// merged segment has the statistics of the live documents and ranks as an index built from them.
TEST(SegmentSearcher, DeletesAndMerge) {
    const auto docs = random_corpus(2400, 9);
    std::vector<Doc> a(docs.begin(), docs.begin() + 800), b(docs.begin() + 800, docs.begin() + 1600),
        c(docs.begin() + 1600, docs.end());
    std::shuffle(c.begin(), c.end(), std::mt19937(5));
    const auto sa = build(a), sb = build(b), sc = build(c);
    std::mt19937 rng(13);
    std::vector<Segment> segs;
    std::vector<Doc> live_docs;
    std::set<std::int64_t> deleted;
    for (const auto& [ix, part] : {std::pair{sa, &a}, std::pair{sb, &b}, std::pair{sc, &c}}) {
        std::vector<std::uint32_t> del;
        for (std::uint32_t d = 0; d < ix->doc_count(); ++d) {
            if (rng() % 4 == 0 || (ix == sb && d < 300)) del.push_back(d);  // one long run of deletes too
        }
        auto live = LiveDocs(static_cast<std::uint32_t>(ix->doc_count())).with_deleted(del);
        for (std::uint32_t d = 0; d < ix->doc_count(); ++d) {
            if (live->is_live(d)) {
                live_docs.push_back((*part)[d]);
            } else {
                deleted.insert(ix->chunk_id(d));
            }
        }
        segs.push_back({ix, live});
    }
    const SegmentSearcher snap(segs);
    EXPECT_EQ(snap.doc_count(), sa->docs_with_terms() + sb->docs_with_terms() + sc->docs_with_terms());
    EXPECT_EQ(snap.live_doc_count(), live_docs.size());
    const auto merged = std::make_shared<const InvertedIndex>(merge(segs, 42));
    EXPECT_EQ(merged->generation(), 42);
    EXPECT_EQ(merged->doc_count(), live_docs.size());
    const auto rebuilt = build(live_docs);
    EXPECT_EQ(merged->docs_with_terms(), rebuilt->docs_with_terms());
    EXPECT_EQ(merged->sum_total_term_freq(), rebuilt->sum_total_term_freq());
    EXPECT_EQ(merged->term_count(), rebuilt->term_count());
    EXPECT_EQ(merged->posting_count(), rebuilt->posting_count());
    const SegmentSearcher after({Segment{merged, nullptr}});
    for (const auto& q : random_queries(80, 17)) {
        for (std::size_t k : {1u, 10u, 100u, 1000u}) {
            const auto want = snap.search_exhaustive(snap.parse(q), k);
            const auto got = snap.search(q, k);
            expect_same(got, want, q + " deletes k=" + std::to_string(k));
            for (const auto& h : got) ASSERT_FALSE(deleted.count(h.chunk_id)) << h.chunk_id;
            expect_same(after.search(q, k), rebuilt->search(q, k), q + " merged k=" + std::to_string(k));
        }
    }
    // A deleted chunk cannot be explained; a live one can.
    EXPECT_FALSE(snap.explain("w1x", *deleted.begin()).has_value());
    EXPECT_TRUE(snap.explain("w1x", live_docs.front().chunk_id).has_value());
    // Every document deleted: nothing is found.
    std::vector<Segment> gone;
    for (const auto& s : segs) {
        std::vector<std::uint32_t> all(s.index->doc_count());
        for (std::uint32_t d = 0; d < all.size(); ++d) all[d] = d;
        gone.push_back({s.index, s.live_docs->with_deleted(all)});
    }
    const SegmentSearcher empty(gone);
    EXPECT_TRUE(empty.search("w1x w2x", 10).empty());
    EXPECT_EQ(merge(gone, 1).doc_count(), 0u);
}

// A replaced chunk: deleted from the old segment, live in the new one (it counts twice in the
// statistics until merged, and is found once, with its new text).
TEST(SegmentSearcher, ReplacedChunkIsFoundInItsNewSegment) {
    InvertedIndex::Builder b1;
    b1.add(1, "alpha beta");
    b1.add(2, "gamma");
    const auto s1 = std::make_shared<const InvertedIndex>(b1.finish(1, "english"));
    InvertedIndex::Builder b2;
    b2.add(1, "delta alpha alpha");
    const auto s2 = std::make_shared<const InvertedIndex>(b2.finish(2, "english"));
    const std::vector<std::uint32_t> del{0};
    const SegmentSearcher snap({Segment{s1, LiveDocs(2).with_deleted(del)}, Segment{s2, nullptr}});
    EXPECT_EQ(snap.doc_count(), 3u);
    EXPECT_EQ(snap.doc_freq("alpha"), 2u);
    EXPECT_EQ(snap.live_doc_count(), 2u);
    const auto hits = snap.search("alpha", 10);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].chunk_id, 1);
    EXPECT_EQ(hits[0].segment, 1u);
    const auto where = snap.locate(1);
    ASSERT_TRUE(where.has_value());
    EXPECT_EQ(where->segment, 1u);
    EXPECT_TRUE(snap.search("beta", 10).empty());
    const auto e = snap.explain("alpha", 1);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->terms[0].tf, 2u);
    EXPECT_EQ(e->terms[0].doc_count, 3u);
    EXPECT_EQ(e->score, hits[0].score);
}

// Real text: NPL (11,429 documents, 93 queries) as one segment and as three (one out of chunk
// order) with a tenth of the documents deleted; every query at k = 10, 100, 1000 equals exhaustive
// scoring, and the merged segment equals an index built from the live documents.
TEST(SegmentSearcher, NplEqualsExhaustiveWithSegmentsAndDeletes) {
    const std::string shared = WINNOW_SHARED_DIR;
    std::ifstream in(shared + "/data/ir/npl-vaswani/corpus/doc-text.trec");
    ASSERT_TRUE(in.good());
    const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<Doc> docs;
    for (std::size_t pos = 0; (pos = all.find("</DOCNO>", pos)) != std::string::npos;) {
        const std::size_t end = all.find("</DOC>", pos);
        docs.push_back({static_cast<std::int64_t>(docs.size() + 1), all.substr(pos + 8, end - pos - 8)});
        pos = end;
    }
    ASSERT_EQ(docs.size(), 11429u);
    std::ifstream qin(shared + "/data/ir/npl-vaswani/query-text.trec");
    const std::string qall((std::istreambuf_iterator<char>(qin)), std::istreambuf_iterator<char>());
    std::vector<std::string> queries;
    for (std::size_t pos = 0; (pos = qall.find("<title>", pos)) != std::string::npos;) {
        const std::size_t end = qall.find("</title>", pos);
        queries.push_back(qall.substr(pos + 7, end - pos - 7));
        pos = end;
    }
    ASSERT_EQ(queries.size(), 93u);

    const SegmentSearcher one({Segment{build(docs), nullptr}});
    std::vector<Doc> a(docs.begin(), docs.begin() + 5000), b(docs.begin() + 5000, docs.begin() + 9000),
        c(docs.begin() + 9000, docs.end());
    std::shuffle(b.begin(), b.end(), std::mt19937(21));
    std::mt19937 rng(23);
    std::vector<Segment> segs;
    std::vector<Doc> live_docs;
    for (const auto* part : {&a, &b, &c}) {
        const auto ix = build(*part);
        std::vector<std::uint32_t> del;
        for (std::uint32_t d = 0; d < ix->doc_count(); ++d) {
            if (rng() % 10 == 0) {
                del.push_back(d);
            } else {
                live_docs.push_back((*part)[d]);
            }
        }
        segs.push_back({ix, LiveDocs(static_cast<std::uint32_t>(ix->doc_count())).with_deleted(del)});
    }
    const SegmentSearcher three(segs);
    const SegmentSearcher merged({Segment{std::make_shared<const InvertedIndex>(merge(segs, 2)), nullptr}});
    const SegmentSearcher rebuilt({Segment{build(live_docs), nullptr}});
    for (const auto& q : queries) {
        for (std::size_t k : {10u, 100u, 1000u}) {
            for (const Pruning pruning : {Pruning::max_score, Pruning::doc_blocks_blockwise,
                                          Pruning::doc_blocks_termwise, Pruning::doc_blocks_banded}) {
                const std::string how = " (pruning " + std::string(pruning_name(pruning)) + ") ";
                expect_same(one.search(one.parse(q), k, {}, pruning), one.search_exhaustive(one.parse(q), k),
                            "one" + how + q);
                expect_same(three.search(three.parse(q), k, {}, pruning),
                            three.search_exhaustive(three.parse(q), k), "three" + how + q);
            }
            expect_same(merged.search(q, k), rebuilt.search(q, k), "merged " + q);
        }
    }
}

TEST(SegmentSearcher, RejectsMismatchedSegments) {
    InvertedIndex::Builder b(parse_analyzer_spec("standard"));
    b.add(1, "x");
    const auto standard = std::make_shared<const InvertedIndex>(b.finish(1, "standard"));
    const auto english = build(random_corpus(10, 1));
    EXPECT_THROW(SegmentSearcher({Segment{english, nullptr}, Segment{standard, nullptr}}), Error);
    EXPECT_THROW(SegmentSearcher({Segment{english, std::make_shared<const LiveDocs>(3)}}), Error);
    EXPECT_THROW(SegmentSearcher({Segment{nullptr, nullptr}}), Error);
    const std::vector<Segment> mixed{Segment{english, nullptr}, Segment{standard, nullptr}};
    EXPECT_THROW((void)merge(mixed, 1), Error);
    const SegmentSearcher none;
    EXPECT_TRUE(none.search("anything", 10).empty());
    EXPECT_FALSE(none.explain("anything", 1).has_value());
    EXPECT_EQ(none.doc_count(), 0u);
}

}  // namespace
}  // namespace winnow::lexical
