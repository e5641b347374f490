#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "llm/chat_client.h"
#include "winnow/error.h"
#include "server/llm_mock/mock_llm_server.h"

using winnow::Errc;
using winnow::llm::ChatClient;
using winnow::llm::ChatMessage;
using winnow::llm::ChatOptions;
using winnow::llm::SseParser;

namespace {

std::vector<ChatMessage> question(const std::string& q) {
    return {{"system", "Answer from the context."}, {"user", q}};
}

ChatOptions options_for(const winnow::test::MockLlmServer& server, const std::string& model) {
    ChatOptions o;
    o.url = server.url();
    o.model = model;
    o.timeout_s = 5;
    return o;
}

std::string expected_answer(const std::string& q) {
    std::string out;
    for (const auto& w : winnow::test::MockLlmServer::answer_words(q)) out += w;
    return out;
}

Errc error_code_of(const std::function<void()>& fn, std::string* message = nullptr) {
    try {
        fn();
    } catch (const winnow::Error& e) {
        if (message) *message = e.what();
        return e.code();
    }
    ADD_FAILURE() << "no winnow::Error thrown";
    return Errc::Internal;
}

}  // namespace

TEST(SseParser, JoinsDataLinesAndSplitsEvents) {
    std::vector<std::string> events;
    SseParser parser([&](std::string_view d) { events.emplace_back(d); });
    parser.feed(": comment\n");
    parser.feed("event: x\ndata: a");
    parser.feed("b\r\ndata: c\r\n\r\nda");
    parser.feed("ta:no-space\n\n");
    parser.feed("data: last");
    parser.finish();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0], "ab\nc");
    EXPECT_EQ(events[1], "no-space");
    EXPECT_EQ(events[2], "last");
}

TEST(ChatClient, EndpointAppendsChatCompletions) {
    ChatOptions o;
    o.url = "http://h:1/v1/";
    EXPECT_EQ(ChatClient(o).endpoint(), "http://h:1/v1/chat/completions");
    o.url = "http://h:1/v1/chat/completions";
    EXPECT_EQ(ChatClient(o).endpoint(), "http://h:1/v1/chat/completions");
    o.url = "ftp://h";
    EXPECT_EQ(error_code_of([&] { ChatClient c(o); }), Errc::InvalidArgument);
    o.url = "";
    EXPECT_EQ(error_code_of([&] { ChatClient c(o); }), Errc::InvalidArgument);
}

TEST(ChatClient, NonStreaming) {
    winnow::test::MockLlmServer server;
    ChatClient client(options_for(server, "mock-model"));
    auto result = client.complete(question("What is the travel limit?"));
    EXPECT_EQ(result.content, expected_answer("What is the travel limit?"));
    EXPECT_EQ(result.finish_reason, "stop");
    EXPECT_EQ(result.model, "mock-model");
    EXPECT_EQ(result.usage.prompt_tokens, 11u);
    auto sent = server.last_request();
    EXPECT_EQ(sent["model"], "mock-model");
    EXPECT_EQ(sent["stream"], false);
    ASSERT_EQ(sent["messages"].size(), 2u);
    EXPECT_EQ(sent["messages"][0]["role"], "system");
    EXPECT_EQ(sent["messages"][1]["content"], "What is the travel limit?");
}

TEST(ChatClient, StreamingDeliversDeltasInOrder) {
    winnow::test::MockLlmServer server;
    ChatClient client(options_for(server, "mock-model"));
    std::vector<std::string> deltas;
    auto result = client.stream(question("Who approved it?"), [&](std::string_view d) {
        deltas.emplace_back(d);
        return true;
    });
    EXPECT_EQ(deltas, winnow::test::MockLlmServer::answer_words("Who approved it?"));
    EXPECT_EQ(result.content, expected_answer("Who approved it?"));
    EXPECT_EQ(result.finish_reason, "stop");
    EXPECT_EQ(server.last_request()["stream"], true);
}

TEST(ChatClient, StreamingCanStopEarly) {
    winnow::test::MockLlmServer server;
    ChatClient client(options_for(server, "mock-model"));
    int calls = 0;
    auto result = client.stream(question("q"), [&](std::string_view) { return ++calls < 2; });
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(result.finish_reason, "cancelled");
    EXPECT_EQ(result.content, "You asked:");
}

TEST(ChatClient, ApiKeySentAndRejected) {
    winnow::test::MockLlmServer server("sk-test");
    auto o = options_for(server, "m");
    o.api_key = "sk-test";
    EXPECT_FALSE(ChatClient(o).complete(question("q")).content.empty());
    EXPECT_EQ(server.last_authorization(), "Bearer sk-test");
    o.api_key = "wrong";
    std::string message;
    EXPECT_EQ(error_code_of([&] { ChatClient(o).complete(question("q")); }, &message), Errc::Unauthorized);
    EXPECT_NE(message.find("Incorrect API key"), std::string::npos) << message;
    EXPECT_NE(message.find("401"), std::string::npos) << message;
    EXPECT_EQ(error_code_of([&] { ChatClient(o).stream(question("q"), nullptr); }), Errc::Unauthorized);
}

TEST(ChatClient, ApiKeyFromEnvironment) {
    ::setenv("WINNOW_LLM_API_KEY", "sk-env", 1);
    auto o = winnow::llm::options_from_env({});
    EXPECT_EQ(o.api_key, "sk-env");
    ::unsetenv("WINNOW_LLM_API_KEY");
    ::setenv("OPENAI_API_KEY", "sk-openai", 1);
    EXPECT_EQ(winnow::llm::options_from_env({}).api_key, "sk-openai");
    ChatOptions explicit_key;
    explicit_key.api_key = "given";
    EXPECT_EQ(winnow::llm::options_from_env(explicit_key).api_key, "given");
    ::unsetenv("OPENAI_API_KEY");
}

TEST(ChatClient, ServerErrorsMapToCodes) {
    winnow::test::MockLlmServer server;
    std::string message;
    EXPECT_EQ(error_code_of([&] { ChatClient(options_for(server, "error500")).complete(question("q")); }, &message),
              Errc::Io);
    EXPECT_NE(message.find("the model crashed"), std::string::npos) << message;
    EXPECT_NE(message.find(server.url()), std::string::npos) << message;
    EXPECT_EQ(error_code_of([&] { ChatClient(options_for(server, "ratelimit")).stream(question("q"), nullptr); }),
              Errc::Overloaded);
    EXPECT_EQ(error_code_of([&] { ChatClient(options_for(server, "garbage")).complete(question("q")); }), Errc::Corrupt);
    EXPECT_EQ(error_code_of([&] { ChatClient(options_for(server, "garbage")).stream(question("q"), nullptr); }),
              Errc::Corrupt);
    EXPECT_EQ(error_code_of([&] { ChatClient(options_for(server, "midstream-error")).stream(question("q"), nullptr); },
                            &message),
              Errc::Io);
    EXPECT_NE(message.find("backend went away"), std::string::npos) << message;
}

TEST(ChatClient, Timeout) {
    winnow::test::MockLlmServer server;
    auto o = options_for(server, "slow");
    o.timeout_s = 0.3;
    std::string message;
    EXPECT_EQ(error_code_of([&] { ChatClient(o).complete(question("q")); }, &message), Errc::Timeout);
    EXPECT_NE(message.find("0.3"), std::string::npos) << message;
}

TEST(ChatClient, ConnectionRefusedIsIo) {
    int port = 0;
    {
        winnow::test::MockLlmServer server;  // take a free port, then close it
        port = server.port();
    }
    ChatOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
    o.timeout_s = 2;
    std::string message;
    EXPECT_EQ(error_code_of([&] { ChatClient(o).complete(question("q")); }, &message), Errc::Io);
    EXPECT_NE(message.find("127.0.0.1"), std::string::npos) << message;
}
