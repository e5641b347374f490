// http::send against a local server: bodies streamed to on_body or kept whole, stopping a
// transfer, error bodies, headers of the last response after redirects, ranges, and errors
// thrown by the callback. The clients built on it (LLM chat, hub downloads, Elasticsearch,
// the remote rerank tier) have their own tests against their own mock servers.
#include <httplib.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/http_client.h"

namespace winnow::http {
namespace {

class LocalServer {
public:
    LocalServer() {
        server_.Get("/chunks", [](const httplib::Request&, httplib::Response& res) {
            res.set_chunked_content_provider("text/plain", [](std::size_t, httplib::DataSink& sink) {
                for (const char* part : {"alpha,", "beta,", "gamma"}) {
                    if (!sink.write(part, std::char_traits<char>::length(part))) return false;
                }
                sink.done();
                return true;
            });
        });
        server_.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
            res.status = 404;
            res.set_header("Retry-After", "7");
            res.set_content(R"({"error": {"message": "no such thing"}})", "application/json");
        });
        server_.Get("/moved", [](const httplib::Request&, httplib::Response& res) {
            res.set_header("X-First", "1");
            res.set_redirect("/target");
        });
        server_.Get("/target", [](const httplib::Request&, httplib::Response& res) {
            res.set_header("X-Final", "yes");
            res.set_content("arrived", "text/plain");
        });
        server_.Get("/range", [](const httplib::Request& req, httplib::Response& res) {
            res.set_header("X-Seen-Range", req.get_header_value("Range"));
            res.set_content(std::string(2000, 'x'), "application/octet-stream");  // the server applies the range
        });
        server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
            res.set_content(req.get_header_value("User-Agent") + "|" + req.body, "text/plain");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~LocalServer() {
        server_.stop();
        thread_.join();
    }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

private:
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
};

TEST(HttpClient, BodyKeptWholeOrStreamed) {
    LocalServer server;
    Request r;
    r.url = server.url("/chunks");
    Reply whole = send(r);
    ASSERT_TRUE(whole.ok) << whole.error;
    EXPECT_EQ(whole.status, 200);
    EXPECT_EQ(whole.body, "alpha,beta,gamma");

    std::string streamed;
    r.on_body = [&](std::string_view bytes) {
        streamed += bytes;
        return true;
    };
    Reply reply = send(r);
    ASSERT_TRUE(reply.ok) << reply.error;
    EXPECT_EQ(streamed, "alpha,beta,gamma");
    EXPECT_TRUE(reply.body.empty());
    EXPECT_FALSE(reply.stopped);
}

TEST(HttpClient, OnBodyCanStopTheTransfer) {
    LocalServer server;
    Request r;
    r.url = server.url("/chunks");
    int calls = 0;
    r.on_body = [&](std::string_view) {
        ++calls;
        return false;
    };
    const Reply reply = send(r);
    EXPECT_TRUE(reply.ok) << reply.error;
    EXPECT_TRUE(reply.stopped);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(calls, 1);
}

TEST(HttpClient, ErrorBodiesAreKeptWholeForTheMessage) {
    LocalServer server;
    Request r;
    r.url = server.url("/missing");
    bool called = false;
    r.on_body = [&](std::string_view) { return called = true; };
    const Reply reply = send(r);
    ASSERT_TRUE(reply.ok) << reply.error;
    EXPECT_EQ(reply.status, 404);
    EXPECT_FALSE(called);
    EXPECT_EQ(error_message(reply.body), "no such thing");
    EXPECT_EQ(reply.retry_after_s, 7);
    EXPECT_EQ(reply.headers.at("retry-after"), "7");
}

TEST(HttpClient, RedirectsFollowedOnlyWhenAsked) {
    LocalServer server;
    Request r;
    r.url = server.url("/moved");
    const Reply stay = send(r);
    ASSERT_TRUE(stay.ok) << stay.error;
    EXPECT_EQ(stay.status, 302);
    EXPECT_EQ(stay.headers.at("location"), "/target");
    EXPECT_EQ(stay.headers.at("x-first"), "1");

    r.follow_redirects = true;
    const Reply follow = send(r);
    ASSERT_TRUE(follow.ok) << follow.error;
    EXPECT_EQ(follow.status, 200);
    EXPECT_EQ(follow.body, "arrived");
    EXPECT_EQ(follow.headers.at("x-final"), "yes");
    EXPECT_EQ(follow.headers.count("x-first"), 0U) << "headers are the last response's";
}

TEST(HttpClient, RangeAndUserAgentAndPostBody) {
    LocalServer server;
    Request r;
    r.url = server.url("/range");
    r.range_from = 1234;
    const Reply part = send(r);
    ASSERT_TRUE(part.ok) << part.error;
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.headers.at("x-seen-range"), "bytes=1234-");
    EXPECT_EQ(part.body, std::string(2000 - 1234, 'x'));
    Request post;
    post.method = "POST";
    post.url = server.url("/echo");
    post.body = "payload";
    post.user_agent = "winnow/test";
    EXPECT_EQ(send(post).body, "winnow/test|payload");
}

TEST(HttpClient, CallbackExceptionsAreRethrown) {
    LocalServer server;
    Request r;
    r.url = server.url("/chunks");
    r.on_body = [](std::string_view) -> bool { throw std::runtime_error("bad event"); };
    EXPECT_THROW(send(r), std::runtime_error);
}

TEST(HttpClient, ConnectionRefusedIsNotOk) {
    std::string url;
    {
        LocalServer server;  // a free port, closed again: nothing listens there now
        url = server.url("/");
    }
    Request r;
    r.url = url;
    r.timeout_ms = 5000;
    const Reply reply = send(r);
    EXPECT_FALSE(reply.ok);
    EXPECT_FALSE(reply.error.empty());
    EXPECT_FALSE(reply.timed_out);
}

TEST(HttpClient, EscapeKeepsOnlyUnreservedCharacters) {
    EXPECT_EQ(escape("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(escape("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
    EXPECT_EQ(escape("\xC3\xA9"), "%C3%A9");
    EXPECT_EQ(escape(""), "");
}

TEST(HttpClient, ErrorMessageFormats) {
    EXPECT_EQ(error_message(R"({"error": "plain"})"), "plain");
    EXPECT_EQ(error_message(R"({"error": {"message": "nested"}})"), "nested");
    EXPECT_EQ(error_message(R"({"error": {"type": "index_not_found_exception", "reason": "no such index [x]"}})"),
              "index_not_found_exception: no such index [x]");
    EXPECT_EQ(error_message(R"({"message": "top level"})"), "top level");
    EXPECT_EQ(error_message(""), "(empty body)");
    EXPECT_EQ(error_message("not json"), "not json");
}

}  // namespace
}  // namespace winnow::http
