// Black-box tests of /v1/search and /v1/ask on the shared rerank scheduler (in-process server over
// a small index, fake reranker): their rerank pairs share model batches with /v1/rerank requests
// (seen in the model calls and in /metrics), a full queue refuses them with 429 + Retry-After,
// the request deadline applies, and a shutdown lets a queued search finish.
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>

#include <gtest/gtest.h>

#include "server_fixture.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"

namespace winnow::testing {
namespace {

using namespace std::chrono_literals;

const char* kJson = "application/json";

// Three documents that all match "policy", so a search for it reranks three candidates.
std::string make_small_index() {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(::testing::TempDir()) / ("winnow_search_sched_" + std::to_string(getpid()));
    fs::remove_all(dir);
    auto index = Index::create(dir.string(), IndexConfig{});
    auto writer = index->writer();
    const std::pair<const char*, const char*> docs[] = {
        {"expenses", "Expenses over 500 need approval by a manager under this policy."},
        {"travel", "Book travel through the portal; the policy covers trains and flights."},
        {"cafeteria", "The cafeteria opens at 8am; the policy on guests is strict."}};
    for (const auto& [id, text] : docs) {
        IndexDocument doc;
        doc.id = id;
        doc.title = std::string(id) + " policy";
        doc.text = text;
        writer->upsert(doc);
    }
    writer->finish();
    return dir.string();
}

struct SearchQueue : ::testing::Test {
    std::shared_ptr<FakeReranker> reranker = std::make_shared<FakeReranker>();
    ServerOptions options;
    std::unique_ptr<RunningServer> srv;

    void start() {
        options.pretokenize = false;
        options.index_dir = make_small_index();
        options.pipeline = "bm25(k=3) > rerank > cutoff(top_n=2)";
        srv = std::make_unique<RunningServer>(options, reranker, nullptr);
    }
    void TearDown() override { reranker->release(); }
    httplib::Result post(const std::string& path, const Json& body) {
        auto c = srv->client();
        return c.Post(path.c_str(), body.dump(), kJson);
    }
    std::future<httplib::Result> post_async(std::string path, Json body) {
        return std::async(std::launch::async, [this, path, body] { return post(path, body); });
    }
    std::string metrics() {
        auto c = srv->client();
        auto r = c.Get("/metrics");
        return r ? r->body : "";
    }
    // Waits until `n` rerank pairs are queued behind the held batch.
    bool wait_queued(double n) {
        return eventually([&] { return metric(metrics(), "winnow_queue_depth{model=\"rerank\"}") == n; });
    }
    bool wait_not_listening() {
        return eventually([&] {
            httplib::Client c("127.0.0.1", srv->port);
            c.set_connection_timeout(1s);
            return !c.Get("/health");
        });
    }
    // Holds the model inside one batch of a /v1/rerank request, so that what comes next queues.
    std::future<httplib::Result> occupy_model() {
        reranker->hold();
        auto first = post_async("/v1/rerank", {{"query", "policy"}, {"documents", {"a policy"}}});
        EXPECT_TRUE(eventually([&] { return reranker->batches_waiting() == 1; }));
        return first;
    }
};

TEST_F(SearchQueue, SearchAndAskShareModelBatchesWithRerankRequests) {
    start();
    auto first = occupy_model();
    auto search = post_async("/v1/search", {{"query", "policy"}});
    auto ask = post_async("/v1/ask", {{"query", "policy"}});
    auto rerank = post_async("/v1/rerank", {{"query", "policy"}, {"documents", {"policy one", "two"}}});
    ASSERT_TRUE(wait_queued(3 + 3 + 2)) << metrics();
    reranker->release();

    auto s = search.get();
    ASSERT_TRUE(s);
    ASSERT_EQ(s->status, 200) << s->body;
    const Json js = Json::parse(s->body);
    EXPECT_EQ(js["n_reranked"], 3);
    ASSERT_EQ(js["results"].size(), 2u);
    EXPECT_TRUE(js["results"][0].contains("rerank"));
    auto a = ask.get();
    ASSERT_TRUE(a);
    ASSERT_EQ(a->status, 200) << a->body;
    EXPECT_GE(Json::parse(a->body)["sources"].size(), 1u);
    EXPECT_EQ(rerank.get()->status, 200);
    EXPECT_EQ(first.get()->status, 200);

    // The held batch, then one batch with the pairs of all three requests.
    EXPECT_EQ(reranker->batches(), (std::vector<std::size_t>{1, 8}));
    const std::string m = metrics();
    EXPECT_EQ(metric(m, "winnow_batch_size_count{model=\"rerank\"}"), 2) << m;
    EXPECT_EQ(metric(m, "winnow_batch_size_sum{model=\"rerank\"}"), 9) << m;
    EXPECT_EQ(metric(m, "winnow_batch_requests_total{model=\"rerank\"}"), 4) << m;
    EXPECT_EQ(metric(m, "winnow_http_requests_total{route=\"/v1/search\",status=\"200\"}"), 1) << m;
    EXPECT_EQ(metric(m, "winnow_http_requests_total{route=\"/v1/ask\",status=\"200\"}"), 1) << m;
}

// A document committed by another writer while the server runs (as `winnow index` would) is found
// by the next search, without restarting the server.
TEST_F(SearchQueue, SearchSeesDocumentsCommittedWhileServing) {
    start();
    auto before = post("/v1/search", {{"query", "zeppelin"}});
    ASSERT_TRUE(before);
    ASSERT_EQ(before->status, 200) << before->body;
    EXPECT_EQ(Json::parse(before->body)["results"].size(), 0u) << before->body;

    {
        auto index = Index::open(options.index_dir);
        auto writer = index->writer();
        IndexDocument doc;
        doc.id = "airship";
        doc.title = "airship policy";
        doc.text = "The zeppelin hangar is closed to visitors under this policy.";
        writer->upsert(doc);
        writer->finish();
    }

    auto after = post("/v1/search", {{"query", "zeppelin"}});
    ASSERT_TRUE(after);
    ASSERT_EQ(after->status, 200) << after->body;
    const Json js = Json::parse(after->body);
    ASSERT_EQ(js["results"].size(), 1u) << after->body;
    EXPECT_EQ(js["results"][0]["doc_id"], "airship");
}

TEST_F(SearchQueue, SearchAndAskGet429WhenTheQueueIsFull) {
    options.max_queue_items = 4;
    start();
    auto first = occupy_model();
    auto fill = post_async("/v1/rerank", {{"query", "policy"}, {"documents", {"a", "b", "c", "d"}}});
    ASSERT_TRUE(wait_queued(4)) << metrics();
    for (const char* path : {"/v1/search", "/v1/ask"}) {
        auto r = post(path, {{"query", "policy"}});
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 429) << path << ": " << r->body;
        EXPECT_EQ(Json::parse(r->body)["error"]["type"], "overloaded") << r->body;
        ASSERT_TRUE(r->has_header("Retry-After")) << path;
        EXPECT_GE(std::stoi(r->get_header_value("Retry-After")), 1);
    }
    reranker->release();
    EXPECT_EQ(first.get()->status, 200);
    EXPECT_EQ(fill.get()->status, 200);
    EXPECT_EQ(post("/v1/search", {{"query", "policy"}})->status, 200);
    const std::string m = metrics();
    EXPECT_EQ(metric(m, "winnow_rejected_total{reason=\"overloaded\"}"), 2) << m;
    EXPECT_EQ(metric(m, "winnow_http_requests_total{route=\"/v1/search\",status=\"429\"}"), 1) << m;
    EXPECT_EQ(metric(m, "winnow_http_requests_total{route=\"/v1/ask\",status=\"429\"}"), 1) << m;
}

TEST_F(SearchQueue, SearchDeadlineGives504AndDropsItsPairs) {
    options.request_timeout = 300ms;
    start();
    auto first = occupy_model();
    auto r = post("/v1/search", {{"query", "policy"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 504) << r->body;
    EXPECT_EQ(Json::parse(r->body)["error"]["type"], "timeout") << r->body;
    EXPECT_EQ(metric(metrics(), "winnow_queue_depth{model=\"rerank\"}"), 0);
    reranker->release();
    first.get();  // also past its deadline: its answer may come before the held batch ends
    ASSERT_TRUE(eventually([&] { return !reranker->batches().empty(); }));
    // Only the held batch ran: the timed-out search's pairs left the queue (depth 0 above), so they
    // can never reach the model.
    EXPECT_EQ(reranker->batches(), std::vector<std::size_t>{1});
    EXPECT_EQ(metric(metrics(), "winnow_queue_depth{model=\"rerank\"}"), 0);
}

TEST_F(SearchQueue, ShutdownFinishesAQueuedSearch) {
    start();
    auto first = occupy_model();
    auto search = post_async("/v1/search", {{"query", "policy"}});
    ASSERT_TRUE(wait_queued(3));
    auto stopping = std::async(std::launch::async, [this] { srv->shutdown(); });
    ASSERT_TRUE(wait_not_listening());  // shutdown has begun while the search waits in the queue
    reranker->release();
    auto r = search.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(Json::parse(r->body)["n_reranked"], 3);
    EXPECT_EQ(first.get()->status, 200);
    EXPECT_EQ(stopping.wait_for(10s), std::future_status::ready);
}

// With a real cross-encoder, /v1/search through the scheduler (pairs tokenized in the HTTP thread,
// batched with other requests) scores exactly as Pipeline::run with the model called directly,
// maxp windows included.
TEST(SearchQueueModel, ScoresMatchThePipelineRunDirectly) {
    const std::string model_dir = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce";
    if (!std::filesystem::exists(model_dir + "/model.safetensors")) GTEST_SKIP() << "no " << model_dir;
    std::shared_ptr<Reranker> reranker = Reranker::load(model_dir);
    const std::string index_dir = make_small_index();
    const std::string spec = "bm25(k=3) > rerank(long_doc=maxp, max_length=32, stride=4) > cutoff(top_n=3)";
    ServerOptions options;
    options.index_dir = index_dir;
    options.pipeline = spec;
    RunningServer srv(options, reranker, nullptr);
    auto c = srv.client();
    auto r = c.Post("/v1/search", Json{{"query", "travel policy"}}.dump(), kJson);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json got = Json::parse(r->body)["results"];

    Pipeline direct = Pipeline::open_index(index_dir, PipelineSpec::parse(spec));
    direct.set_scorer(make_cross_encoder_scorer(reranker));
    const PipelineResult want = direct.run("travel policy");
    ASSERT_EQ(got.size(), want.hits.size());
    bool windows = false;
    for (std::size_t i = 0; i < want.hits.size(); ++i) {
        EXPECT_EQ(got[i]["doc_id"], want.hits[i].candidate.doc_id) << i;
        EXPECT_NEAR(got[i]["rerank"]["raw_score"].get<double>(), *want.hits[i].rerank_raw, 1e-4) << i;
        windows = windows || want.hits[i].n_windows > 1;
    }
    EXPECT_TRUE(windows) << "max_length=32 should split some document into windows";
    const std::string m = srv.server->metrics_text();
    EXPECT_NE(m.find("winnow_batch_size_count{model=\"rerank\"} 1"), std::string::npos) << m;
}

// Per-request rerank settings are applied or refused, never echoed and ignored: max_length ranks
// as the CLI's model loaded with that max_length does; a precision or batch budget the server's
// model does not run with is 422; a model it was not started with is 404.
TEST(SearchQueueModel, PerRequestRerankSettingsAreAppliedOrRefused) {
    const std::string model_dir = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce";
    if (!std::filesystem::exists(model_dir + "/model.safetensors")) GTEST_SKIP() << "no " << model_dir;
    std::shared_ptr<Reranker> reranker = Reranker::load(model_dir);
    const std::string index_dir = make_small_index();
    const std::string spec = "bm25(k=3) > rerank > cutoff(top_n=3)";
    ServerOptions options;
    options.index_dir = index_dir;
    options.pipeline = spec;
    RunningServer srv(options, reranker, nullptr);
    auto c = srv.client();
    auto search = [&](const std::string& pipeline) {
        Json body{{"query", "travel policy"}};
        if (!pipeline.empty()) body["pipeline"] = "bm25(k=3) > " + pipeline;
        return c.Post("/v1/search", body.dump(), kJson);
    };
    auto scores = [](const Json& results) {
        std::map<std::string, double> out;
        for (const auto& h : results) out[h["doc_id"]] = h["rerank"]["raw_score"].get<double>();
        return out;
    };
    auto plain = search("");
    ASSERT_TRUE(plain);
    ASSERT_EQ(plain->status, 200) << plain->body;
    auto short16 = search("rerank(max_length=16)");
    ASSERT_EQ(short16->status, 200) << short16->body;
    const auto got = scores(Json::parse(short16->body)["results"]);
    // What `winnow search --pipeline '... rerank(max_length=16)'` computes: the model loaded with it.
    ModelOptions mo;
    mo.max_length = 16;
    Pipeline direct = Pipeline::open_index(index_dir, PipelineSpec::parse(spec));
    direct.set_scorer(make_cross_encoder_scorer(Reranker::load(model_dir, mo)));
    const PipelineResult want = direct.run("travel policy");
    ASSERT_EQ(got.size(), want.hits.size());
    for (const auto& h : want.hits) EXPECT_NEAR(got.at(h.candidate.doc_id), *h.rerank_raw, 1e-4) << h.candidate.doc_id;
    const auto full = scores(Json::parse(plain->body)["results"]);
    bool differs = false;
    for (const auto& [doc, score] : full) differs = differs || std::abs(score - got.at(doc)) > 1e-3;
    EXPECT_TRUE(differs) << "max_length=16 should change some score";

    const std::string other = reranker->precision() == Precision::Fp32 ? "int8" : "fp32";
    auto precision = search("rerank(precision=" + other + ")");
    EXPECT_EQ(precision->status, 422) << precision->body;
    EXPECT_NE(precision->body.find("precision"), std::string::npos);
    auto same_precision = search("rerank(precision=" + std::string(precision_name(reranker->precision())) + ")");
    EXPECT_EQ(same_precision->status, 200) << same_precision->body;
    auto batch = search("rerank(batch_tokens=64)");
    EXPECT_EQ(batch->status, 422) << batch->body;
    auto model = search("rerank(model=/no/such/model)");
    EXPECT_EQ(model->status, 404) << model->body;
    auto same_model = search("rerank(model=" + model_dir + ")");
    EXPECT_EQ(same_model->status, 200) << same_model->body;
    // /v1/ask checks the same way.
    auto ask = c.Post("/v1/ask", Json{{"query", "policy"}, {"pipeline", "bm25 > rerank(model=other/model)"}}.dump(), kJson);
    EXPECT_EQ(ask->status, 404) << ask->body;
}

// A huge k in a request's spec is refused (422) before it reaches the index (it was a 500 from
// std::bad_alloc); the JSON field `k` has the same limit.
TEST_F(SearchQueue, HugeKIsRefused) {
    start();
    for (const char* spec : {"bm25(k=1000000000000)", "hybrid(k=1000000000)", "bm25(k=100001)"}) {
        auto r = post("/v1/search", {{"query", "policy"}, {"pipeline", spec}});
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 422) << spec << ": " << r->body;
        EXPECT_NE(r->body.find("100000"), std::string::npos) << r->body;
    }
    auto k = post("/v1/search", {{"query", "policy"}, {"k", 1000000000000LL}});
    EXPECT_EQ(k->status, 422) << k->body;
    auto ask = post("/v1/ask", {{"query", "policy"}, {"pipeline", "bm25(k=1000000000000)"}});
    EXPECT_EQ(ask->status, 422) << ask->body;
}

// /v1/search hits have the CLI's fields (retrieval/result_json.h), `reason` included.
TEST_F(SearchQueue, SearchHitsCarryTheCliFields) {
    start();
    auto r = post("/v1/search", {{"query", "policy"}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json j = Json::parse(r->body);
    ASSERT_FALSE(j["results"].empty());
    for (const char* key : {"reason", "span", "tokens", "decision", "first_stage", "rerank", "rank"}) {
        EXPECT_TRUE(j["results"][0].contains(key)) << key << " in " << j["results"][0].dump();
    }
    EXPECT_NE(j["results"][0]["reason"].get<std::string>().find("kept"), std::string::npos);
    EXPECT_EQ(j["first_stage_name"], "bm25(k1=0.9,b=0.4)");
}

}  // namespace
}  // namespace winnow::testing
