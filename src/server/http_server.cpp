// winnow::Server over cpp-httplib: construction, the routing table, errors, auth, CORS, limits,
// metrics plumbing, and Server's methods. The routes live in model_routes.cpp,
// search_routes.cpp and admin_routes.cpp; the socket layer in socket_layer.cpp (server_impl.h).
#include "server/server_impl.h"

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "tensor/kernel_stats.h"

namespace winnow {

namespace server {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void write_json(httplib::Response& res, const Json& body, int status) {
    res.status = status;
    res.set_content(dump(body), "application/json");
}

void write_error(httplib::Response& res, int status, std::string_view type, std::string_view message) {
    write_json(res, Json{{"error", {{"type", type}, {"message", message}}}}, status);
}

}  // namespace server

namespace {

// The tokenizer of a model, when it can be used in the HTTP threads; nullptr otherwise.
const Tokenizer* usable_tokenizer(const auto& model, bool want, bool pair) {
    if (!want || !model) return nullptr;
    try {
        const Tokenizer& tok = model->tokenizer();
        // Pre-tokenized pairs only for encoders whose post-processor builds the pair ([CLS] a [SEP] b
        // [SEP]); LLM rerankers format their own prompt, so they get text.
        if (pair && tok.num_special_tokens(true) == 0) return nullptr;
        return &tok;
    } catch (const Error&) {
        return nullptr;
    }
}

// Per connection thread: when the current request started and whether it is counted already.
// Metrics are recorded before the response is written, so a client that reads /metrics right
// after an answer sees it counted.
thread_local Clock::time_point t_request_start{};
thread_local bool t_recorded = false;

}  // namespace

Server::Impl::Impl(ServerOptions opts, std::shared_ptr<Reranker> r, std::shared_ptr<Embedder> e)
    : options(std::move(opts)), reranker(std::move(r)), embedder(std::move(e)), keys(options.api_keys) {
    // Traffic brings every batch size: each layer makes all its row-block primitives on its first call,
    // so none is made (JIT-compiled) while requests wait after that (tensor/kernel_stats.h).
    set_eager_kernel_warmup(true);
    limits.max_documents = options.max_documents;
    limits.max_text_bytes = options.max_text_bytes;
    limits.max_request_tokens = options.max_request_tokens;
    srv::SchedulerOptions so;
    so.token_budget = options.batch_token_budget;
    so.max_batch_units = options.max_batch_items;
    so.max_queue_units = options.max_queue_items;
    so.merge_requests = options.cross_request_batching;
    if (reranker) {
        rerank_queue = std::make_unique<RerankScheduler>(
            so, [this](std::uint64_t, const std::vector<const RerankUnit*>& units) { return run_rerank(units); },
            [this](const srv::BatchStats& s) {
                metrics.observe_batch("rerank", s.units, s.tokens, s.requests, s.seconds);
            });
        metrics.add_gauge("winnow_queue_depth", "Items waiting for a model batch.", "model=\"rerank\"",
                          [this] { return double(rerank_queue->queued_units()); });
    }
    if (embedder) {
        embed_queue = std::make_unique<EmbedScheduler>(
            so,
            [this](std::uint64_t key, const std::vector<const EmbedUnit*>& units) { return run_embed(key, units); },
            [this](const srv::BatchStats& s) {
                metrics.observe_batch("embed", s.units, s.tokens, s.requests, s.seconds);
            });
        metrics.add_gauge("winnow_queue_depth", "Items waiting for a model batch.", "model=\"embed\"",
                          [this] { return double(embed_queue->queued_units()); });
    }
    metrics.add_counter("winnow_kernel_primitives_created_total",
                        "GEMM primitives made (JIT-compiled) by the kernels in this process.", "",
                        [] { return double(kernel_stats().primitives_created); });
    metrics.add_counter("winnow_kernel_primitive_seconds_total", "Time spent making GEMM primitives.", "",
                        [] { return kernel_stats().creation_seconds; });
    metrics.add_gauge("winnow_requests_in_flight", "Requests being handled (GET /metrics not counted).", "",
                      [this] { return double(in_flight.load()); });
    if (options.trim_memory_when_idle) {
        trimmer = std::make_unique<srv::MemoryTrimmer>(std::chrono::seconds(1),  // quiet for 1 s
                                                       [this] { return in_flight.load() == 0; });
        metrics.add_counter("winnow_memory_trims_total",
                            "Times freed memory was returned to the system after 1 s without a request in flight.", "",
                            [this] { return double(trimmer->trims()); });
    }
    // An external first stage (xapian, elasticsearch) serves /v1/search without --index.
    const bool external = !options.pipeline.empty() && PipelineSpec::parse(options.pipeline).external_first_stage();
    if (!options.index_dir.empty() || external) {
        std::string spec = options.pipeline;
        if (spec.empty()) spec = reranker ? "bm25(k=100) > rerank > cutoff(top_n=10)" : "bm25(k=10)";
        pipeline = std::make_unique<Pipeline>(Pipeline::open(options.index_dir, PipelineSpec::parse(spec)));
        // Rerank stages score with the server's model instead of loading their own copy; each
        // request's rerank stage queues its pairs on rerank_queue (scheduled_scorer).
        if (reranker) pipeline->set_scorer(make_cross_encoder_scorer(reranker));
        own_rerank = pipeline->config().rerank;
    }
    // Labels go to --labels, else to the index's folder; an external first stage, or a server
    // that only reranks, keeps them only when given --labels.
    if (!options.index_dir.empty() || !options.labels_path.empty()) {
        labels = std::make_unique<srv::QrelsWriter>(options.labels_path.empty() ? options.index_dir + "/labels.qrels"
                                                                                : options.labels_path);
    }
    metrics.add_gauge("winnow_http_connections", "Open client connections.", "",
                      [this] { return double(http.open_connections()); });
    rerank_tokenizer = usable_tokenizer(reranker, options.pretokenize, true);
    rerank_pretokenized.store(rerank_tokenizer != nullptr);
    embed_tokenizer = usable_tokenizer(embedder, options.pretokenize, false);
    if (pipeline) check_rerank_settings(own_rerank);  // e.g. --pipeline naming another model than --rerank-model
    setup_routes();
}

Server::Impl::~Impl() {
    if (rerank_queue) rerank_queue->stop();
    if (embed_queue) embed_queue->stop();
}

double Server::Impl::retry_after_seconds() const {
    double worst = 1.0;
    auto estimate = [&](std::size_t queued, double rate) {
        if (rate > 0) worst = std::max(worst, std::ceil(double(queued) / rate));
    };
    if (rerank_queue) estimate(rerank_queue->queued_units(), rerank_queue->throughput());
    if (embed_queue) estimate(embed_queue->queued_units(), embed_queue->throughput());
    return std::min(worst, 60.0);
}

void Server::Impl::record(const httplib::Request& req, int status) {
    if (t_recorded) return;
    t_recorded = true;
    const double seconds = t_request_start == Clock::time_point{}
                               ? 0.0
                               : std::chrono::duration<double>(Clock::now() - t_request_start).count();
    metrics.observe_request(route_label(req.path), status, seconds);
}

httplib::Server::Handler Server::Impl::wrap(Handler fn) {
    return [this, fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
        const bool counted = req.path != "/metrics";
        if (counted) ++in_flight;
        struct Leave {  // leaves before the request is recorded as done: never counted twice
            std::atomic<int>* n;
            srv::MemoryTrimmer* trimmer;
            void now() {
                if (n && --*n == 0 && trimmer) trimmer->on_idle();
                n = nullptr;
            }
            ~Leave() { now(); }
        } leave{counted ? &in_flight : nullptr, trimmer.get()};
        try {
            fn(req, res);
        } catch (const srv::BadJson& e) {
            metrics.add_rejected("invalid_json");
            write_error(res, 400, "invalid_json", e.what());
        } catch (const Error& e) {
            const int status = http_status(e.code());
            if (e.code() == Errc::Overloaded) {
                res.set_header("Retry-After", fmt::format("{}", static_cast<int>(retry_after_seconds())));
            }
            if (e.code() == Errc::Overloaded || e.code() == Errc::TooLarge || e.code() == Errc::Timeout) {
                metrics.add_rejected(errc_name(e.code()));
            }
            write_error(res, status, errc_name(e.code()), e.what());
        } catch (const std::exception& e) {
            log::error("server: {} {}: {}", req.method, req.path, e.what());
            write_error(res, 500, "internal", e.what());
        }
        leave.now();
        record(req, res.status == -1 ? 200 : res.status);
    };
}

bool Server::Impl::is_public_path(const std::string& path) {
    return path == "/health" || path == "/ui" || path == "/ui/" || path == "/";
}

std::string Server::Impl::route_label(const std::string& path) {
    static const char* const kRoutes[] = {"/v1/rerank", "/v2/rerank", "/rerank", "/embed", "/v1/embeddings",
                                          "/v1/search", "/v1/ask", "/health", "/v1/models", "/metrics",
                                          "/ui", "/v1/labels", "/"};
    for (const char* r : kRoutes) {
        if (path == r) return path;
    }
    return "other";
}

void Server::Impl::setup_routes() {
    http.new_task_queue = [n = std::max<std::size_t>(options.http_threads, 2)] { return new httplib::ThreadPool(n); };
    http.set_payload_max_length(options.max_body_bytes);
    http.set_connection_limits(srv::connection_limits(options));
    http.set_keep_alive_max_count(1000);
    http.set_read_timeout(std::chrono::seconds(30));
    http.set_write_timeout(std::chrono::seconds(30));

    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        t_request_start = Clock::now();
        t_recorded = false;
        if (!options.cors_origin.empty()) {
            res.set_header("Access-Control-Allow-Origin", options.cors_origin);
            res.set_header("Vary", "Origin");
            if (req.method == "OPTIONS") {
                res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
                res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
                res.set_header("Access-Control-Max-Age", "600");
                res.status = 204;
                record(req, 204);
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        if (keys.enabled() && !is_public_path(req.path) && !keys.accepts(req.get_header_value("Authorization"))) {
            metrics.add_rejected("unauthorized");
            res.set_header("WWW-Authenticate", "Bearer");
            write_error(res, 401, "unauthorized",
                        req.has_header("Authorization") ? "invalid API key"
                                                        : "missing 'Authorization: Bearer <key>' header");
            record(req, 401);
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    // Errors that httplib produces itself (no route, body too large, bad request line) get the same
    // JSON error body as ours.
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                       httplib::Response& res) {
        record(req, res.status);  // errors httplib produced itself (no route, body too large)
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (res.status) {
        case 404: write_error(res, 404, "not_found", fmt::format("no route {} {}", req.method, req.path)); break;
        case 413: write_error(res, 413, "too_large", "request body over the server's limit"); break;
        case 400: write_error(res, 400, "invalid_request", "malformed HTTP request"); break;
        default: write_error(res, res.status, "error", fmt::format("HTTP status {}", res.status)); break;
        }
        return httplib::Server::HandlerResponse::Handled;
    }));

    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        record(req, res.status);
        const double seconds = t_request_start == Clock::time_point{}
                                   ? 0.0
                                   : std::chrono::duration<double>(Clock::now() - t_request_start).count();
        t_request_start = {};
        t_recorded = false;
        log::debug("server: {} {} -> {} ({:.1f} ms)", req.method, req.path, res.status, seconds * 1000);
    });

    using R = srv::RerankDialect;
    http.Post("/v1/rerank", wrap([this](auto& req, auto& res) { handle_rerank(req, res, R::CohereV1, "/v1/rerank"); }));
    http.Post("/v2/rerank", wrap([this](auto& req, auto& res) { handle_rerank(req, res, R::CohereV2, "/v2/rerank"); }));
    http.Post("/rerank", wrap([this](auto& req, auto& res) { handle_rerank(req, res, R::Tei, "/rerank"); }));
    http.Post("/embed", wrap([this](auto& req, auto& res) { handle_tei_embed(req, res); }));
    http.Post("/v1/embeddings", wrap([this](auto& req, auto& res) { handle_openai_embeddings(req, res); }));
    http.Post("/v1/search", wrap([this](auto& req, auto& res) { handle_search(req, res); }));
    http.Post("/v1/ask", wrap([this](auto& req, auto& res) { handle_ask(req, res); }));
    http.Post("/v1/labels", wrap([this](auto& req, auto& res) { handle_label(req, res); }));
    http.Get("/v1/labels", wrap([this](auto& req, auto& res) { handle_get_labels(req, res); }));
    http.Get("/v1/info", wrap([this](auto&, auto& res) { handle_info(res); }));
    http.Get("/health", wrap([this](auto&, auto& res) { handle_health(res); }));
    http.Get("/v1/models", wrap([this](auto&, auto& res) { handle_models(res); }));
    http.Get("/metrics", wrap([this](auto&, auto& res) { handle_metrics(res); }));
    http.Get("/ui", wrap([this](auto&, auto& res) { handle_ui(res); }));
    http.Get("/", wrap([](auto&, auto& res) { res.set_redirect("/ui"); }));
}

Server::Server(ServerOptions options, std::shared_ptr<Reranker> reranker, std::shared_ptr<Embedder> embedder)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(reranker), std::move(embedder))) {}

Server::~Server() {
    stop();
}

int Server::bind() {
    if (impl_->bound_port >= 0) return impl_->bound_port;
    const auto& o = impl_->options;
    WINNOW_CHECK(o.port >= 0 && o.port <= 65535, Errc::InvalidArgument, "--port {}: out of range", o.port);
    if (o.port == 0) {
        impl_->bound_port = impl_->http.bind_to_any_port(o.host);
    } else {
        impl_->bound_port = impl_->http.bind_to_port(o.host, o.port) ? o.port : -1;
    }
    WINNOW_CHECK(impl_->bound_port > 0, Errc::Io, "cannot listen on {}:{} (address in use or invalid)", o.host,
                 o.port);
    srv::raise_listen_backlog(impl_->bound_port);
    return impl_->bound_port;
}

void Server::run() {
    std::lock_guard lock(impl_->run_mutex);
    bind();
    // stop() may come before listen_after_bind() has started (when httplib's stop() is a no-op):
    // a watcher repeats it once the server runs.
    std::atomic<bool> listening_done{false};
    std::thread watcher([&] {
        while (!listening_done.load()) {
            if (impl_->stop_requested.load() && impl_->http.is_running()) {
                impl_->http.stop();
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
    log::info("server: listening on http://{}:{}", impl_->options.host, impl_->bound_port);
    impl_->http.listen_after_bind();  // returns after stop(), once in-flight requests are done
    listening_done.store(true);
    watcher.join();
    if (impl_->rerank_queue) impl_->rerank_queue->stop();
    if (impl_->embed_queue) impl_->embed_queue->stop();
}

void Server::stop() {
    impl_->stop_requested.store(true);
    impl_->http.stop();
}

bool Server::running() const { return impl_->http.is_running(); }

std::string Server::metrics_text() const { return impl_->metrics.render(); }

}  // namespace winnow
