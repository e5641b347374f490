// The Index facade and the first stages: BM25, dense (with a deterministic test embedder), hybrid;
// re-ingest semantics and consistency of the derived indexes with the store.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "index/fusion.h"
#include "support/temp_dir.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

// An index path that does not exist yet, inside a fresh temporary directory that is removed with it.
struct TempDir {
    winnow::testing::TempDir parent{"winnow_fs"};
    fs::path path = parent.path / "index";
    std::string str() const { return path.string(); }
};

// Hashed bag of lower-cased words, L2-normalized: texts sharing words have a high inner product.
class HashEmbedder final : public Embedder {
public:
    std::vector<std::vector<float>> embed(std::span<const std::string> texts, EmbedKind, std::size_t) const override {
        std::vector<std::vector<float>> out;
        for (const auto& t : texts) {
            std::vector<float> v(kDim, 0.0f);
            std::string word;
            auto flush = [&] {
                if (word.empty()) return;
                v[std::hash<std::string>{}(word) % kDim] += 1.0f;
                word.clear();
            };
            for (char c : t) {
                if (std::isalnum(static_cast<unsigned char>(c))) {
                    word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
                } else {
                    flush();
                }
            }
            flush();
            float norm = 0;
            for (float x : v) norm += x * x;
            norm = std::sqrt(norm);
            if (norm > 0) {
                for (float& x : v) x /= norm;
            }
            out.push_back(std::move(v));
        }
        ++calls;
        return out;
    }
    std::size_t dimension() const override { return kDim; }
    bool normalized() const override { return true; }
    const Tokenizer& tokenizer() const override { WINNOW_THROW(Errc::Unsupported, "test embedder has no tokenizer"); }
    std::size_t max_length() const override { return 512; }
    std::string name() const override { return "hash-embedder"; }
    static constexpr std::size_t kDim = 64;
    mutable int calls = 0;
};

const std::vector<IndexDocument> kDocs = {
    {"d1", "Expense policy", "Meals are reimbursed up to 50 dollars per day with receipts.", "{}", ""},
    {"d2", "Travel", "Flights must be booked through the travel desk two weeks ahead.", "{}", ""},
    {"d3", "Minutes", "The March meeting minutes were approved by the board chair.", "{}", ""},
    {"d4", "Bonus", "Sales bonuses are paid quarterly; engineering bonuses yearly.", "{}", ""},
};

void add_all(Index& index, std::shared_ptr<const Embedder> embedder = nullptr) {
    WriteOptions o;
    o.embedder = std::move(embedder);
    auto w = index.writer(o);
    for (const auto& d : kDocs) w->upsert(d);
    w->finish();
}

TEST(IndexFacade, Bm25SearchAndReopen) {
    TempDir tmp;
    {
        auto index = Index::create(tmp.str(), IndexConfig{});
        add_all(*index);
        EXPECT_EQ(index->document_count(), 4u);
        auto hits = index->search("meeting minutes approved");
        ASSERT_FALSE(hits.empty());
        EXPECT_EQ(hits[0].doc_id, "d3");
        EXPECT_EQ(hits[0].title, "Minutes");
        // The document chunker indexes "title text".
        EXPECT_EQ(hits[0].text, "Minutes The March meeting minutes were approved by the board chair.");
        EXPECT_NE(index->explain("meeting minutes", hits[0].chunk_id).find("idf"), std::string::npos);
    }
    auto index = Index::open(tmp.str());
    const auto hits = index->search("bonuses", SearchOptions{.k = 1});
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].doc_id, "d4");
    EXPECT_THROW(Index::open((tmp.path / "nothing").string()), Error);
}

TEST(IndexFacade, ReingestUnchangedIsNoOpChangedReplacesDeleteRemoves) {
    TempDir tmp;
    auto index = Index::create(tmp.str(), IndexConfig{});
    add_all(*index);
    const auto gen = index->generation();
    {
        auto w = index->writer();
        for (const auto& d : kDocs) w->upsert(d);
        const auto s = w->finish();
        EXPECT_EQ(s.unchanged, 4u);
        EXPECT_EQ(s.added + s.replaced, 0u);
    }
    EXPECT_EQ(index->generation(), gen);
    {
        auto w = index->writer();
        IndexDocument changed = kDocs[1];
        changed.text = "Trains are preferred over flights for trips under four hours.";
        w->upsert(changed);
        EXPECT_TRUE(w->remove("d4"));
        EXPECT_FALSE(w->remove("zzz"));
        const auto s = w->finish();
        EXPECT_EQ(s.replaced, 1u);
        EXPECT_EQ(s.removed, 1u);
    }
    EXPECT_GT(index->generation(), gen);
    EXPECT_TRUE(index->search("bonuses").empty());
    auto trains = index->search("trains");
    ASSERT_EQ(trains.size(), 1u);
    EXPECT_EQ(trains[0].doc_id, "d2");
    EXPECT_TRUE(index->search("booked travel desk weeks").size() <= 1u);
    EXPECT_EQ(index->document_count(), 3u);
}

TEST(IndexFacade, CorruptSegmentIsRebuiltOnOpen) {
    TempDir tmp;
    {
        auto index = Index::create(tmp.str(), IndexConfig{});
        add_all(*index);
    }
    // A torn or corrupt segment file (the disk, not a crash: segments are written atomically).
    int corrupted = 0;
    for (const auto& entry : fs::directory_iterator(tmp.path)) {
        if (entry.path().extension() != ".lex") continue;
        std::ofstream f(entry.path(), std::ios::binary | std::ios::trunc);
        f << "garbage";
        ++corrupted;
    }
    ASSERT_EQ(corrupted, 1);
    auto index = Index::open(tmp.str());
    const auto hits = index->search("receipts");
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].doc_id, "d1");
}

TEST(IndexFacade, ParagraphChunkerAndCustomChunks) {
    TempDir tmp;
    auto index = Index::create(tmp.str(), IndexConfig{});
    WriteOptions o;
    o.chunker = make_chunker("paragraph(max_chars=30)");
    auto w = index->writer(o);
    w->upsert(IndexDocument{"p", "Doc", "First paragraph here.\n\nSecond one about zebras.\n\nThird.", "{}", ""});
    w->upsert(IndexDocument{"q", "", "alpha beta", "{}", ""}, {ChunkText{0, 5, "alpha"}, ChunkText{6, 10, "beta"}});
    EXPECT_THROW(w->upsert(IndexDocument{"bad", "", "x", "{}", ""}, {ChunkText{0, 9, "x"}}), Error);
    w->finish();
    EXPECT_EQ(index->chunk_count(), 5u);
    const auto z = index->search("zebras");
    ASSERT_EQ(z.size(), 1u);
    EXPECT_EQ(z[0].begin, 23u);
    EXPECT_EQ(z[0].text, "Doc\n\nSecond one about zebras.");  // "Third." would pass max_chars
    const auto b = index->search("beta");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].doc_id, "q");
    EXPECT_EQ(b[0].begin, 6u);
    // A Markdown file's title comes from its heading: not repeated in front of it.
    const auto md = make_chunker("document")(IndexDocument{"m", "Head", "# Head\n\nbody", "{}", ""});
    ASSERT_EQ(md.size(), 1u);
    EXPECT_EQ(md[0].text, "# Head\n\nbody");
    EXPECT_EQ(make_chunker("document")(IndexDocument{"t", "T", "body", "{}", ""})[0].text, "T body");
    // Text extracted from HTML or PDF whose first lines hold the title (after a navigation line): not repeated.
    const IndexDocument page{"h", "Sales Plan", "Intranet > People\n\nSales Plan\n\nBody text.", "{}", "p.html"};
    EXPECT_EQ(make_chunker("document")(page)[0].text, page.text);
    EXPECT_EQ(make_chunker("document")(IndexDocument{"x", "Sales Plan", "Sales Plan tiers\nBody", "{}", ""})[0].text,
              "Sales Plan Sales Plan tiers\nBody");  // a line that only starts with the title is text
    EXPECT_THROW(make_chunker("nosuch"), Error);
    EXPECT_THROW(make_chunker("paragraph(max_chars=0)"), Error);
}

TEST(IndexFacade, DenseAndHybrid) {
    TempDir tmp;
    auto embedder = std::make_shared<HashEmbedder>();
    IndexConfig config;
    config.dense = "Flat";
    config.embed_model = "hash-embedder";
    {
        auto index = Index::create(tmp.str(), config, embedder);
        EXPECT_THROW(index->writer(), Error);  // a dense index needs the embedder to write
        add_all(*index, embedder);
        EXPECT_TRUE(fs::exists(tmp.path / "segments.json"));
        EXPECT_EQ(index->segment_count(), 1u);
    }
    auto index = Index::open(tmp.str(), embedder);
    ASSERT_TRUE(index->has_dense());
    EXPECT_EQ(index->config().dense_dimension, HashEmbedder::kDim);
    SearchOptions dense;
    dense.first_stage = FirstStageKind::Dense;
    dense.k = 2;
    const auto d = index->search("march meeting minutes approved", dense);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].doc_id, "d3");

    SearchOptions hybrid;
    hybrid.first_stage = FirstStageKind::Hybrid;
    hybrid.k = 4;
    const auto h = index->search("meals receipts", hybrid);
    ASSERT_FALSE(h.empty());
    EXPECT_EQ(h[0].doc_id, "d1");
    // RRF by hand over the two sides.
    auto bm25 = index->search("meals receipts", SearchOptions{.k = 100, .with_text = false});
    auto dn = index->search("meals receipts", SearchOptions{.first_stage = FirstStageKind::Dense, .k = 100, .with_text = false});
    std::vector<std::vector<Candidate>> lists = {bm25, dn};
    const auto expected = index::reciprocal_rank_fusion(lists, 60.0, 4);
    ASSERT_EQ(expected.size(), h.size());
    for (std::size_t i = 0; i < h.size(); ++i) {
        EXPECT_EQ(h[i].chunk_id, expected[i].chunk_id);
        EXPECT_FLOAT_EQ(h[i].score, expected[i].score);
    }
    hybrid.hybrid.fusion = FusionMethod::Weighted;
    hybrid.hybrid.weight = 1.0;
    const auto w = index->search("meals receipts", hybrid);
    ASSERT_FALSE(w.empty());
    EXPECT_FLOAT_EQ(w[0].score, 1.0f);
    EXPECT_EQ(w[0].doc_id, "d1");
    EXPECT_NE(index->first_stage_name(hybrid).find("weighted"), std::string::npos);

    // Without an embedder, dense search explains what is missing.
    auto no_model = Index::open(tmp.str());
    EXPECT_THROW(no_model->search("x", dense), Error);
    // A BM25-only index refuses dense search.
    TempDir other;
    auto plain = Index::create(other.str(), IndexConfig{});
    EXPECT_THROW(plain->search("x", dense), Error);
}

// The spec's first-stage options reach the index typed: ef_search becomes the dense side's beam
// width (DenseIndex::search); a huge k is no allocation failure.
TEST(IndexFacade, SpecOptionsReachTheFirstStage) {
    TempDir tmp;
    auto embedder = std::make_shared<HashEmbedder>();
    IndexConfig config;
    config.dense = "HNSW32";
    config.embed_model = "hash-embedder";
    {
        auto index = Index::create(tmp.str(), config, embedder);
        add_all(*index, embedder);
    }
    auto index = Index::open(tmp.str(), embedder);
    const SearchOptions dense = PipelineConfig::from_spec(PipelineSpec::parse("dense(k=2, ef_search=7)")).first_stage;
    EXPECT_EQ(index->first_stage_name(dense), "dense(HNSW32,ef_search=7)");
    const auto d = index->search("march meeting minutes approved", dense);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].doc_id, "d3");
    const SearchOptions hybrid =
        PipelineConfig::from_spec(PipelineSpec::parse("hybrid(k=2, k1=1.2, b=0.75, ef_search=9)")).first_stage;
    EXPECT_EQ(index->first_stage_name(hybrid), "hybrid(rrf,k=60,bm25(k1=1.2,b=0.75),dense(HNSW32,ef_search=9))");

    // The index itself takes any k (a caller may ask for everything) without allocating for it.
    EXPECT_EQ(index->search("minutes", SearchOptions{.k = 1000000000000}).size(), 1u);
    SearchOptions side = hybrid;
    side.k = 1000000000;
    side.hybrid.k_lexical = 1000000000;
    side.hybrid.k_dense = 1000000000;
    EXPECT_EQ(index->search("minutes", side).size(), 4u);
    EXPECT_EQ(index->search("minutes", SearchOptions{.k = kMaxCandidates}).size(), 1u);
}

TEST(IndexFacade, AnalyzerIsFixedAtCreation) {
    TempDir tmp;
    { Index::create(tmp.str(), IndexConfig{}); }
    IndexConfig standard;
    standard.analyzer = "standard";
    EXPECT_THROW(Index::create(tmp.str(), standard), Error);
    IndexConfig bad;
    bad.bm25 = "bm25(k1=-1)";
    TempDir other;
    EXPECT_THROW(Index::create(other.str(), bad), Error);
    EXPECT_THROW(parse_first_stage_kind("splade"), Error);
}

}  // namespace
}  // namespace winnow
