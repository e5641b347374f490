// The xapian(...) first stage: a winnow index exported into one database and into three shards; the
// shards served by three xapian-tcpsrv processes on loopback and searched as one database. The merged
// top-k must equal the single database's, and (documents under 24 terms, where Lucene's one-byte length
// norm is exact) winnow's own BM25 ranking and scores. A killed shard must fail the search with an error
// naming it. Then the same on a test collection through `winnow eval`'s harness with a reranker: the
// xapian pipeline's nDCG@10 must agree with the bm25 pipeline's within 0.002.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "eval/harness.h"
#include "retrieval/external_engine.h"
#include "core/json.h"
#include "support/run_command.h"
#include "support/temp_dir.h"
#include "winnow/error.h"
#include "winnow/eval.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"
#include "xapian_shard.h"

namespace winnow::testing {
namespace {

const std::string kSharedDir = WINNOW_SHARED_DIR;

// Short documents (3 to 20 terms) over a small vocabulary, so that terms repeat, lengths vary, some
// terms are in most documents (Xapian's idf adjustment applies) and two documents are identical (a tie).
std::vector<IndexDocument> corpus() {
    const std::vector<std::string> words = {"river", "bank",   "money",  "loan",   "water",  "fish",   "boat",
                                            "stone", "bridge", "forest", "market", "credit", "salmon", "harbor",
                                            "rain",  "cloud",  "valley", "grain",  "mill",   "trade"};
    std::vector<IndexDocument> docs;
    std::uint64_t state = 42;
    auto next = [&] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::size_t>(state >> 33);
    };
    for (int i = 0; i < 60; ++i) {
        IndexDocument d;
        d.id = "d" + std::to_string(i);
        const std::size_t n = 3 + next() % 18;
        for (std::size_t t = 0; t < n; ++t) {
            // Zipf-like: low word indexes far more often.
            const std::size_t w = std::min(next() % words.size(), next() % words.size());
            d.text += (t ? " " : "") + words[w];
        }
        docs.push_back(std::move(d));
    }
    docs.push_back({"twin-a", "", "salmon harbor boat river", "{}", ""});
    docs.push_back({"twin-b", "", "salmon harbor boat river", "{}", ""});
    return docs;
}

const std::vector<std::string> kQueries = {"river bank",          "money loan credit",     "salmon boat",
                                           "river river water",   "stone bridge forest",   "harbor trade grain mill",
                                           "cloud rain valley",   "unknownword river",     "fish"};

std::vector<std::int64_t> ids(const std::vector<Candidate>& c) {
    std::vector<std::int64_t> out;
    for (const auto& x : c) out.push_back(x.chunk_id);
    return out;
}

SearchOptions xapian_options(ExternalStageOptions e, std::size_t k) {
    SearchOptions o;
    o.k = k;
    e.engine = "xapian";
    o.external = std::move(e);
    return o;
}

class XapianShards : public ::testing::Test {
protected:
    void SetUp() override {
        binary_ = find_xapian_tcpsrv();
        if (binary_.empty()) GTEST_SKIP() << "xapian-tcpsrv is not installed (apt-get install xapian-tools; scripts/setup does)";
        index_ = Index::create((dir_.path / "index").string(), IndexConfig{});
        auto writer = index_->writer();
        for (const auto& d : corpus()) writer->upsert(d);
        writer->finish();
        single_ = (dir_.path / "single").string();
        sharded_ = (dir_.path / "sharded").string();
        const auto one = retrieval::export_to_xapian(*index_, single_, 1);
        const auto three = retrieval::export_to_xapian(*index_, sharded_, 3);
        ASSERT_EQ(one.chunks, index_->chunk_count());
        ASSERT_EQ(three.chunks, index_->chunk_count());
        for (int i = 0; i < 3; ++i) {
            shards_.push_back(std::make_unique<XapianShard>(binary_, sharded_ + "/shard-" + std::to_string(i)));
            ASSERT_GT(shards_.back()->port(), 0) << "xapian-tcpsrv did not start for shard " << i;
        }
    }

    ExternalStageOptions remote() const {
        ExternalStageOptions e;
        for (const auto& s : shards_) e.remote.push_back(s->address());
        return e;
    }

    TempDir dir_{"winnow_xapian"};
    std::string binary_;
    std::unique_ptr<Index> index_;
    std::string single_, sharded_;
    std::vector<std::unique_ptr<XapianShard>> shards_;
};

TEST_F(XapianShards, MergedShardsEqualOneDatabaseAndWinnowBm25) {
    ExternalStageOptions local;
    local.db = {single_};
    ExternalStageOptions stub;
    stub.db = {sharded_};  // the folder's XAPIANDB stub opens the three shards
    const auto one = retrieval::make_xapian_engine(xapian_options(local, 1).external);
    const auto merged = retrieval::make_xapian_engine(xapian_options(remote(), 1).external);
    const auto stubbed = retrieval::make_xapian_engine(xapian_options(stub, 1).external);
    EXPECT_EQ(merged->describe(xapian_options(remote(), 10)), "xapian(bm25(k1=0.9,b=0.4), 3 shards)");
    // The three shards each got a share of the chunks.
    for (int i = 0; i < 3; ++i) {
        ExternalStageOptions part;
        part.remote = {shards_[i]->address()};
        const auto hits = retrieval::make_xapian_engine(part)->search("river", xapian_options(part, 1000));
        EXPECT_GT(hits.size(), 0u) << "shard " << i;
        EXPECT_LT(hits.size(), one->search("river", xapian_options(local, 1000)).size()) << "shard " << i;
    }
    std::size_t compared = 0;
    for (const auto& q : kQueries) {
        for (std::size_t k : {1, 3, 10, 1000}) {
            const auto want = one->search(q, xapian_options(local, k));
            const auto got = merged->search(q, xapian_options(remote(), k));
            const auto via_stub = stubbed->search(q, xapian_options(stub, k));
            ASSERT_EQ(ids(got), ids(want)) << q << " k=" << k;
            ASSERT_EQ(ids(via_stub), ids(want)) << q << " k=" << k;
            for (std::size_t i = 0; i < want.size(); ++i) {
                EXPECT_EQ(got[i].score, want[i].score) << q << " rank " << i;
                EXPECT_EQ(got[i].text, want[i].text);
                EXPECT_EQ(got[i].doc_id, want[i].doc_id);
            }
            // winnow's BM25 over the same chunks: the same ranking and (float vs double) the same scores.
            SearchOptions bm25;
            bm25.k = k;
            const auto lucene = index_->search(q, bm25);
            ASSERT_EQ(ids(got), ids(lucene)) << q << " k=" << k;
            for (std::size_t i = 0; i < lucene.size(); ++i) {
                EXPECT_NEAR(got[i].score, lucene[i].score, 1e-5 * std::max(1.0f, lucene[i].score)) << q << " rank " << i;
                EXPECT_EQ(got[i].text, lucene[i].text);
            }
            compared += want.size();
        }
    }
    EXPECT_GT(compared, 500u);
    // The identical twins tie; the lower chunk id comes first, as in winnow.
    const auto twins = merged->search("salmon harbor boat river", xapian_options(remote(), 2));
    ASSERT_EQ(twins.size(), 2u);
    EXPECT_EQ(twins[0].score, twins[1].score);
    EXPECT_LT(twins[0].chunk_id, twins[1].chunk_id);
    EXPECT_EQ(twins[0].doc_id, "twin-a");
    // BM25 parameters from the spec reach the weighting (and still match winnow's).
    SearchOptions custom = xapian_options(remote(), 10);
    custom.bm25 = Bm25Params{1.2f, 0.75f};
    SearchOptions lucene_custom;
    lucene_custom.k = 10;
    lucene_custom.bm25 = custom.bm25;
    EXPECT_EQ(ids(merged->search("river bank money", custom)), ids(index_->search("river bank money", lucene_custom)));
}

TEST_F(XapianShards, PipelineRunsWithoutAnIndexDirectory) {
    // The spec names the shards; text for the later stages comes from the shards' stored data.
    std::string remotes;
    for (const auto& s : shards_) remotes += (remotes.empty() ? "" : ",") + s->address();
    const Pipeline pipeline = Pipeline::open("", PipelineSpec::parse("xapian(k=5, remote=\"" + remotes + "\") > cutoff(top_n=3)"));
    const PipelineResult r = pipeline.run("money loan credit");
    ASSERT_EQ(r.hits.size(), 3u);
    EXPECT_EQ(r.first_stage, "xapian(bm25(k1=0.9,b=0.4), 3 shards)");
    SearchOptions bm25;
    bm25.k = 3;
    const auto want = index_->search("money loan credit", bm25);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(r.hits[i].candidate.chunk_id, want[i].chunk_id);
        EXPECT_EQ(r.hits[i].candidate.text, want[i].text);
        EXPECT_FALSE(r.hits[i].candidate.text.empty());
    }
    // A non-external first stage still needs the index directory.
    EXPECT_THROW((void)Pipeline::open("", PipelineSpec::parse("bm25(k=5)")), Error);
}

TEST_F(XapianShards, CliExportsAndSearchesWithoutAnIndex) {
    const std::string winnow = std::string(WINNOW_BINARY_DIR) + "/winnow";
    if (!std::filesystem::exists(winnow)) GTEST_SKIP() << "winnow binary not built";
    const std::string out = (dir_.path / "cli").string();
    const auto exported = run_command(winnow + " index --index " + index_->dir() + " --to xapian:" + out +
                                      " --shards 2 --json 2>&1");
    ASSERT_EQ(exported.status, 0) << exported.out;
    const Json summary = Json::parse(exported.out);
    EXPECT_EQ(summary["chunks"].get<std::size_t>(), index_->chunk_count());
    EXPECT_EQ(summary["shards"].get<std::size_t>(), 2u);
    EXPECT_TRUE(std::filesystem::exists(out + "/XAPIANDB"));
    // `winnow search` with no --index: the stub opens both shards; the results are winnow's BM25.
    const auto searched =
        run_command(winnow + " search --query 'river bank' --pipeline 'xapian(k=4, db=" + out + ")' --json 2>&1");
    ASSERT_EQ(searched.status, 0) << searched.out;
    SearchOptions bm25;
    bm25.k = 4;
    const auto want = index_->search("river bank", bm25);
    std::vector<std::int64_t> got;
    std::istringstream lines(searched.out);
    for (std::string line; std::getline(lines, line);) {
        const Json hit = Json::parse(line);
        got.push_back(hit["chunk_id"].get<std::int64_t>());
        EXPECT_FALSE(hit["text"].get<std::string>().empty());
    }
    EXPECT_EQ(got, ids(want));
    // Without an external first stage, --index is still needed.
    const auto refused = run_command(winnow + " search --query x --pipeline 'bm25(k=3) > cutoff(top_n=1)' 2>&1");
    EXPECT_NE(refused.status, 0);
    EXPECT_NE(refused.out.find("--index"), std::string::npos) << refused.out;
}

TEST_F(XapianShards, DeadShardIsAClearError) {
    const ExternalStageOptions e = remote();
    const auto engine = retrieval::make_xapian_engine(e);
    ASSERT_FALSE(engine->search("river bank", xapian_options(e, 10)).empty());  // connections now pooled
    const std::string dead = shards_[1]->address();
    shards_[1]->kill_now();
    // The pooled connection to the dead shard is broken: one reconnect, then an error naming the shard.
    try {
        (void)engine->search("river bank", xapian_options(e, 10));
        FAIL() << "a search with a dead shard returned results";
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), Errc::Io);
        EXPECT_NE(std::string(err.what()).find(dead), std::string::npos) << err.what();
    }
    // Opening a pipeline over it fails the same way, naming the shard.
    try {
        (void)retrieval::make_xapian_engine(e);
        FAIL() << "opened shards with one dead";
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), Errc::Io);
        EXPECT_NE(std::string(err.what()).find(dead), std::string::npos) << err.what();
        EXPECT_NE(std::string(err.what()).find("unreachable"), std::string::npos) << err.what();
    }
    // The live shards alone still answer (a deliberate partial search is the caller's choice).
    ExternalStageOptions live;
    live.remote = {shards_[0]->address(), shards_[2]->address()};
    EXPECT_FALSE(retrieval::make_xapian_engine(live)->search("river", xapian_options(live, 10)).empty());
}

TEST_F(XapianShards, BadSpecsAndDatabasesAreRefused) {
    EXPECT_THROW((void)PipelineConfig::from_spec(PipelineSpec::parse("xapian(k=10)")), Error);
    EXPECT_THROW((void)PipelineConfig::from_spec(PipelineSpec::parse("xapian(db=a, remote=b:1)")), Error);
    EXPECT_THROW((void)PipelineSpec::parse("xapian(db=a, fusion=rrf)"), Error);
    const PipelineConfig c = PipelineConfig::from_spec(PipelineSpec::parse("xapian(db=\"a, b\", k=7, k1=1.2, b=0.7)"));
    EXPECT_EQ(c.first_stage.external.engine, "xapian");
    EXPECT_EQ(c.first_stage.external.db, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c.first_stage.k, 7u);
    ASSERT_TRUE(c.first_stage.bm25.has_value());
    EXPECT_FLOAT_EQ(c.first_stage.bm25->k1, 1.2f);
    ExternalStageOptions missing;
    missing.db = {(dir_.path / "nothing-here").string()};
    try {
        (void)retrieval::make_xapian_engine(missing);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::NotFound);
        EXPECT_NE(std::string(e.what()).find("nothing-here"), std::string::npos);
    }
    ExternalStageOptions bad_port;
    bad_port.remote = {"127.0.0.1:notaport"};
    EXPECT_THROW((void)retrieval::make_xapian_engine(bad_port), Error);
}

// `winnow eval` over a test collection: xapian on two tcpsrv shards vs winnow's bm25, both reranked by
// the fixture cross-encoder. The candidate lists differ only where Lucene's lossy length norm moves a
// document across the k boundary, so nDCG@10 after reranking agrees within 0.002.
TEST_F(XapianShards, EvalAgreesWithBm25AfterRerank) {
    const std::string model = kSharedDir + "/fixtures/models/bert-ce";
    const std::string dataset = kSharedDir + "/data/ir/cranfield";
    if (!std::filesystem::exists(model + "/model.safetensors") || !std::filesystem::exists(dataset))
        GTEST_SKIP() << "fixture model or Cranfield missing under " << kSharedDir;
    const std::string cache = (dir_.path / "cache").string();
    const auto ds = eval::load_dataset(dataset);
    std::string index_dir;
    {
        const auto index = eval::open_dataset_index(ds, cache, false);
        index_dir = index->dir();
        retrieval::export_to_xapian(*index, (dir_.path / "cran").string(), 2);
    }
    XapianShard a(binary_, (dir_.path / "cran" / "shard-0").string());
    XapianShard b(binary_, (dir_.path / "cran" / "shard-1").string());
    ASSERT_GT(a.port(), 0);
    ASSERT_GT(b.port(), 0);

    eval::EvalRequest req;
    req.dataset = dataset;
    req.index = index_dir;
    req.ks = {100};
    req.max_queries = 50;
    req.pipeline = "xapian(remote=\"" + a.address() + "," + b.address() + "\") > rerank(model=" + model + ", precision=fp32)";
    req.compare = "bm25 > rerank(model=" + model + ", precision=fp32)";
    const eval::EvalOutcome out = eval::run_eval(req);
    ASSERT_NE(out.baseline, nullptr);
    auto ndcg = [](const eval::SweepResult& s, eval::Stage stage) {
        for (const auto& row : s.rows) {
            if (row.stage == stage) return row.eval.value("ndcg_cut_10");
        }
        return -1.0;
    };
    const double x_first = ndcg(out.report.sweep, eval::Stage::First);
    const double b_first = ndcg(*out.baseline, eval::Stage::First);
    const double x_final = ndcg(out.report.sweep, eval::Stage::Reranked);
    const double b_final = ndcg(*out.baseline, eval::Stage::Reranked);
    ASSERT_GT(x_first, 0.1);
    ASSERT_GT(b_first, 0.1);
    ASSERT_GE(x_final, 0.0);
    ::testing::Test::RecordProperty("xapian_first_ndcg10", std::to_string(x_first));
    ::testing::Test::RecordProperty("bm25_first_ndcg10", std::to_string(b_first));
    std::printf("Cranfield (50 queries) nDCG@10: first stage xapian %.4f bm25 %.4f; reranked xapian %.4f bm25 %.4f\n",
                x_first, b_first, x_final, b_final);
    EXPECT_NEAR(x_final, b_final, 0.002);
    EXPECT_NEAR(x_first, b_first, 0.01);
}

}  // namespace
}  // namespace winnow::testing
