// Black-box tests of every route of the in-process server on 127.0.0.1 (fake models): shapes of
// both rerank dialects, both embedding APIs, info routes, every error status, auth, CORS,
// backpressure, deadlines, client-disconnect cancellation and graceful shutdown.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>

#include <gtest/gtest.h>

#include "server/requests.h"
#include "server_fixture.h"

namespace winnow::testing {
namespace {

using namespace std::chrono_literals;

const char* kJson = "application/json";

struct Api : ::testing::Test {
    std::shared_ptr<FakeReranker> reranker = std::make_shared<FakeReranker>();
    std::shared_ptr<FakeEmbedder> embedder = std::make_shared<FakeEmbedder>();
    ServerOptions options;
    std::unique_ptr<RunningServer> srv;

    void start() {
        options.pretokenize = false;
        srv = std::make_unique<RunningServer>(options, reranker, embedder);
    }
    httplib::Result post(const std::string& path, const Json& body, const httplib::Headers& headers = {}) {
        auto c = srv->client();
        return c.Post(path.c_str(), headers, body.dump(), kJson);
    }
    httplib::Result post_raw(const std::string& path, const std::string& body) {
        auto c = srv->client();
        return c.Post(path.c_str(), body, kJson);
    }
    httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) {
        auto c = srv->client();
        return c.Get(path.c_str(), headers);
    }
    // Asserts the JSON error shape and that the message mentions `needle`.
    double queue_depth() const { return metric(srv->server->metrics_text(), "winnow_queue_depth{model=\"rerank\"}"); }
    // Holds the fake model inside the batch of a one-document /v1/rerank request (scored once
    // released), so that what the test sends next queues behind it.
    std::future<int> occupy_model() {
        reranker->hold();
        auto first = std::async(std::launch::async, [this] {
            auto r = post("/v1/rerank", {{"query", "a"}, {"documents", {"a"}}});
            return r ? r->status : -1;
        });
        EXPECT_TRUE(eventually([&] { return reranker->batches_waiting() == 1; }));
        return first;
    }
    void TearDown() override { reranker->release(); }
    static void expect_error(const httplib::Result& r, int status, const std::string& type, const std::string& needle) {
        ASSERT_TRUE(r) << httplib::to_string(r.error());
        EXPECT_EQ(r->status, status) << r->body;
        const Json j = Json::parse(r->body);
        ASSERT_TRUE(j.contains("error")) << r->body;
        EXPECT_EQ(j["error"]["type"], type) << r->body;
        EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << r->body;
    }
};

const Json kDocs = Json::array({"the cat sat", "dogs bark at the cat on the mat", "nothing here", "cat mat"});

TEST_F(Api, CohereV1RerankSortedWithIndicesDocumentsAndUsage) {
    start();
    auto r = post("/v1/rerank", {{"model", "anything"}, {"query", "cat mat"}, {"documents", kDocs}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), kJson);
    const Json j = Json::parse(r->body);
    EXPECT_TRUE(j["id"].is_string());
    EXPECT_EQ(j["model"], "fake-reranker");
    ASSERT_EQ(j["results"].size(), 4u);
    // "cat mat" hits both words in docs 1 and 3 (ties keep input order), one in doc 0, none in 2.
    std::vector<std::size_t> order;
    for (const auto& x : j["results"]) order.push_back(x["index"]);
    EXPECT_EQ(order, (std::vector<std::size_t>{1, 3, 0, 2}));
    EXPECT_NEAR(j["results"][0]["relevance_score"].get<double>(), 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
    EXPECT_EQ(j["results"][0]["document"]["text"], kDocs[1]);  // v1 returns documents by default
    EXPECT_GT(j["usage"]["total_tokens"].get<int>(), 0);
}

TEST_F(Api, CohereV2RerankTopNObjectsAndNoDocumentsByDefault) {
    start();
    Json docs = Json::array();
    for (const auto& d : kDocs) docs.push_back({{"text", d}});
    auto r = post("/v2/rerank", {{"query", "cat mat"}, {"documents", docs}, {"top_n", 2}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json j = Json::parse(r->body);
    ASSERT_EQ(j["results"].size(), 2u);
    EXPECT_EQ(j["results"][0]["index"], 1);
    EXPECT_EQ(j["results"][1]["index"], 3);
    EXPECT_FALSE(j["results"][0].contains("document"));
    auto with_docs = post("/v2/rerank", {{"query", "cat"}, {"documents", kDocs}, {"return_documents", true}});
    EXPECT_EQ(Json::parse(with_docs->body)["results"][0]["document"]["text"], kDocs[0]);
}

TEST_F(Api, TeiRerankScoresRawScoresAndText) {
    start();
    auto r = post("/rerank", {{"query", "cat mat"}, {"texts", kDocs}, {"return_text", true}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json j = Json::parse(r->body);
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 4u);
    EXPECT_EQ(j[0]["index"], 1);
    EXPECT_EQ(j[0]["text"], kDocs[1]);
    EXPECT_NEAR(j[0]["score"].get<double>(), 0.7310586, 1e-6);
    auto raw = post("/rerank", {{"query", "cat mat"}, {"texts", kDocs}, {"raw_scores", true}});
    const Json jr = Json::parse(raw->body);
    EXPECT_NEAR(jr[0]["score"].get<double>(), 1.0, 1e-6);
    EXPECT_NEAR(jr[3]["score"].get<double>(), -1.0, 1e-6);
    EXPECT_FALSE(jr[0].contains("text"));
}

TEST_F(Api, TeiRerankRefusesOverlongInputWithoutTruncate) {
    reranker->max_len = 16;
    start();
    const std::string long_doc(400, 'x');
    auto r = post("/rerank", {{"query", "q"}, {"texts", {"short", long_doc}}});
    expect_error(r, 413, "too_large", "texts[1]");
    auto ok = post("/rerank", {{"query", "q"}, {"texts", {"short", long_doc}}, {"truncate", true}});
    EXPECT_EQ(ok->status, 200);
    EXPECT_NE(get("/metrics")->body.find("winnow_truncations_total{model=\"rerank\"}"), std::string::npos);
}

TEST_F(Api, TeiEmbedReturnsNormalizedVectors) {
    start();
    auto r = post("/embed", {{"inputs", {"hello", "world wide"}}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json j = Json::parse(r->body);
    ASSERT_EQ(j.size(), 2u);
    ASSERT_EQ(j[0].size(), FakeEmbedder::kDim);
    double norm = 0;
    for (const auto& x : j[1]) norm += x.get<double>() * x.get<double>();
    EXPECT_NEAR(norm, 1.0, 1e-5);
    auto single = post("/embed", {{"inputs", "hello"}});
    EXPECT_EQ(Json::parse(single->body), Json::array({j[0]}));
}

TEST_F(Api, OpenAiEmbeddingsFloatBase64AndDimensions) {
    start();
    auto r = post("/v1/embeddings", {{"input", {"alpha", "beta gamma"}}, {"model", "x"}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json j = Json::parse(r->body);
    EXPECT_EQ(j["object"], "list");
    EXPECT_EQ(j["model"], "fake-embedder");
    ASSERT_EQ(j["data"].size(), 2u);
    EXPECT_EQ(j["data"][1]["object"], "embedding");
    EXPECT_EQ(j["data"][1]["index"], 1);
    const auto floats = j["data"][1]["embedding"].get<std::vector<float>>();
    ASSERT_EQ(floats.size(), FakeEmbedder::kDim);
    EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
    EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"]);

    auto b = post("/v1/embeddings", {{"input", {"alpha", "beta gamma"}}, {"encoding_format", "base64"}});
    const Json jb = Json::parse(b->body);
    EXPECT_EQ(jb["data"][1]["embedding"].get<std::string>(), server::base64_floats(floats));

    auto d = post("/v1/embeddings", {{"input", "alpha"}, {"dimensions", 3}});
    const auto v = Json::parse(d->body)["data"][0]["embedding"].get<std::vector<float>>();
    ASSERT_EQ(v.size(), 3u);
    double norm = 0;
    for (float x : v) norm += double(x) * x;
    EXPECT_NEAR(norm, 1.0, 1e-5);

    expect_error(post("/v1/embeddings", {{"input", "a"}, {"dimensions", 9}}), 422, "invalid_argument", "dimensions");
    expect_error(post("/v1/embeddings", {{"input", "a"}, {"encoding_format", "int8"}}), 422, "invalid_argument",
                 "encoding_format");
    expect_error(post("/v1/embeddings", {{"input", {{1, 2, 3}}}}), 422, "unsupported", "input[0]");
}

TEST_F(Api, HealthModelsAndMetrics) {
    start();
    auto h = get("/health");
    ASSERT_EQ(h->status, 200);
    EXPECT_EQ(Json::parse(h->body)["status"], "ok");
    auto m = get("/v1/models");
    const Json jm = Json::parse(m->body);
    ASSERT_EQ(jm["data"].size(), 2u);
    EXPECT_EQ(jm["data"][0]["id"], "fake-reranker");
    EXPECT_EQ(jm["data"][0]["type"], "rerank");
    EXPECT_EQ(jm["data"][1]["dimension"], FakeEmbedder::kDim);

    post("/v1/rerank", {{"query", "cat"}, {"documents", kDocs}});
    post_raw("/v1/rerank", "{nope");
    const auto text = get("/metrics")->body;
    EXPECT_NE(text.find("winnow_http_requests_total{route=\"/v1/rerank\",status=\"200\"} 1"), std::string::npos)
        << text;
    EXPECT_NE(text.find("winnow_http_requests_total{route=\"/v1/rerank\",status=\"400\"} 1"), std::string::npos);
    EXPECT_NE(text.find("winnow_http_request_duration_seconds_bucket{route=\"/v1/rerank\",le=\"+Inf\"} 2"),
              std::string::npos);
    EXPECT_NE(text.find("winnow_batch_size_count{model=\"rerank\"} 1"), std::string::npos) << text;
    EXPECT_NE(text.find("winnow_queue_depth{model=\"rerank\"} 0"), std::string::npos);
    EXPECT_NE(text.find("winnow_tokens_total{model=\"rerank\"}"), std::string::npos);
    EXPECT_NE(text.find("# TYPE winnow_http_request_duration_seconds histogram"), std::string::npos);
}

TEST_F(Api, BadJsonIs400AndBadFieldsAre422NamingTheField) {
    start();
    expect_error(post_raw("/v1/rerank", "{\"query\": "), 400, "invalid_json", "not valid JSON");
    expect_error(post_raw("/v1/rerank", "[1,2]"), 422, "invalid_argument", "JSON object");
    expect_error(post("/v1/rerank", {{"documents", kDocs}}), 422, "invalid_argument", "'query'");
    expect_error(post("/v1/rerank", {{"query", 3}, {"documents", kDocs}}), 422, "invalid_argument", "'query'");
    expect_error(post("/v1/rerank", {{"query", "q"}}), 422, "invalid_argument", "'documents'");
    expect_error(post("/v1/rerank", {{"query", "q"}, {"documents", {"a", 5}}}), 422, "invalid_argument",
                 "documents[1]");
    expect_error(post("/v1/rerank", {{"query", "q"}, {"documents", {{{"txt", "a"}}}}}), 422, "invalid_argument",
                 "documents[0].text");
    expect_error(post("/v1/rerank", {{"query", "q"}, {"documents", kDocs}, {"top_n", -1}}), 422, "invalid_argument",
                 "top_n");
    expect_error(post("/v1/rerank", {{"query", "q"}, {"documents", kDocs}, {"top_n", 1.5}}), 422, "invalid_argument",
                 "top_n");
    expect_error(post("/rerank", {{"query", "q"}, {"texts", kDocs}, {"raw_scores", "yes"}}), 422, "invalid_argument",
                 "raw_scores");
    expect_error(post("/embed", {{"inputs", Json::array()}}), 422, "invalid_argument", "inputs");
}

TEST_F(Api, LimitsAre413) {
    options.max_documents = 3;
    options.max_body_bytes = 2000;
    options.max_text_bytes = 100;
    start();
    expect_error(post("/v1/rerank", {{"query", "q"}, {"documents", kDocs}}), 413, "too_large", "documents");
    expect_error(post("/v1/rerank", {{"query", std::string(200, 'q')}, {"documents", {"a"}}}), 413, "too_large",
                 "query");
    auto big = post("/v1/rerank", {{"query", "q"}, {"documents", {std::string(3000, 'a')}}});
    expect_error(big, 413, "too_large", "limit");
}

TEST_F(Api, UnknownRouteIs404AndMissingModelIs404) {
    options.max_documents = 10;
    srv = std::make_unique<RunningServer>(options, reranker, nullptr);
    expect_error(get("/v9/nothing"), 404, "not_found", "/v9/nothing");
    expect_error(post("/v1/embeddings", {{"input", "a"}}), 404, "not_found", "--embed-model");
}

TEST_F(Api, ApiKeysRequiredAndCheckedExceptForHealth) {
    options.api_keys = {"secret-one", "secret-two"};
    start();
    const Json body{{"query", "cat"}, {"documents", kDocs}};
    expect_error(post("/v1/rerank", body), 401, "unauthorized", "Authorization");
    auto wrong = post("/v1/rerank", body, {{"Authorization", "Bearer secret-on"}});
    expect_error(wrong, 401, "unauthorized", "invalid API key");
    EXPECT_EQ(wrong->get_header_value("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(post("/v1/rerank", body, {{"Authorization", "Bearer secret-two"}})->status, 200);
    EXPECT_EQ(post("/v1/rerank", body, {{"Authorization", "bearer secret-one"}})->status, 200);
    EXPECT_EQ(get("/health")->status, 200);
    EXPECT_EQ(get("/metrics")->status, 401);
    EXPECT_EQ(get("/metrics", {{"Authorization", "Bearer secret-one"}})->status, 200);
}

TEST_F(Api, CorsIsOffByDefault) {
    start();
    auto r = get("/health", {{"Origin", "http://example.com"}});
    EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
    auto c = srv->client();
    auto pre = c.Options("/v1/rerank");
    ASSERT_TRUE(pre);
    EXPECT_NE(pre->status, 204);
    EXPECT_FALSE(pre->has_header("Access-Control-Allow-Origin"));
}

TEST_F(Api, CorsWhenConfigured) {
    options.cors_origin = "http://app.example";
    options.api_keys = {"k"};
    start();
    auto c = srv->client();
    auto pre = c.Options("/v1/rerank");
    ASSERT_TRUE(pre);
    EXPECT_EQ(pre->status, 204);
    EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Origin"), "http://app.example");
    EXPECT_NE(pre->get_header_value("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
    EXPECT_EQ(get("/health")->get_header_value("Access-Control-Allow-Origin"), "http://app.example");
}

TEST_F(Api, ConcurrentRequestsShareBatches) {
    start();
    auto first = occupy_model();
    // Twelve requests queue behind the held batch, then run together once it is released.
    std::vector<std::future<int>> results;
    for (int i = 0; i < 12; ++i) {
        results.push_back(std::async(std::launch::async, [&, i] {
            auto r = post("/v1/rerank", {{"query", "cat"}, {"documents", {"cat " + std::to_string(i), "dog"}}});
            return r ? r->status : -1;
        }));
    }
    ASSERT_TRUE(eventually([&] { return queue_depth() == 24; })) << srv->server->metrics_text();
    reranker->release();
    for (auto& f : results) EXPECT_EQ(f.get(), 200);
    EXPECT_EQ(first.get(), 200);
    const auto batches = reranker->batches();
    EXPECT_LT(batches.size(), 12u);  // 12 requests in fewer model calls
    EXPECT_EQ(batches.front(), 1u);  // the held one
    EXPECT_GT(*std::max_element(batches.begin(), batches.end()), 2u);
    EXPECT_EQ(reranker->pairs_scored(), 25u);
}

TEST_F(Api, FullQueueGives429WithRetryAfter) {
    options.max_queue_items = 4;
    options.max_documents = 4;
    start();
    // One request is held inside the model, one fills the queue (4 of 4 items): the third must be
    // refused whatever the machine's speed.
    auto first = occupy_model();
    auto second = std::async(std::launch::async, [&] {
        return post("/v1/rerank", {{"query", "a"}, {"documents", {"a", "b", "c", "d"}}})->status;
    });
    ASSERT_TRUE(eventually([&] { return queue_depth() == 4; })) << srv->server->metrics_text();
    auto r = post("/v1/rerank", {{"query", "a"}, {"documents", {"a"}}});
    expect_error(r, 429, "overloaded", "queue full");
    EXPECT_GE(std::stoi(r->get_header_value("Retry-After")), 1);
    reranker->release();
    EXPECT_EQ(first.get(), 200);
    EXPECT_EQ(second.get(), 200);
    EXPECT_NE(get("/metrics")->body.find("winnow_rejected_total{reason=\"overloaded\"} 1"), std::string::npos);
}

TEST_F(Api, DeadlineGives504) {
    options.request_timeout = 100ms;
    start();
    reranker->hold();  // the model never answers within the deadline, however fast the machine
    auto r = post("/v1/rerank", {{"query", "a"}, {"documents", {"a"}}});
    expect_error(r, 504, "timeout", "100 ms");
    reranker->release();
}

// Opens a raw socket and sends a request on it; the caller closes it without reading the answer.
int send_raw_request(int port, const std::string& body) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const std::string req = "POST /v1/rerank HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    EXPECT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    return fd;
}

TEST_F(Api, ClientDisconnectCancelsQueuedWork) {
    start();
    auto busy = occupy_model();
    const int fd = send_raw_request(srv->port, Json{{"query", "x"}, {"documents", {"one", "two", "three"}}}.dump());
    ASSERT_TRUE(eventually([&] { return queue_depth() == 3; })) << srv->server->metrics_text();
    ::close(fd);  // the client goes away while its pairs wait behind the held batch
    ASSERT_TRUE(eventually([&] {
        return metric(srv->server->metrics_text(), "winnow_cancelled_total{route=\"/v1/rerank\"}") == 1;
    })) << srv->server->metrics_text();
    EXPECT_EQ(queue_depth(), 0);
    reranker->release();
    EXPECT_EQ(busy.get(), 200);
    EXPECT_EQ(reranker->pairs_scored(), 1u);  // the abandoned request's 3 pairs never ran
    EXPECT_EQ(reranker->batches(), std::vector<std::size_t>{1});
}

TEST_F(Api, GracefulShutdownFinishesInFlightRequests) {
    start();
    reranker->hold();
    auto in_flight = std::async(std::launch::async, [&] {
        auto r = post("/v1/rerank", {{"query", "cat"}, {"documents", {"cat", "dog"}}});
        return r ? r->status : -1;
    });
    ASSERT_TRUE(eventually([&] { return reranker->batches_waiting() == 1; }));
    // Shutdown starts while the request is inside the model, and returns once it is answered.
    auto stopping = std::async(std::launch::async, [&] { srv->shutdown(); });
    ASSERT_TRUE(eventually([&] {
        auto c = httplib::Client("127.0.0.1", srv->port);
        c.set_connection_timeout(1s);
        return !c.Get("/health");  // no longer listening
    }));
    EXPECT_EQ(stopping.wait_for(0s), std::future_status::timeout);  // still waiting for the request
    reranker->release();
    EXPECT_EQ(in_flight.get(), 200);
    stopping.get();
}

TEST_F(Api, WebUiIsServed) {
    start();
    auto r = get("/ui");
    ASSERT_EQ(r->status, 200);
    EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
    EXPECT_NE(r->body.find("id=\"first-stage\""), std::string::npos);
    EXPECT_NE(r->body.find("/v1/labels"), std::string::npos);
}

// After the last request in flight, freed memory goes back to the system (malloc_trim), counted
// in /metrics; --no-memory-trim turns it off.
TEST_F(Api, MemoryIsTrimmedWhenTheServerGoesIdle) {
    start();
    ASSERT_EQ(post("/v1/rerank", {{"query", "cat"}, {"documents", kDocs}})->status, 200);
    EXPECT_TRUE(eventually([&] { return metric(srv->server->metrics_text(), "winnow_memory_trims_total") >= 1; }));
}

TEST_F(Api, MemoryTrimCanBeTurnedOff) {
    options.trim_memory_when_idle = false;
    start();
    ASSERT_EQ(post("/v1/rerank", {{"query", "cat"}, {"documents", kDocs}})->status, 200);
    EXPECT_EQ(srv->server->metrics_text().find("winnow_memory_trims_total"), std::string::npos);
}

// A server with no index of its own (an external first stage, or no search at all) keeps labels
// only in a file it was given: without one, /v1/labels says how to get one and /v1/info says none.
TEST_F(Api, LabelsNeedALabelsFileWithoutAnIndex) {
    start();
    expect_error(post("/v1/labels", {{"query", "q"}, {"doc_id", "d1"}, {"relevance", 1}}), 404, "not_found",
                 "--labels FILE");
    expect_error(get("/v1/labels?query=q"), 404, "not_found", "--labels FILE");
    EXPECT_EQ(Json::parse(get("/v1/info")->body)["labels"], nullptr);
}

TEST_F(Api, LabelsGoToTheLabelsFileWithoutAnIndex) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("winnow_labels_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
    std::filesystem::create_directories(dir);
    options.labels_path = (dir / "labels.qrels").string();
    start();
    auto r = post("/v1/labels", {{"query", "q"}, {"doc_id", "d1"}, {"relevance", 1}});
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(Json::parse(r->body)["qrels"], options.labels_path);
    EXPECT_EQ(Json::parse(get("/v1/labels?query=q")->body)["labels"], Json({{"d1", 1}}));
    EXPECT_EQ(Json::parse(get("/v1/info")->body)["labels"], options.labels_path);
    srv.reset();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing
