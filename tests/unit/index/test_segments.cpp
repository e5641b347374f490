// The segment layer (index/segment_directory.h) through winnow::Index: incremental writes (a new
// segment for added chunks, tombstones for removed ones, the other files untouched), the tiered
// merge policy, readers keeping their snapshot while a writer merges, dense vectors per segment,
// and repair when the manifest disagrees with the store.
#include <sys/stat.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "index/manifest.h"
#include "index/segment_directory.h"
#include "store/document_store.h"
#include "support/temp_dir.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

// Hashed bag of words, L2-normalized.
class HashEmbedder final : public Embedder {
public:
    std::vector<std::vector<float>> embed(std::span<const std::string> texts, EmbedKind, std::size_t) const override {
        std::vector<std::vector<float>> out;
        for (const auto& t : texts) {
            std::vector<float> v(kDim, 0.0f);
            std::size_t start = 0;
            while (start < t.size()) {
                std::size_t end = t.find(' ', start);
                if (end == std::string::npos) end = t.size();
                if (end > start) v[std::hash<std::string>{}(t.substr(start, end - start)) % kDim] += 1.0f;
                start = end + 1;
            }
            float norm = 0;
            for (float x : v) norm += x * x;
            if (norm > 0) {
                for (float& x : v) x /= std::sqrt(norm);
            }
            out.push_back(std::move(v));
        }
        return out;
    }
    std::size_t dimension() const override { return kDim; }
    bool normalized() const override { return true; }
    const Tokenizer& tokenizer() const override { WINNOW_THROW(Errc::Unsupported, "test embedder has no tokenizer"); }
    std::size_t max_length() const override { return 512; }
    std::string name() const override { return "hash-embedder"; }
    static constexpr std::size_t kDim = 32;
};

// Documents with topical structure: each draws its words from one of a few topics.
IndexDocument make_doc(int i, int version = 0) {
    static const std::vector<std::vector<std::string>> topics = {
        {"river", "water", "bridge", "flood", "bank", "stream", "delta", "rain"},
        {"engine", "piston", "fuel", "torque", "gear", "diesel", "motor", "exhaust"},
        {"protein", "cell", "enzyme", "gene", "membrane", "virus", "tissue", "blood"},
        {"market", "price", "stock", "trade", "bond", "equity", "credit", "loan"}};
    std::mt19937 rng(static_cast<unsigned>(i * 7919 + version * 104729));
    const auto& topic = topics[static_cast<std::size_t>(i) % topics.size()];
    std::string text;
    const int n = 5 + static_cast<int>(rng() % 20);
    for (int w = 0; w < n; ++w) text += topic[rng() % topic.size()] + " ";
    text += "unique" + std::to_string(i) + (version > 0 ? " revised" + std::to_string(version) : "");
    return {"doc" + std::to_string(i), "", text, "{}", ""};
}

void add_range(Index& index, int begin, int end, std::shared_ptr<const Embedder> embedder = nullptr) {
    WriteOptions o;
    o.embedder = std::move(embedder);
    auto w = index.writer(o);
    for (int i = begin; i < end; ++i) w->upsert(make_doc(i));
    w->finish();
}

const std::string kEveryTopicWord =
    "river water bridge flood bank stream delta rain engine piston fuel torque gear diesel motor exhaust protein cell "
    "enzyme gene membrane virus tissue blood market price stock trade bond equity credit loan";

const std::vector<std::string> kQueries = {"river water",  "engine fuel torque",     "protein cell gene",
                                           "market price", "bridge flood bank bond", "unique17 diesel"};

// (document, score), best first: chunk ids differ between indexes that saw different histories.
std::vector<std::pair<std::string, float>> ranking(const Index& index, const std::string& q, std::size_t k = 50,
                                                   FirstStageKind kind = FirstStageKind::Bm25) {
    SearchOptions o;
    o.first_stage = kind;
    o.k = k;
    o.with_text = false;
    std::vector<std::pair<std::string, float>> out;
    for (const auto& c : index.search(q, o)) out.emplace_back(c.doc_id, c.score);
    return out;
}

struct FileStamp {
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};

std::map<std::string, FileStamp> segment_files(const fs::path& dir) {
    std::map<std::string, FileStamp> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("seg_", 0) != 0) continue;
        struct stat st {};
        ::stat(e.path().c_str(), &st);
        out[name] = {st.st_ino, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    }
    return out;
}

IndexConfig config_with(const std::string& policy, bool dense = false) {
    IndexConfig c;
    c.merge_policy = policy;
    if (dense) {
        c.dense = "Flat";
        c.embed_model = "hash-embedder";
    }
    return c;
}

TEST(MergePolicy, ParsesAndRejectsWithTheKeyAtFault) {
    EXPECT_EQ(index::MergePolicy::parse("tiered").to_string(), "tiered(segments_per_tier=10,floor=10000,deletes=0.3)");
    const auto p = index::MergePolicy::parse("tiered(segments_per_tier=4, floor=100,deletes=0.5)");
    EXPECT_EQ(p.segments_per_tier, 4u);
    EXPECT_EQ(p.floor_docs, 100u);
    EXPECT_DOUBLE_EQ(p.max_deleted_ratio, 0.5);
    EXPECT_EQ(index::MergePolicy::parse("none").segments_per_tier, 0u);
    for (const char* bad : {"tiered(segments_per_tier=1)", "tiered(floor=0)", "tiered(deletes=2)", "tiered(x=1)",
                            "tiered(floor)", "log", "tiered(floor=abc)"}) {
        EXPECT_THROW(index::MergePolicy::parse(bad), Error) << bad;
    }
    try {
        index::MergePolicy::parse("tiered(segmnts_per_tier=3)");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("segmnts_per_tier"), std::string::npos) << e.what();
    }
}

TEST(MergePolicy, SelectsAFullTierThenSegmentsWithManyDeletions) {
    index::MergePolicy p;
    p.segments_per_tier = 3;
    p.floor_docs = 100;
    index::Manifest m;
    auto seg = [](std::uint32_t docs, std::uint32_t deleted = 0) {
        index::SegmentEntry e;
        e.doc_count = docs;
        e.deleted = deleted;
        return e;
    };
    // Tiers of base 3 above a floor of 100: [0, 300) tier 0, [300, 900) tier 1, ...
    m.segments = {seg(5000), seg(50), seg(400), seg(120)};
    EXPECT_TRUE(p.select(m).empty());  // two in tier 0, one in tier 1, one in tier 3
    m.segments.push_back(seg(10));
    EXPECT_EQ(p.select(m), (std::vector<std::size_t>{1, 3, 4}));
    m.segments = {seg(5000), seg(1000, 200), seg(1000, 400)};
    EXPECT_EQ(p.select(m), (std::vector<std::size_t>{2}));  // 40% deleted > 30%
    p.segments_per_tier = 0;
    m.segments = {seg(1), seg(1), seg(1), seg(1)};
    EXPECT_TRUE(p.select(m).empty());
}

TEST(Manifest, RoundTripsAndRejectsWhatIsNotOne) {
    index::Manifest m;
    m.generation = 7;
    m.max_chunk_id = 1234;
    m.next_file = 9;
    m.analyzer = "english";
    m.segments.push_back({"seg_3", 100, 2, "seg_3.del.8", true, 1, 100});
    const auto back = index::Manifest::parse(m.to_json());
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, m);
    EXPECT_EQ(back->live_count(), 98u);
    EXPECT_FALSE(index::Manifest::parse("{").has_value());
    EXPECT_FALSE(index::Manifest::parse("[]").has_value());
    EXPECT_FALSE(index::Manifest::parse(R"({"format": 99})").has_value());
    auto escape = m;
    escape.segments[0].live_docs = "../../etc/passwd";
    EXPECT_FALSE(index::Manifest::parse(escape.to_json()).has_value());
}

// The acceptance check of incremental indexing: adding 1,000 documents to an index writes one new
// segment with exactly those chunks and leaves every existing segment file as it was (same inode,
// same modification time: not rewritten), and ranks exactly as an index built in one go.
TEST(Segments, AddingDocumentsWritesOneSegmentAndRewritesNothing) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "incremental";
    auto index = Index::create(dir.string(), config_with("none"));
    add_range(*index, 0, 4000);
    EXPECT_EQ(index->segment_count(), 1u);
    const auto before = segment_files(dir);
    ASSERT_EQ(before.size(), 1u);

    add_range(*index, 4000, 5000);
    EXPECT_EQ(index->segment_count(), 2u);
    const auto after = segment_files(dir);
    for (const auto& [name, stamp] : before) {
        ASSERT_TRUE(after.count(name)) << name << " was removed";
        EXPECT_EQ(after.at(name), stamp) << name << " was rewritten";
    }
    const auto m = index::Manifest::load(dir.string());
    ASSERT_TRUE(m.has_value());
    ASSERT_EQ(m->segments.size(), 2u);
    EXPECT_EQ(m->segments[0].doc_count, 4000u);
    EXPECT_EQ(m->segments[1].doc_count, 1000u);
    EXPECT_EQ(m->segments[1].min_chunk_id, 4001);
    EXPECT_EQ(m->generation, index->generation());

    const fs::path fresh_dir = tmp.path / "fresh";
    auto fresh = Index::create(fresh_dir.string(), config_with("none"));
    add_range(*fresh, 0, 5000);
    ASSERT_EQ(fresh->segment_count(), 1u);
    for (const auto& q : kQueries) EXPECT_EQ(ranking(*index, q), ranking(*fresh, q)) << q;
    // Reopened from disk: the same.
    auto reopened = Index::open(dir.string());
    EXPECT_EQ(reopened->segment_count(), 2u);
    for (const auto& q : kQueries) EXPECT_EQ(ranking(*reopened, q), ranking(*fresh, q)) << q;
    EXPECT_EQ(reopened->search("unique4321").size(), 1u);
}

TEST(Segments, RemovedAndReplacedDocumentsBecomeTombstones) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "idx";
    auto index = Index::create(dir.string(), config_with("none"));
    add_range(*index, 0, 300);
    const auto before = segment_files(dir);
    {
        auto w = index->writer();
        w->remove("doc5");
        w->upsert(make_doc(6, 1));  // replaced: a new chunk, the old one deleted
        w->finish();
    }
    EXPECT_TRUE(index->search("unique5").empty());
    const auto six = index->search("unique6");
    ASSERT_EQ(six.size(), 1u);
    EXPECT_NE(six[0].text.find("revised1"), std::string::npos);
    const auto m = index::Manifest::load(dir.string());
    ASSERT_TRUE(m.has_value());
    ASSERT_EQ(m->segments.size(), 2u);  // the replacement's chunk is a new segment of one
    EXPECT_EQ(m->segments[0].deleted, 2u);
    EXPECT_FALSE(m->segments[0].live_docs.empty());
    EXPECT_EQ(m->segments[1].doc_count, 1u);
    const auto after = segment_files(dir);
    for (const auto& [name, stamp] : before) EXPECT_EQ(after.at(name), stamp) << name << " was rewritten";
    EXPECT_EQ(m->live_count(), 299u);
    auto reopened = Index::open(dir.string());
    EXPECT_TRUE(reopened->search("unique5").empty());
    EXPECT_EQ(ranking(*reopened, "river water", 400).size(), ranking(*index, "river water", 400).size());
}

// Merges fold segments by the tiered policy; with no deletions the statistics of any segment
// layout equal one index's, so the ranking is exactly a fresh index's.
TEST(Segments, MergesFollowThePolicyAndKeepTheRanking) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "merged";
    auto index = Index::create(dir.string(), config_with("tiered(segments_per_tier=3,floor=50)"));
    std::size_t most = 0;
    for (int run = 0; run < 12; ++run) {
        add_range(*index, run * 40, (run + 1) * 40);
        most = std::max(most, index->segment_count());
        // The policy's invariant after its merges: fewer than 3 segments per tier.
        const auto m = index::Manifest::load(dir.string());
        ASSERT_TRUE(m.has_value());
        EXPECT_TRUE(index::MergePolicy::parse("tiered(segments_per_tier=3,floor=50)").select(*m).empty());
    }
    EXPECT_LE(most, 4u);
    auto fresh = Index::create((tmp.path / "fresh").string(), config_with("none"));
    add_range(*fresh, 0, 480);
    for (const auto& q : kQueries) EXPECT_EQ(ranking(*index, q), ranking(*fresh, q)) << q;
    // Merged files replace the originals: only the manifest's files remain.
    const auto m = index::Manifest::load(dir.string());
    std::set<std::string> named;
    for (const auto& s : m->segments) named.insert(s.lexical_file());
    for (const auto& [name, stamp] : segment_files(dir)) EXPECT_TRUE(named.count(name)) << name << " left behind";
}

TEST(Segments, MergeDropsDeletedDocumentsAndTheirStatistics) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "idx";
    auto index = Index::create(dir.string(), config_with("tiered(segments_per_tier=2,floor=1000,deletes=0.2)"));
    add_range(*index, 0, 200);
    {
        auto w = index->writer();
        for (int i = 0; i < 60; ++i) w->remove("doc" + std::to_string(i));
        w->finish();  // 30% deleted > 20%: the segment is rewritten without them
    }
    const auto m = index::Manifest::load(dir.string());
    ASSERT_EQ(m->segments.size(), 1u);
    EXPECT_EQ(m->segments[0].doc_count, 140u);
    EXPECT_EQ(m->segments[0].deleted, 0u);
    auto fresh = Index::create((tmp.path / "fresh").string(), config_with("none"));
    add_range(*fresh, 60, 200);
    for (const auto& q : kQueries) EXPECT_EQ(ranking(*index, q), ranking(*fresh, q)) << q;
}

// A reader holds its snapshot (shared, immutable segments in memory) while another Index over the
// same directory adds documents, merges and deletes the merged files; it sees the new state at its
// next refresh.
TEST(Segments, ReaderKeepsItsSnapshotWhileAWriterMerges) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "idx";
    const std::string policy = "tiered(segments_per_tier=2,floor=1)";
    {
        auto w = Index::create(dir.string(), config_with("none"));
        add_range(*w, 0, 100);
        add_range(*w, 100, 200);
    }
    auto reader = Index::open(dir.string());
    EXPECT_EQ(reader->segment_count(), 2u);
    const auto old_ranking = ranking(*reader, "river water", 300);
    auto writer = Index::create(dir.string(), config_with(policy));
    add_range(*writer, 200, 300);
    EXPECT_EQ(writer->segment_count(), 1u);  // merged
    for (const auto& [name, stamp] : segment_files(dir)) EXPECT_NE(name.rfind("seg_1.", 0), 0u) << name;
    // The reader's segments are gone from disk; it still searches its snapshot.
    EXPECT_EQ(reader->segment_count(), 2u);
    EXPECT_EQ(ranking(*reader, "river water", 300), old_ranking);
    EXPECT_TRUE(reader->refresh());
    EXPECT_EQ(reader->segment_count(), 1u);
    EXPECT_EQ(ranking(*reader, "river water", 300), ranking(*writer, "river water", 300));
    EXPECT_EQ(reader->search("unique250").size(), 1u);
    EXPECT_FALSE(reader->refresh());
}

TEST(Segments, DenseVectorsFollowTheSegments) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "idx";
    auto embedder = std::make_shared<HashEmbedder>();
    auto index = Index::create(dir.string(), config_with("none", true), embedder);
    add_range(*index, 0, 150, embedder);
    add_range(*index, 150, 300, embedder);
    {
        WriteOptions o;
        o.embedder = embedder;
        auto w = index->writer(o);
        for (int i = 0; i < 300; i += 10) w->remove("doc" + std::to_string(i));
        w->finish();
    }
    auto all = [&](const Index& ix) {
        std::set<std::string> ids;
        SearchOptions o;
        o.first_stage = FirstStageKind::Dense;
        o.k = 1000;
        o.with_text = false;
        for (const auto& c : ix.search("river water engine", o)) ids.insert(c.doc_id);
        return ids;
    };
    const auto live = all(*index);
    EXPECT_EQ(live.size(), 270u);
    EXPECT_FALSE(live.count("doc10"));
    EXPECT_TRUE(live.count("doc11"));
    // Folded into one segment (vectors read back from the parts' FAISS indexes): same results.
    auto merged = Index::create(dir.string(), config_with("tiered(segments_per_tier=2,floor=1000)", true), embedder);
    add_range(*merged, 300, 301, embedder);
    EXPECT_EQ(merged->segment_count(), 1u);
    auto expected = live;
    expected.insert("doc300");
    EXPECT_EQ(all(*merged), expected);
    const auto m = index::Manifest::load(dir.string());
    ASSERT_EQ(m->segments.size(), 1u);
    EXPECT_TRUE(m->segments[0].dense);
    auto fresh_dir = tmp.path / "fresh";
    auto fresh = Index::create(fresh_dir.string(), config_with("none", true), embedder);
    {
        WriteOptions o;
        o.embedder = embedder;
        auto w = fresh->writer(o);
        for (int i = 0; i <= 300; ++i) {
            if (i % 10 != 0 || i == 300) w->upsert(make_doc(i));
        }
        w->finish();
    }
    const auto a = ranking(*merged, "protein cell gene", 20, FirstStageKind::Dense);
    const auto b = ranking(*fresh, "protein cell gene", 20, FirstStageKind::Dense);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i].second, b[i].second) << i;
}

TEST(Segments, StoreChangedBehindTheIndexIsCaughtUpNotRebuilt) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "idx";
    { add_range(*Index::create(dir.string(), config_with("none")), 0, 100); }
    const auto before = segment_files(dir);
    {
        store::DocumentStore s(dir.string(), false);
        s.remove("doc3");
    }
    auto index = Index::open(dir.string());
    EXPECT_TRUE(index->search("unique3").empty());
    const auto m = index::Manifest::load(dir.string());
    ASSERT_EQ(m->segments.size(), 1u);
    EXPECT_EQ(m->segments[0].deleted, 1u);
    EXPECT_EQ(m->generation, index->generation());
    for (const auto& [name, stamp] : before) EXPECT_EQ(segment_files(dir).at(name), stamp) << name;
}

TEST(Segments, ManifestThatDisagreesWithTheStoreIsRepaired) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "idx";
    {
        auto w = Index::create(dir.string(), config_with("none"));
        add_range(*w, 0, 50);
        add_range(*w, 50, 100);
    }
    auto expect_all = [&](const std::string& where) {
        auto index = Index::open(dir.string());
        EXPECT_EQ(ranking(*index, "unique42 unique77", 10).size(), 2u) << where;
        EXPECT_EQ(index->chunk_count(), 100u) << where;
        EXPECT_EQ(ranking(*index, kEveryTopicWord, 200).size(), 100u) << where;
        const auto m = index::Manifest::load(dir.string());
        ASSERT_TRUE(m.has_value()) << where;
        EXPECT_EQ(m->live_count(), 100u) << where;
    };
    // A segment file gone.
    fs::remove(dir / index::Manifest::load(dir.string())->segments[1].lexical_file());
    expect_all("missing segment");
    // A manifest that forgot a segment the store has (chunks below its max_chunk_id unindexed).
    auto m = *index::Manifest::load(dir.string());
    ASSERT_GE(m.segments.size(), 1u);
    m.segments.erase(m.segments.begin());
    m.save(dir.string());
    expect_all("forgotten segment");
    // Not a manifest at all.
    std::ofstream(dir / "segments.json", std::ios::trunc) << "{\"format\": 1, \"segments\": 3";
    expect_all("torn manifest");
    // Legacy files of an index written before segments are removed.
    std::ofstream(dir / "lexical.idx") << "old";
    fs::remove(dir / "segments.json");
    expect_all("no manifest");
    EXPECT_FALSE(fs::exists(dir / "lexical.idx"));
}

// Searches running while the same Index writes and merges: each sees one whole snapshot (a write
// of 50 documents is all there or not at all; merges change no result), and the counts never go
// back. The readers stop when the writer is done (a flag), whatever the interleaving.
TEST(Segments, SearchesDuringWritesAndMergesSeeWholeSnapshots) {
    winnow::testing::TempDir tmp("winnow_seg");
    const fs::path dir = tmp.path / "idx";
    auto index = Index::create(dir.string(), config_with("tiered(segments_per_tier=2,floor=1)"));
    add_range(*index, 0, 50);
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::atomic<int> searches{0};
    auto reader = [&] {
        std::size_t last = 0;
        while (!done.load()) {
            SearchOptions o;
            o.k = 10000;
            o.with_text = false;
            const std::size_t n = index->search(kEveryTopicWord, o).size();
            if (n % 50 != 0 || n < last) ++bad;
            last = n;
            ++searches;
        }
    };
    std::thread r1(reader);
    std::thread r2(reader);
    for (int run = 1; run < 10; ++run) add_range(*index, run * 50, (run + 1) * 50);
    done = true;
    r1.join();
    r2.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_GT(searches.load(), 0);
    EXPECT_EQ(index->search(kEveryTopicWord, SearchOptions{.k = 10000, .with_text = false}).size(), 500u);
    EXPECT_LE(index->segment_count(), 2u);
}

}  // namespace
}  // namespace winnow
