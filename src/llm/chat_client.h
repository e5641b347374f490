// An OpenAI-compatible chat-completions client over libcurl: non-streaming and streaming
// (server-sent events), API key from the environment, timeouts, errors that name the server.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::llm {

struct ChatMessage {
    std::string role;  // "system" | "user" | "assistant"
    std::string content;
};

struct ChatOptions {
    // Base URL of the API ("http://127.0.0.1:8000/v1"); "/chat/completions" is appended unless
    // the URL already ends with it.
    std::string url;
    std::string model;
    std::string api_key;                // sent as "Authorization: Bearer <key>" when not empty
    double timeout_s = 120.0;           // the whole request, streaming included
    double connect_timeout_s = 10.0;
    std::optional<double> temperature;  // omitted from the request when unset
    std::optional<int> max_tokens;
};

// Fills url/model/api_key from the environment where not set: WINNOW_LLM_URL, WINNOW_LLM_MODEL,
// and the key from WINNOW_LLM_API_KEY, falling back to OPENAI_API_KEY.
ChatOptions options_from_env(ChatOptions options = {});

struct ChatUsage {
    std::size_t prompt_tokens = 0;
    std::size_t completion_tokens = 0;
};

struct ChatResult {
    std::string content;
    std::string finish_reason;  // "stop", "length", ... ("" when the server sent none)
    std::string model;          // as reported by the server
    ChatUsage usage;
};

// Called with each streamed piece of the answer; return false to stop the stream early
// (the result then holds what arrived so far and finish_reason "cancelled").
using DeltaCallback = std::function<bool(std::string_view delta)>;

class ChatClient {
public:
    explicit ChatClient(ChatOptions options);

    // POST with "stream": false. Throws winnow::Error: Io (cannot connect, 5xx), Timeout,
    // Unauthorized (401/403), Overloaded (429), NotFound (404), InvalidArgument (other 4xx),
    // Corrupt (a response that is not the expected JSON). Messages name the URL and carry the
    // server's own error message.
    ChatResult complete(const std::vector<ChatMessage>& messages) const;
    // POST with "stream": true; on_delta gets every content delta as it arrives.
    ChatResult stream(const std::vector<ChatMessage>& messages, const DeltaCallback& on_delta) const;

    const ChatOptions& options() const noexcept { return options_; }
    const std::string& endpoint() const noexcept { return endpoint_; }

private:
    std::string request_body(const std::vector<ChatMessage>& messages, bool stream) const;

    ChatOptions options_;
    std::string endpoint_;
};

// Incremental parser of a text/event-stream body: feed() arbitrary byte pieces; on_data is called
// with the joined "data:" lines of each complete event (events end with a blank line).
class SseParser {
public:
    explicit SseParser(std::function<void(std::string_view data)> on_data) : on_data_(std::move(on_data)) {}
    void feed(std::string_view bytes);
    void finish();  // flushes a last event not followed by a blank line

private:
    void line(std::string_view text);

    std::function<void(std::string_view)> on_data_;
    std::string pending_;
    std::string data_;
    bool has_data_ = false;
};

}  // namespace winnow::llm
