// A local OpenAI-compatible chat-completions server for tests (cpp-httplib, loopback, any port).
// The answer echoes the last user message, so tests can check what the client sent. The model
// name selects a misbehaviour: "slow" (answers only when the mock shuts down, so a client's timeout
// always fires first, whatever the machine's load), "error500", "ratelimit",
// "garbage" (a non-JSON body), "midstream-error" (an error event inside the stream).
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace winnow::test {

class MockLlmServer {
public:
    explicit MockLlmServer(std::string api_key = "") : api_key_(std::move(api_key)) {
        server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
            handle(req, res);
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~MockLlmServer() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        stopping_cv_.notify_all();
        server_.stop();
        if (thread_.joinable()) thread_.join();
    }
    MockLlmServer(const MockLlmServer&) = delete;
    MockLlmServer& operator=(const MockLlmServer&) = delete;

    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
    nlohmann::json last_request() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return last_request_;
    }
    std::string last_authorization() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return last_authorization_;
    }
    int requests() const { return requests_.load(); }

    // The words the answer is made of for a given last user message.
    static std::vector<std::string> answer_words(const std::string& question) {
        std::vector<std::string> words = {"You", " asked:", " "};
        words.push_back(question.substr(0, 40));
        words.push_back(" [1]");
        return words;
    }

private:
    void handle(const httplib::Request& req, httplib::Response& res) {
        ++requests_;
        nlohmann::json body;
        try {
            body = nlohmann::json::parse(req.body);
        } catch (const nlohmann::json::exception&) {
            res.status = 400;
            res.set_content(R"({"error": {"message": "body is not JSON", "type": "invalid_request_error"}})",
                            "application/json");
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            last_request_ = body;
            last_authorization_ = req.get_header_value("Authorization");
        }
        if (!api_key_.empty() && req.get_header_value("Authorization") != "Bearer " + api_key_) {
            res.status = 401;
            res.set_content(R"({"error": {"message": "Incorrect API key provided", "type": "invalid_api_key"}})",
                            "application/json");
            return;
        }
        const std::string model = body.value("model", std::string("mock"));
        if (!body.contains("messages") || !body["messages"].is_array()) {
            res.status = 400;
            res.set_content(R"({"error": {"message": "'messages' is required", "type": "invalid_request_error"}})",
                            "application/json");
            return;
        }
        if (model == "slow") {
            std::unique_lock<std::mutex> lock(mutex_);
            stopping_cv_.wait(lock, [this] { return stopping_; });
        }
        if (model == "error500") {
            res.status = 500;
            res.set_content(R"({"error": {"message": "the model crashed", "type": "server_error"}})", "application/json");
            return;
        }
        if (model == "ratelimit") {
            res.status = 429;
            res.set_content(R"({"error": {"message": "Rate limit reached", "type": "rate_limit"}})", "application/json");
            return;
        }
        if (model == "garbage") {
            res.set_content("<html>not json</html>", "text/html");
            return;
        }
        std::string question;
        for (const auto& m : body["messages"]) {
            if (m.value("role", std::string()) == "user") question = m.value("content", std::string());
        }
        const auto words = answer_words(question);
        if (!body.value("stream", false)) {
            std::string answer;
            for (const auto& w : words) answer += w;
            nlohmann::json out = {
                {"id", "chatcmpl-1"},
                {"object", "chat.completion"},
                {"model", model},
                {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", answer}}}, {"finish_reason", "stop"}}}},
                {"usage", {{"prompt_tokens", 11}, {"completion_tokens", static_cast<int>(words.size())}}}};
            res.set_content(out.dump(), "application/json");
            return;
        }
        auto events = std::make_shared<std::vector<std::string>>();
        events->push_back(": keep-alive\n\n");
        events->push_back("data: " + nlohmann::json({{"model", model}, {"choices", {{{"index", 0}, {"delta", {{"role", "assistant"}}}}}}}).dump() + "\n\n");
        for (std::size_t i = 0; i < words.size(); ++i) {
            if (model == "midstream-error" && i == 2) {
                events->push_back("data: {\"error\": {\"message\": \"backend went away\"}}\n\n");
                break;
            }
            nlohmann::json chunk = {{"model", model}, {"choices", {{{"index", 0}, {"delta", {{"content", words[i]}}}}}}};
            // Split an event across two writes, CRLF line ends: the parser must reassemble it.
            std::string text = "data: " + chunk.dump() + "\r\n\r\n";
            events->push_back(text.substr(0, text.size() / 2));
            events->push_back(text.substr(text.size() / 2));
        }
        events->push_back("data: " + nlohmann::json({{"model", model}, {"choices", {{{"index", 0}, {"delta", nlohmann::json::object()}, {"finish_reason", "stop"}}}}}).dump() + "\n\n");
        events->push_back("data: [DONE]\n\n");
        auto next = std::make_shared<std::size_t>(0);
        res.set_chunked_content_provider("text/event-stream", [events, next](std::size_t, httplib::DataSink& sink) {
            if (*next < events->size()) {
                const std::string& e = (*events)[(*next)++];
                sink.write(e.data(), e.size());
                return true;
            }
            sink.done();
            return true;
        });
    }

    std::string api_key_;
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable stopping_cv_;
    bool stopping_ = false;  // guarded by mutex_
    nlohmann::json last_request_;
    std::string last_authorization_;
    std::atomic<int> requests_{0};
};

}  // namespace winnow::test
