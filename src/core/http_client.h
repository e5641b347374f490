// One HTTP exchange over libcurl, for the clients that talk to other services (the Elasticsearch
// first stage and exporter; the remote rerank tier). Blocking, one easy handle per call, bounded by
// a timeout; never throws for a network or HTTP failure (the caller decides what it means).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace winnow::http {

struct Request {
    std::string method = "GET";  // GET, POST, PUT, DELETE, HEAD
    std::string url;
    std::string body;            // sent when not empty (or always for POST/PUT)
    std::vector<std::string> headers = {"Content-Type: application/json", "Accept: application/json"};
    long timeout_ms = 30000;     // the whole exchange, connect included
    long connect_timeout_ms = 5000;
};

struct Reply {
    bool ok = false;          // the exchange completed (any HTTP status); false: `error` says why
    long status = 0;          // HTTP status when ok
    std::string body;
    std::string error;        // curl's message when !ok
    bool timed_out = false;   // !ok because the timeout passed
    long retry_after_s = -1;  // a Retry-After header in seconds; -1 when absent
};

Reply send(const Request& request);

// The message of a JSON error body ({"error": "..."}, {"error": {"message": ...}}, Elasticsearch's
// {"error": {"type": T, "reason": R}} as "T: R"), else the body's first 300 bytes.
std::string error_message(const std::string& body);

}  // namespace winnow::http
