#include "core/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string_view>

#include "core/json.h"

namespace winnow::http {
namespace {

struct CurlDeleter {
    void operator()(CURL* curl) const noexcept { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<Reply*>(user)->body.append(data, size * n);
    return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    const std::string_view line(data, size * n);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size()) {
        std::string lower(line.substr(0, kName.size()));
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        if (lower == kName) {
            const std::string value(line.substr(kName.size()));
            char* end = nullptr;
            const long s = std::strtol(value.c_str(), &end, 10);
            if (end != value.c_str() && s >= 0) static_cast<Reply*>(user)->retry_after_s = s;
        }
    }
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
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, std::max(1L, request.timeout_ms));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, std::min(request.timeout_ms, request.connect_timeout_ms)));
    const CURLcode code = curl_easy_perform(c);
    if (code == CURLE_OK) {
        reply.ok = true;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
    } else {
        reply.error = error[0] ? std::string(error) : std::string(curl_easy_strerror(code));
        reply.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    }
    return reply;
}

std::string error_message(const std::string& body) {
    try {
        const Json j = Json::parse(body);
        if (j.is_object() && j.contains("error")) {
            const Json& e = j["error"];
            if (e.is_string()) return e.get<std::string>();
            if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
            if (e.is_object() && e.contains("reason") && e["reason"].is_string()) {
                // Elasticsearch: {"type": "index_not_found_exception", "reason": "no such index [x]"}
                const std::string reason = e["reason"].get<std::string>();
                return e.contains("type") && e["type"].is_string() ? e["type"].get<std::string>() + ": " + reason : reason;
            }
        }
    } catch (const nlohmann::json::exception&) {
    }
    return body.empty() ? std::string("(empty body)") : body.substr(0, 300);
}

}  // namespace winnow::http
