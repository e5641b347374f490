#include "llm/chat_client.h"

#include <algorithm>
#include <cstdlib>

#include "core/http_client.h"
#include "core/json.h"
#include "winnow/error.h"

namespace winnow::llm {
namespace {

std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
}

// What a transfer collects: the body, or the events fed to the SSE parser as they arrive.
struct Transfer {
    std::string body;
    SseParser* sse = nullptr;
    long status = 0;
    bool stopped = false;  // the caller asked to stop
};

[[noreturn]] void throw_http(long status, const std::string& endpoint, const std::string& body) {
    const std::string message = http::error_message(body);
    Errc code = Errc::Io;
    if (status == 401 || status == 403) code = Errc::Unauthorized;
    else if (status == 404) code = Errc::NotFound;
    else if (status == 408 || status == 504) code = Errc::Timeout;
    else if (status == 413) code = Errc::TooLarge;
    else if (status == 429 || status == 503) code = Errc::Overloaded;
    else if (status >= 400 && status < 500) code = Errc::InvalidArgument;
    WINNOW_THROW(code, "LLM server {} answered HTTP {}: {}", endpoint, status, message);
}

void parse_usage(const Json& j, ChatUsage& usage) {
    if (!j.is_object() || !j.contains("usage") || !j["usage"].is_object()) return;
    const Json& u = j["usage"];
    usage.prompt_tokens = json_get_or<std::size_t>(u, "prompt_tokens", usage.prompt_tokens, "usage");
    usage.completion_tokens = json_get_or<std::size_t>(u, "completion_tokens", usage.completion_tokens, "usage");
}

}  // namespace

ChatOptions options_from_env(ChatOptions options) {
    if (options.url.empty()) options.url = env_or_empty("WINNOW_LLM_URL");
    if (options.model.empty()) options.model = env_or_empty("WINNOW_LLM_MODEL");
    if (options.api_key.empty()) options.api_key = env_or_empty("WINNOW_LLM_API_KEY");
    if (options.api_key.empty()) options.api_key = env_or_empty("OPENAI_API_KEY");
    return options;
}

ChatClient::ChatClient(ChatOptions options) : options_(std::move(options)) {
    WINNOW_CHECK(!options_.url.empty(), Errc::InvalidArgument, "LLM client: no URL given (--llm-url or WINNOW_LLM_URL)");
    WINNOW_CHECK(options_.url.rfind("http://", 0) == 0 || options_.url.rfind("https://", 0) == 0,
                 Errc::InvalidArgument, "LLM client: URL '{}' must start with http:// or https://", options_.url);
    WINNOW_CHECK(options_.timeout_s > 0 && options_.connect_timeout_s > 0, Errc::InvalidArgument,
                 "LLM client: timeouts must be positive");
    endpoint_ = options_.url;
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
    constexpr std::string_view kSuffix = "/chat/completions";
    if (endpoint_.size() < kSuffix.size() || endpoint_.compare(endpoint_.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
        endpoint_ += kSuffix;
    }
}

std::string ChatClient::request_body(const std::vector<ChatMessage>& messages, bool stream) const {
    Json body = Json::object();
    if (!options_.model.empty()) body["model"] = options_.model;
    Json list = Json::array();
    for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
    body["messages"] = std::move(list);
    body["stream"] = stream;
    if (options_.temperature) body["temperature"] = *options_.temperature;
    if (options_.max_tokens) body["max_tokens"] = *options_.max_tokens;
    return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {

// Runs one POST; returns after the transfer ended (the body is in t.body unless streamed).
void perform(const ChatOptions& options, const std::string& endpoint, const std::string& payload, bool stream,
             Transfer& t) {
    http::Request r;
    r.method = "POST";
    r.url = endpoint;
    r.body = payload;
    r.headers = {"Content-Type: application/json", stream ? "Accept: text/event-stream" : "Accept: application/json"};
    if (!options.api_key.empty()) r.headers.push_back("Authorization: Bearer " + options.api_key);
    r.timeout_ms = std::max(1L, static_cast<long>(options.timeout_s * 1000.0));
    r.connect_timeout_ms = std::max(1L, static_cast<long>(options.connect_timeout_s * 1000.0));
    if (t.sse != nullptr) {
        r.on_body = [&t](std::string_view bytes) {
            t.sse->feed(bytes);
            return !t.stopped;
        };
    }
    http::Reply reply = http::send(r);  // rethrows what the parser threw
    if (reply.timed_out) {
        WINNOW_THROW(Errc::Timeout, "LLM server {} did not answer within {:.1f} s", endpoint, options.timeout_s);
    }
    if (!reply.ok) WINNOW_THROW(Errc::Io, "LLM server {}: {}", endpoint, reply.error);
    t.status = reply.status;
    t.body = std::move(reply.body);
    if (t.status >= 300) throw_http(t.status, endpoint, t.body);
}

}  // namespace

ChatResult ChatClient::complete(const std::vector<ChatMessage>& messages) const {
    Transfer t;
    perform(options_, endpoint_, request_body(messages, false), false, t);
    Json j;
    try {
        j = Json::parse(t.body);
    } catch (const nlohmann::json::exception& e) {
        WINNOW_THROW(Errc::Corrupt, "LLM server {}: response is not JSON: {}", endpoint_, t.body.substr(0, 200));
    }
    const std::string where = "LLM response from " + endpoint_;
    WINNOW_CHECK(j.is_object() && j.contains("choices") && j["choices"].is_array() && !j["choices"].empty(),
                 Errc::Corrupt, "{}: no 'choices' in the response", where);
    const Json& choice = j["choices"][0];
    ChatResult result;
    if (choice.contains("message") && choice["message"].is_object()) {
        result.content = json_get_or<std::string>(choice["message"], "content", "", where);
    } else {
        result.content = json_get_or<std::string>(choice, "text", "", where);
    }
    result.finish_reason = json_get_or<std::string>(choice, "finish_reason", "", where);
    result.model = json_get_or<std::string>(j, "model", "", where);
    parse_usage(j, result.usage);
    return result;
}

ChatResult ChatClient::stream(const std::vector<ChatMessage>& messages, const DeltaCallback& on_delta) const {
    ChatResult result;
    Transfer t;
    bool done = false;
    const std::string where = "LLM stream from " + endpoint_;
    SseParser parser([&](std::string_view data) {
        if (done || t.stopped) return;
        if (data == "[DONE]") {
            done = true;
            return;
        }
        Json j;
        try {
            j = Json::parse(data);
        } catch (const nlohmann::json::exception&) {
            WINNOW_THROW(Errc::Corrupt, "{}: an event is not JSON: {}", where, std::string(data.substr(0, 200)));
        }
        if (j.is_object() && j.contains("error")) {
            WINNOW_THROW(Errc::Io, "{}: the server reported an error: {}", where,
                         http::error_message(std::string(data)));
        }
        if (j.is_object() && j.contains("model") && j["model"].is_string()) result.model = j["model"].get<std::string>();
        parse_usage(j, result.usage);
        if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return;
        const Json& choice = j["choices"][0];
        if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
            result.finish_reason = choice["finish_reason"].get<std::string>();
        }
        std::string piece;
        if (choice.contains("delta") && choice["delta"].is_object()) {
            piece = json_get_or<std::string>(choice["delta"], "content", "", where);
        } else if (choice.contains("text") && choice["text"].is_string()) {
            piece = choice["text"].get<std::string>();
        }
        if (piece.empty()) return;
        result.content += piece;
        if (on_delta && !on_delta(piece)) {
            t.stopped = true;
            result.finish_reason = "cancelled";
        }
    });
    t.sse = &parser;
    perform(options_, endpoint_, request_body(messages, true), true, t);
    if (!t.stopped) parser.finish();
    // A body that was no event stream at all (a server ignoring "stream": true) is an error.
    WINNOW_CHECK(done || !result.content.empty() || t.stopped || !result.finish_reason.empty(), Errc::Corrupt,
                 "{}: the stream ended without any event", where);
    return result;
}

void SseParser::feed(std::string_view bytes) {
    pending_.append(bytes);
    std::size_t start = 0;
    for (;;) {
        const std::size_t nl = pending_.find('\n', start);
        if (nl == std::string::npos) break;
        std::string_view text(pending_.data() + start, nl - start);
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        line(text);
        start = nl + 1;
    }
    pending_.erase(0, start);
}

void SseParser::finish() {
    if (!pending_.empty()) {
        std::string rest = std::move(pending_);
        pending_.clear();
        if (!rest.empty() && rest.back() == '\r') rest.pop_back();
        line(rest);
    }
    line("");
}

void SseParser::line(std::string_view text) {
    if (text.empty()) {
        if (has_data_) {
            std::string data = std::move(data_);
            data_.clear();
            has_data_ = false;
            on_data_(data);
        }
        return;
    }
    if (text.front() == ':') return;  // a comment (keep-alive)
    const std::size_t colon = text.find(':');
    std::string_view field = text.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field != "data") return;  // event, id, retry: not used by chat completions
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
}

}  // namespace winnow::llm
