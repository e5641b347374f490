// One HTTP exchange over libcurl, for every client that talks to another service: the
// Elasticsearch first stage and exporter, the remote rerank tier, the LLM chat client (streamed
// server-sent events) and the Hugging Face hub downloads (streamed to a file, resumed by range).
// Blocking, one easy handle per call. send() never throws for a network or HTTP failure (the
// caller decides what it means); an exception thrown by an on_body callback is rethrown.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::http {

struct Request {
    std::string method = "GET";  // GET, POST, PUT, DELETE, HEAD
    std::string url;
    std::string body;  // sent when not empty (or always for POST/PUT)
    std::vector<std::string> headers = {"Content-Type: application/json", "Accept: application/json"};
    long timeout_ms = 30000;  // the whole exchange, connect included; 0: no limit (see stall_timeout_ms)
    long connect_timeout_ms = 5000;
    long stall_timeout_ms = 0;      // > 0: a timeout when under 1 byte/s arrives for this long
    bool follow_redirects = false;  // up to 10
    std::uint64_t range_from = 0;   // > 0: a Range request for the bytes from this offset on
    std::string user_agent = "winnow";
    // Receives the body of a successful response (status < 300) as it arrives, instead of
    // Reply::body; returns false to stop the transfer (Reply::stopped). Error bodies are always
    // kept whole in Reply::body, for the message.
    std::function<bool(std::string_view)> on_body;
};

struct Reply {
    bool ok = false;  // the exchange completed (any HTTP status) or on_body stopped it;
                      // false: `error` says why
    long status = 0;  // HTTP status when ok
    std::string body;
    std::map<std::string, std::string> headers;  // of the last response (after redirects), names lower-case
    std::string error;                           // curl's message when !ok
    bool timed_out = false;                      // !ok because the timeout (or the stall timeout) passed
    bool stopped = false;                        // on_body returned false
    long retry_after_s = -1;                     // a Retry-After header in seconds; -1 when absent
};

Reply send(const Request& request);

// RFC 3986 percent-encoding of everything but the unreserved characters (A-Z a-z 0-9 - . _ ~),
// for one path segment or query value.
std::string escape(std::string_view text);

// The message of a JSON error body ({"error": "..."}, {"error": {"message": ...}}, Elasticsearch's
// {"error": {"type": T, "reason": R}} as "T: R", {"message": ...}), else the body's first 300 bytes.
std::string error_message(const std::string& body);

}  // namespace winnow::http
