// The connection guard (src/server/guarded_server.h) against the attacks of issue 22: compressed
// and chunked bodies past the limit, request smuggling headers, NUL bytes, oversized headers, slow
// clients (header/body deadlines, the per-address cap, /health staying up) and shutdown with slow
// clients connected.
#include <gtest/gtest.h>

#include "support/deflate.h"
#include <zlib.h>

#include <future>

#include "raw_client.h"
#include "server_fixture.h"

namespace winnow::testing {
namespace {

using namespace std::chrono_literals;

using winnow::test::gzip;

// A valid rerank body of about `bytes` bytes made of many small documents (each under every other
// limit, so only the body limit can refuse it).
std::string rerank_body(std::size_t bytes) {
    Json docs = Json::array();
    const std::string doc(1000, 'a');
    for (std::size_t total = 0; total < bytes; total += doc.size() + 3) docs.push_back(doc);
    return Json{{"query", "a"}, {"documents", docs}}.dump();
}

double metric_value(const std::string& text, const std::string& name) {
    const auto p = text.find("\n" + name + " ");
    return p == std::string::npos ? -1 : std::stod(text.substr(p + name.size() + 2));
}

struct Guard : ::testing::Test {
    std::shared_ptr<FakeReranker> reranker = std::make_shared<FakeReranker>();
    ServerOptions options;
    std::unique_ptr<RunningServer> srv;

    void SetUp() override {
        options.pretokenize = false;
        options.max_body_bytes = 1u << 20;
        options.max_documents = 100000;
    }
    void start() { srv = std::make_unique<RunningServer>(options, reranker, nullptr); }

    static std::string request(const std::string& headers, const std::string& body) {
        return "POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers + "\r\n" + body;
    }
    static std::string error_type(RawClient& c) {
        try {
            return Json::parse(c.body())["error"]["type"];
        } catch (...) {
            return "";
        }
    }
    // Waits (bounded) until the server reports `n` open connections.
    bool wait_connections(double n) {
        for (int i = 0; i < 2000; ++i) {
            auto r = srv->client().Get("/metrics");
            if (r && metric_value(r->body, "winnow_http_connections") == n + 1) return true;  // +1: this request's
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }
};

TEST_F(Guard, GzipBodyIsDecodedAndItsDecodedSizeIsLimited) {
    start();
    const std::string small = rerank_body(100000);
    auto ok = srv->client().Post("/v1/rerank", {{"Content-Encoding", "gzip"}}, gzip(small), "application/json");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;

    // 2 MB of JSON compresses to a few KB: the wire size is far under the 1 MiB limit, the decoded
    // size over it.
    const std::string big = rerank_body(2u << 20);
    const std::string packed = gzip(big);
    ASSERT_LT(packed.size(), 100000u);
    auto r = srv->client().Post("/v1/rerank", {{"Content-Encoding", "gzip"}}, packed, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413) << r->body;
    EXPECT_NE(r->body.find("once decoded"), std::string::npos) << r->body;
}

TEST_F(Guard, GzipBombStopsAtTheLimitInsteadOfInflating) {
    start();
    // 64 MiB of one byte: ~290 KB of gzip; httplib used to inflate all of it into memory.
    const std::string bomb = gzip("{\"query\":\"q\",\"documents\":[\"" + std::string(64u << 20, 'a') + "\"]}");
    auto r = srv->client().Post("/v1/rerank", {{"Content-Encoding", "gzip"}}, bomb, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413) << r->body;
    EXPECT_NE(r->body.find("once decoded"), std::string::npos) << r->body;
}

TEST_F(Guard, UnknownContentEncodingIs415AndCorruptGzip400) {
    start();
    RawClient c(srv->port);
    ASSERT_TRUE(c.send(request("Content-Encoding: compress\r\nContent-Length: 2\r\n", "{}")));
    c.read_response();
    EXPECT_EQ(c.status(), 415) << c.body();
    auto r = srv->client().Post("/v1/rerank", {{"Content-Encoding", "gzip"}}, "not gzip at all", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
}

TEST_F(Guard, ChunkedBodyOverTheLimitIs413) {
    start();
    const std::string body = rerank_body(2u << 20);
    std::string chunked;
    for (std::size_t i = 0; i < body.size(); i += 65536) {
        const std::size_t n = std::min<std::size_t>(65536, body.size() - i);
        chunked += fmt::format("{:x}\r\n", n) + body.substr(i, n) + "\r\n";
    }
    chunked += "0\r\n\r\n";
    RawClient c(srv->port);
    auto sender = std::async(std::launch::async, [&] { return c.send(request("Transfer-Encoding: chunked\r\n", chunked)); });
    c.read_response();
    sender.get();
    EXPECT_EQ(c.status(), 413) << c.body();
    EXPECT_EQ(error_type(c), "too_large") << c.read_response();

    // Under the limit, chunked still works.
    const std::string small = rerank_body(10000);
    RawClient ok(srv->port);
    ASSERT_TRUE(ok.send(request("Transfer-Encoding: chunked\r\n", fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", small.size(), small))));
    ok.read_response();
    EXPECT_EQ(ok.status(), 200) << ok.body();
}

TEST_F(Guard, SmugglingHeadersAreRejected) {
    start();
    const std::string body = R"({"query":"a","documents":["a"]})";
    const std::string len = fmt::format("Content-Length: {}\r\n", body.size());
    const std::string cases[] = {
        len + len,                                        // duplicate Content-Length
        len + "Transfer-Encoding: chunked\r\n",           // both
        "Transfer-Encoding: gzip, chunked\r\n",           // not just chunked
        "Content-Length: 3x\r\n",                         // not a number
        "Content-Length: -1\r\n",
    };
    for (const auto& headers : cases) {
        RawClient c(srv->port);
        ASSERT_TRUE(c.send(request(headers, body)));
        c.read_response();
        EXPECT_EQ(c.status(), 400) << headers << c.body();
        EXPECT_EQ(error_type(c), "invalid_request") << headers;
    }
}

TEST_F(Guard, NulInHeadersAndBodiesIsRejected) {
    options.api_keys = {"secret"};
    start();
    const httplib::Headers good{{"Authorization", "Bearer secret"}};
    const std::string body = R"({"query":"a","documents":["a"]})";
    auto ok = srv->client().Post("/v1/rerank", good, body, "application/json");
    ASSERT_TRUE(ok);
    ASSERT_EQ(ok->status, 200);
    // httplib decodes %00 in header values and hands them out as C strings: "secret%00junk" was
    // read as "secret".
    auto encoded = srv->client().Post("/v1/rerank", {{"Authorization", "Bearer secret%00junk"}}, body, "application/json");
    ASSERT_TRUE(encoded);
    EXPECT_EQ(encoded->status, 400) << encoded->body;
    RawClient raw(srv->port);
    ASSERT_TRUE(raw.send(request(std::string("Authorization: Bearer secret\0junk\r\n", 35) +
                                     fmt::format("Content-Length: {}\r\n", body.size()),
                                 body)));
    raw.read_response();
    EXPECT_EQ(raw.status(), 400) << raw.body();
    // JSON stops at a NUL in nlohmann's parser: the bytes after it were ignored.
    auto nul_body = srv->client().Post("/v1/rerank", good, body + std::string("\0garbage", 8), "application/json");
    ASSERT_TRUE(nul_body);
    EXPECT_EQ(nul_body->status, 400) << nul_body->body;
    EXPECT_NE(nul_body->body.find("NUL"), std::string::npos) << nul_body->body;
}

TEST_F(Guard, OversizedHeadersAre431) {
    start();
    std::string headers;
    for (int i = 0; i < 40; ++i) headers += fmt::format("X-Filler-{}: {}\r\n", i, std::string(2000, 'h'));
    RawClient c(srv->port);
    ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n"));
    c.read_response();
    EXPECT_EQ(c.status(), 431) << c.body();
}

// A client that sends one header line at a time keeps resetting a per-read timeout; the header
// deadline ends it.
TEST_F(Guard, SlowHeadersGet408AtTheDeadline) {
    options.header_timeout = 300ms;
    start();
    RawClient c(srv->port);
    ASSERT_TRUE(c.send("GET /health HTTP/1.1\r\nHost: x\r\n"));
    bool answered = false;
    for (int i = 0; i < 400 && !answered; ++i) {  // up to ~20 s of trickling
        if (c.answered()) answered = true;
        else if (!c.send(fmt::format("X-Slow-{}: 1\r\n", i))) answered = true;
        else std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(answered) << "the server kept reading headers past the deadline";
    c.read_response();
    EXPECT_EQ(c.status(), 408) << c.body();
}

TEST_F(Guard, SlowBodyGets408AtTheDeadline) {
    options.body_timeout = 300ms;
    start();
    RawClient c(srv->port);
    ASSERT_TRUE(c.send(request("Transfer-Encoding: chunked\r\n", "")));
    bool answered = false;
    for (int i = 0; i < 400 && !answered; ++i) {
        if (c.answered()) answered = true;
        else if (!c.send("1\r\n \r\n")) answered = true;
        else std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(answered) << "the server kept reading the body past the deadline";
    c.read_response();
    EXPECT_EQ(c.status(), 408) << c.body();
}

// Slow clients from one address cannot take every HTTP thread: past the per-address cap they are
// refused, and /health from another address answers.
TEST_F(Guard, PerClientCapKeepsHealthAnswering) {
    options.http_threads = 4;
    options.max_connections_per_client = 2;
    options.header_timeout = 600s;  // the slow clients stay for the whole test
    start();
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 2; ++i) {
        slow.push_back(std::make_unique<RawClient>(srv->port, "127.0.0.2"));
        ASSERT_TRUE(slow.back()->send("GET /health HTTP/1.1\r\n"));
    }
    ASSERT_TRUE(wait_connections(2));
    for (int i = 0; i < 3; ++i) {
        RawClient extra(srv->port, "127.0.0.2");
        extra.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        extra.read_response();
        // A 503, or a close the client saw before reading it; never served.
        EXPECT_TRUE(extra.status() == 503 || (extra.status() == 0 && extra.closed())) << extra.read_response();
    }
    auto c = srv->client();
    c.set_read_timeout(20s);
    auto health = c.Get("/health");
    ASSERT_TRUE(health) << "/health did not answer while slow clients were connected";
    EXPECT_EQ(health->status, 200);
}

// Stopping drops connections that wait on their client instead of waiting for them to finish.
TEST_F(Guard, ShutdownDropsSlowAndIdleConnections) {
    options.header_timeout = 600s;
    options.keep_alive_timeout = 600s;
    start();
    std::atomic<bool> trickle{true};
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 3; ++i) {
        slow.push_back(std::make_unique<RawClient>(srv->port, "127.0.0.3"));
        ASSERT_TRUE(slow.back()->send("GET /health HTTP/1.1\r\n"));
    }
    RawClient idle(srv->port);  // a keep-alive connection between two requests
    ASSERT_TRUE(idle.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    idle.read_response();
    ASSERT_EQ(idle.status(), 200);
    ASSERT_TRUE(wait_connections(4));
    std::thread trickler([&] {
        for (int i = 0; trickle.load(); ++i) {
            for (auto& c : slow) c->send(fmt::format("X-{}: 1\r\n", i));
            std::this_thread::sleep_for(50ms);
        }
    });
    auto stopped = std::async(std::launch::async, [&] { srv->shutdown(); });
    const bool in_time = stopped.wait_for(20s) == std::future_status::ready;
    trickle.store(false);
    trickler.join();
    EXPECT_TRUE(in_time) << "stop() waited for slow clients";
    stopped.get();
}

}  // namespace
}  // namespace winnow::testing
