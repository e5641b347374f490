// Request parsing (field-naming errors, limits), base64 embeddings, API key checks, metrics text.
#include <gtest/gtest.h>

#include "server/auth.h"
#include "server/metrics.h"
#include "server/requests.h"

namespace winnow::server {
namespace {

Errc code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.code();
    }
    return Errc::Internal;
}

TEST(Requests, RerankDefaultsPerDialect) {
    const RequestLimits limits;
    const Json body{{"query", "q"}, {"documents", {"a", {{"text", "b"}}}}};
    const auto v1 = parse_rerank_request(body, RerankDialect::CohereV1, limits);
    EXPECT_EQ(v1.documents, (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(v1.return_documents);
    EXPECT_EQ(v1.top_n, 0u);
    EXPECT_FALSE(parse_rerank_request(body, RerankDialect::CohereV2, limits).return_documents);
    const auto tei = parse_rerank_request(Json{{"query", "q"}, {"texts", {"a"}}}, RerankDialect::Tei, limits);
    EXPECT_FALSE(tei.truncate);
    EXPECT_FALSE(tei.raw_scores);
    // TEI takes plain strings only.
    EXPECT_EQ(code_of([&] { parse_rerank_request(Json{{"query", "q"}, {"texts", {{{"text", "a"}}}}},
                                                 RerankDialect::Tei, limits); }),
              Errc::InvalidArgument);
}

TEST(Requests, ErrorsNameTheField) {
    const RequestLimits limits;
    try {
        parse_rerank_request(Json{{"query", "q"}, {"documents", {"a", "b", nullptr}}}, RerankDialect::CohereV1, limits);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("documents[2]"), std::string::npos) << e.what();
    }
    try {
        parse_embed_request(Json{{"input", "x"}, {"dimensions", 0}}, EmbedDialect::OpenAI, limits);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("dimensions"), std::string::npos) << e.what();
    }
    EXPECT_THROW(parse_request_body("{\"a\": }"), BadJson);
    EXPECT_THROW(parse_request_body("\xff\xfe"), BadJson);
    EXPECT_THROW(parse_request_body("1e999999"), BadJson);  // found by fuzz_server_request
    EXPECT_EQ(code_of([&] { parse_label_request(Json{{"query", "q"}, {"doc_id", "a b"}, {"relevance", 1}}, limits); }),
              Errc::InvalidArgument);
    EXPECT_EQ(parse_label_request(Json{{"query", "q"}, {"doc_id", "d1"}, {"relevance", true}}, limits).relevance, 1);
    EXPECT_EQ(code_of([&] { parse_search_request(Json{{"query", "   "}}, limits); }), Errc::InvalidArgument);
}

TEST(Requests, LimitsAreTooLarge) {
    RequestLimits limits;
    limits.max_documents = 2;
    limits.max_text_bytes = 5;
    EXPECT_EQ(code_of([&] { parse_rerank_request(Json{{"query", "q"}, {"documents", {"a", "b", "c"}}},
                                                 RerankDialect::CohereV2, limits); }),
              Errc::TooLarge);
    EXPECT_EQ(code_of([&] { parse_embed_request(Json{{"inputs", "too long"}}, EmbedDialect::Tei, limits); }),
              Errc::TooLarge);
}

TEST(Requests, EmbedKinds) {
    const RequestLimits limits;
    EXPECT_EQ(parse_embed_request(Json{{"input", "x"}, {"input_type", "query"}}, EmbedDialect::OpenAI, limits).kind,
              EmbedKind::Query);
    EXPECT_EQ(parse_embed_request(Json{{"inputs", "x"}, {"prompt_name", "query"}}, EmbedDialect::Tei, limits).kind,
              EmbedKind::Query);
    EXPECT_EQ(parse_embed_request(Json{{"input", "x"}}, EmbedDialect::OpenAI, limits).kind, EmbedKind::Document);
}

TEST(Base64, MatchesRfc4648) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    const float one[] = {1.0f, -2.0f};  // 0x3f800000, 0xc0000000 little-endian
    EXPECT_EQ(base64_floats(one), "AACAPwAAAMA=");
}

TEST(ApiKeys, AcceptsOnlyConfiguredBearerTokens) {
    ApiKeys none;
    EXPECT_FALSE(none.enabled());
    ApiKeys keys({"alpha", "beta-key"});
    EXPECT_TRUE(keys.enabled());
    EXPECT_TRUE(keys.accepts("Bearer alpha"));
    EXPECT_TRUE(keys.accepts("bearer beta-key"));
    EXPECT_TRUE(keys.accepts("Bearer  alpha "));
    EXPECT_FALSE(keys.accepts("Bearer alph"));
    EXPECT_FALSE(keys.accepts("Bearer alphaa"));
    EXPECT_FALSE(keys.accepts("Basic alpha"));
    EXPECT_FALSE(keys.accepts("alpha"));
    EXPECT_FALSE(keys.accepts(""));
    EXPECT_FALSE(keys.accepts("Bearer "));
}

TEST(Metrics, RendersPrometheusText) {
    Metrics m;
    m.observe_request("/v1/rerank", 200, 0.003);
    m.observe_request("/v1/rerank", 200, 0.2);
    m.observe_request("/v1/rerank", 429, 0.0001);
    m.observe_batch("rerank", 10, 900, 3, 0.01);
    m.add_gauge("winnow_queue_depth", "Items waiting.", "model=\"rerank\"", [] { return 7.0; });
    const std::string t = m.render();
    EXPECT_NE(t.find("winnow_http_requests_total{route=\"/v1/rerank\",status=\"200\"} 2\n"), std::string::npos) << t;
    EXPECT_NE(t.find("winnow_http_requests_total{route=\"/v1/rerank\",status=\"429\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("winnow_http_request_duration_seconds_bucket{route=\"/v1/rerank\",le=\"0.005\"} 2\n"),
              std::string::npos) << t;
    EXPECT_NE(t.find("winnow_http_request_duration_seconds_bucket{route=\"/v1/rerank\",le=\"+Inf\"} 3\n"),
              std::string::npos);
    EXPECT_NE(t.find("winnow_http_request_duration_seconds_count{route=\"/v1/rerank\"} 3\n"), std::string::npos);
    EXPECT_NE(t.find("winnow_batch_size_bucket{model=\"rerank\",le=\"16\"} 1\n"), std::string::npos) << t;
    EXPECT_NE(t.find("winnow_batch_tokens_sum{model=\"rerank\"} 900\n"), std::string::npos);
    EXPECT_NE(t.find("winnow_queue_depth{model=\"rerank\"} 7\n"), std::string::npos);
}

}  // namespace
}  // namespace winnow::server
