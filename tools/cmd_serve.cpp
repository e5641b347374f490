// `winnow serve`: the HTTP API (see README "HTTP server"). SIGTERM/SIGINT stop it gracefully:
// no new connections, in-flight requests finish, queued batches drain, exit 0.
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <thread>

#include "command.h"
#include "core/log.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/pipeline.h"
#include "winnow/reranker.h"
#include "winnow/server.h"

namespace winnow::cli {
namespace {

int g_signal_pipe[2] = {-1, -1};

void on_stop_signal(int sig) {
    const char c = static_cast<char>(sig);
    const int saved = errno;
    if (::write(g_signal_pipe[1], &c, 1) < 0) {
    }
    errno = saved;
}

struct ServeArgs {
    ServerOptions server;
    std::string rerank_model;
    std::string embed_model;
    std::string api_key_file;
    std::string precision = "auto";
    std::string device = "auto";
    std::size_t threads = 0;
    std::size_t max_length = 0;
    long timeout_ms = 30000;
    long header_timeout_ms = 10000;
    long body_timeout_ms = 60000;
    long keep_alive_ms = 5000;
};

CommandRegistrar registrar("serve", [](CLI::App& app) {
    auto* sub = app.add_subcommand("serve", "Serve the rerank / embed / search HTTP API and the web UI");
    auto a = std::make_shared<ServeArgs>();
    sub->add_option("--host", a->server.host, "Address to listen on")->capture_default_str();
    sub->add_option("--port", a->server.port, "Port (0: any free port, printed at start)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    sub->add_option("--rerank-model", a->rerank_model, "Cross-encoder folder or hub id for /v1/rerank, /rerank");
    sub->add_option("--embed-model", a->embed_model, "Embedding model folder or hub id for /v1/embeddings, /embed");
    sub->add_option("--index", a->server.index_dir, "Index directory for /v1/search, /v1/ask and /ui");
    sub->add_option("--pipeline", a->server.pipeline, "Default pipeline spec for /v1/search and /v1/ask");
    sub->add_option(
        "--labels", a->server.labels_path,
        "Qrels file the web UI's relevance labels (POST /v1/labels) append to (default: <index>/labels.qrels; "
        "needed for labels with an external first stage or without --index)");
    sub->add_option("--api-key-file", a->api_key_file, "File of API keys, one per line (enables auth)");
    sub->add_option("--cors-origin", a->server.cors_origin, "Allowed CORS origin, or * (default: CORS off)");
    sub->add_option("--batch-tokens", a->server.batch_token_budget, "Tokens per model batch across requests")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--max-batch", a->server.max_batch_items, "Pairs/texts per model batch")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--max-queue", a->server.max_queue_items, "Queued pairs/texts per model before 429")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--max-documents", a->server.max_documents, "Documents/inputs per request before 413")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--max-body-bytes", a->server.max_body_bytes, "Request body bytes before 413")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--max-request-tokens", a->server.max_request_tokens, "Tokens per request before 413")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--timeout-ms", a->timeout_ms, "Per-request deadline in ms (504 after)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--http-threads", a->server.http_threads, "Connections served at once")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--max-connections-per-client", a->server.max_connections_per_client,
                    "Open connections per client address before 503 (0: no cap)")
        ->capture_default_str();
    sub->add_option("--header-timeout-ms", a->header_timeout_ms, "Request line and headers must arrive within (408 after)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--body-timeout-ms", a->body_timeout_ms, "Request body must arrive within (408 after)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--keep-alive-ms", a->keep_alive_ms, "Idle connections are closed after")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--threads", a->threads, "Model compute threads (0: all cores)")->capture_default_str();
    sub->add_option("--precision", a->precision, "auto|fp32|bf16|fp16|int8")->capture_default_str();
    sub->add_option("--device", a->device, "Where the models run: auto|cpu|cuda")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    sub->add_option("--max-length", a->max_length, "Tokens per input at most (0: the model's limit)")
        ->capture_default_str();
    sub->add_flag("!--no-cross-batching", a->server.cross_request_batching,
                  "One request per model batch (the baseline the benchmark compares against)");
    sub->add_flag("!--no-memory-trim", a->server.trim_memory_when_idle,
                  "Keep freed memory in malloc's arenas (default: returned to the system after 1 s without a "
                  "request in flight)");
    sub->add_flag("!--no-pretokenize", a->server.pretokenize,
                  "Send text pairs to the model instead of tokenizing in the HTTP threads");
    return [a]() {
        a->server.request_timeout = std::chrono::milliseconds(a->timeout_ms);
        a->server.header_timeout = std::chrono::milliseconds(a->header_timeout_ms);
        a->server.body_timeout = std::chrono::milliseconds(a->body_timeout_ms);
        a->server.keep_alive_timeout = std::chrono::milliseconds(a->keep_alive_ms);
        if (!a->api_key_file.empty()) a->server.api_keys = load_api_keys(a->api_key_file);
        WINNOW_CHECK(!a->rerank_model.empty() || !a->embed_model.empty() || !a->server.index_dir.empty() ||
                         (!a->server.pipeline.empty() && PipelineSpec::parse(a->server.pipeline).external_first_stage()),
                     Errc::InvalidArgument,
                     "nothing to serve: give --rerank-model, --embed-model, --index or a --pipeline starting with "
                     "xapian(...) or elasticsearch(...)");
        ModelOptions model_options;
        model_options.precision = parse_precision(a->precision);
        model_options.device = parse_device(a->device);
        model_options.n_threads = a->threads;
        model_options.max_length = a->max_length;
        model_options.token_budget = a->server.batch_token_budget;
        std::shared_ptr<Reranker> reranker;
        std::shared_ptr<Embedder> embedder;
        if (!a->rerank_model.empty()) reranker = Reranker::load(a->rerank_model, model_options);
        if (!a->embed_model.empty()) embedder = Embedder::load(a->embed_model, model_options);

        Server server(a->server, reranker, embedder);
        const int port = server.bind();

        // SIGTERM/SIGINT may land on any thread (model and pool threads exist already), so the
        // handler only writes to a pipe; a watcher thread reads it and stops the server.
        WINNOW_CHECK(::pipe(g_signal_pipe) == 0, Errc::Io, "serve: cannot create the signal pipe");
        struct sigaction action {};
        action.sa_handler = on_stop_signal;
        sigemptyset(&action.sa_mask);
        sigaction(SIGTERM, &action, nullptr);
        sigaction(SIGINT, &action, nullptr);
        std::thread signal_thread([&] {
            char sig = 0;
            while (::read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
            }
            if (sig != 0) log::info("serve: signal {}: finishing in-flight requests", int(sig));
            server.stop();
        });
        std::printf("winnow serve: listening on http://%s:%d\n", a->server.host.c_str(), port);
        std::fflush(stdout);
        server.run();
        // run() returns after stop(); wake the watcher if it was not a signal that stopped us.
        const char zero = 0;
        if (::write(g_signal_pipe[1], &zero, 1) < 0) log::warn("serve: cannot wake the signal thread");
        signal_thread.join();
        std::fprintf(stderr, "winnow serve: stopped\n");
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
