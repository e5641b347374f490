// winnow::Server: the HTTP API (rerank in the Cohere/Jina and TEI dialects, OpenAI and TEI
// embeddings, search/ask over an index, health, models, Prometheus metrics, the web UI) over
// cpp-httplib, with cross-request batching by a token budget and a bounded queue.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "winnow/embedder.h"
#include "winnow/reranker.h"

namespace winnow {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                       // 0: any free port (see Server::bind)
    std::size_t http_threads = 64;         // connections served at once (each waits on its batch)
    std::size_t batch_token_budget = 2048;  // tokens per model batch, across requests (bench/README.md)
    std::size_t max_batch_items = 256;     // pairs or texts per model batch
    std::size_t max_queue_items = 4096;    // queued pairs/texts per model; beyond: 429
    std::size_t max_documents = 1000;      // per request; beyond: 413
    std::size_t max_body_bytes = 16u << 20;  // beyond: 413
    std::size_t max_text_bytes = 1u << 20;   // one query/document/input; beyond: 413
    std::size_t max_request_tokens = 1u << 20;  // one request, all pairs; beyond: 413
    std::chrono::milliseconds request_timeout{30000};  // per-request deadline; past it: 504
    std::chrono::milliseconds header_timeout{10000};   // request line + headers must arrive within; else 408
    std::chrono::milliseconds body_timeout{60000};     // the body must arrive within (after the headers); else 408
    std::chrono::milliseconds keep_alive_timeout{5000};  // an idle connection is closed after
    std::size_t max_connections_per_client = 32;       // open connections per client address; beyond: 503
    std::vector<std::string> api_keys;     // empty: no auth; else `Authorization: Bearer <key>`
    std::string cors_origin;               // empty: CORS off; else the allowed origin (or "*")
    std::string index_dir;                 // for /v1/search, /v1/ask and the web UI
    std::string pipeline;                  // default pipeline spec for /v1/search and /v1/ask
    std::string labels_path;               // qrels file the web UI's labels append to
    bool pretokenize = true;               // tokenize pairs in the HTTP threads (exact token budget)
    bool cross_request_batching = true;    // false: each model batch holds one request's items only
    bool trim_memory_when_idle = true;     // malloc_trim(0) after 1 s without a request in flight
};

// Reads API keys from a file: one per line; blank lines and lines starting with '#' ignored.
std::vector<std::string> load_api_keys(const std::string& path);

class Server {
public:
    // Either model may be null: its endpoints then answer 404 naming the missing --*-model flag.
    Server(ServerOptions options, std::shared_ptr<Reranker> reranker, std::shared_ptr<Embedder> embedder);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds the listening socket; returns the port (the chosen one when options.port is 0).
    // Throws Error(Io) when the address is taken or invalid.
    int bind();
    // Serves until stop(): then stops accepting, lets in-flight requests finish, drains the batch
    // queues and returns. Calls bind() first if needed.
    void run();
    // Thread-safe; returns at once (run() returns when the drain is done).
    void stop();
    bool running() const;

    // The Prometheus text served at /metrics.
    std::string metrics_text() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace winnow
