#include "core/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>

#include "core/json.h"

namespace winnow::http {
namespace {

struct CurlDeleter {
    void operator()(CURL* curl) const noexcept { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

struct Transfer {
    const Request* request = nullptr;
    Reply* reply = nullptr;
    CURL* curl = nullptr;
    std::exception_ptr error;  // thrown by on_body, rethrown after the transfer
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t bytes = size * n;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (!t->request->on_body || status >= 300) {
        t->reply->body.append(data, bytes);
        return bytes;
    }
    try {
        if (t->request->on_body(std::string_view(data, bytes))) return bytes;
        t->reply->stopped = true;
    } catch (...) {
        t->error = std::current_exception();
    }
    return 0;  // aborts the transfer
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* reply = static_cast<Reply*>(user);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
        reply->headers.clear();  // a new response (after a redirect or a 100 Continue)
        return size * n;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
    }
    reply->headers[name] = std::string(value);
    return size * n;
}

}  // namespace

Reply send(const Request& request) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    Reply reply;
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) {
        reply.error = "curl_easy_init failed";
        return reply;
    }
    curl_slist* raw = nullptr;
    for (const auto& h : request.headers) raw = curl_slist_append(raw, h.c_str());
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
    char error[CURL_ERROR_SIZE] = {0};
    CURL* c = curl.get();
    Transfer transfer{&request, &reply, c, nullptr};
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    if (request.method == "POST" || request.method == "PUT" || !request.body.empty()) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
    if (request.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (request.method != "GET" && request.method != "POST" && request.method != "HEAD")
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "GET" && !request.body.empty()) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "GET");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, request.user_agent.c_str());
    if (request.timeout_ms > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, request.timeout_ms);
    const long connect =
        request.timeout_ms > 0 ? std::min(request.timeout_ms, request.connect_timeout_ms) : request.connect_timeout_ms;
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, connect));
    if (request.stall_timeout_ms > 0) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, (request.stall_timeout_ms + 999) / 1000));
    }
    if (request.follow_redirects) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    }
    std::string range;
    if (request.range_from > 0) {
        range = std::to_string(request.range_from) + "-";
        curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    }
    const CURLcode code = curl_easy_perform(c);
    if (transfer.error) std::rethrow_exception(transfer.error);
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && reply.stopped)) {
        reply.ok = true;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
    } else {
        reply.error = error[0] ? std::string(error) : std::string(curl_easy_strerror(code));
        reply.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    }
    if (const auto it = reply.headers.find("retry-after"); it != reply.headers.end()) {
        char* end = nullptr;
        const long s = std::strtol(it->second.c_str(), &end, 10);
        if (end != it->second.c_str() && s >= 0) reply.retry_after_s = s;
    }
    return reply;
}

std::string escape(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (alnum || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

std::string error_message(const std::string& body) {
    try {
        const Json j = Json::parse(body);
        if (j.is_object() && j.contains("error")) {
            const Json& e = j["error"];
            if (e.is_string()) return e.get<std::string>();
            if (e.is_object() && e.contains("message") && e["message"].is_string())
                return e["message"].get<std::string>();
            if (e.is_object() && e.contains("reason") && e["reason"].is_string()) {
                // Elasticsearch: {"type": "index_not_found_exception", "reason": "no such index [x]"}
                const std::string reason = e["reason"].get<std::string>();
                return e.contains("type") && e["type"].is_string() ? e["type"].get<std::string>() + ": " + reason
                                                                   : reason;
            }
        }
        if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
    } catch (const nlohmann::json::exception&) {
    }
    return body.empty() ? std::string("(empty body)") : body.substr(0, 300);
}

}  // namespace winnow::http
