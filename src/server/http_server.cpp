// winnow::Server over cpp-httplib: routes, errors, auth, CORS, limits, deadlines, cancellation,
// metrics, and the two batch schedulers (rerank pairs, embedding texts).
#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <random>

#include "core/json.h"
#include "core/log.h"
#include "server/auth.h"
#include "server/batch_scheduler.h"
#include "server/guarded_server.h"
#include "server/metrics.h"
#include "server/requests.h"
#include "llm/chat_client.h"
#include "server/qrels_writer.h"
#include "server/ui_page.h"
#include "winnow/pipeline.h"
#include "winnow/server.h"

namespace winnow {

namespace srv = winnow::server;
using srv::Clock;

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(20);

// --- client-disconnect detection ---------------------------------------------------------------
// cpp-httplib 0.11 does not expose a request's socket. A connection is served start to end on one
// pool thread, so we find the socket once per connection (matching the peer and local ports) and
// cache it per thread; poll() then tells whether the peer hung up while its request is queued.
struct SocketCache {
    int fd = -1;
    int remote_port = -1;
    int local_port = -1;
};
thread_local SocketCache t_socket;

int port_of(const sockaddr_storage& addr) {
    if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
    if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
    return -1;
}

bool socket_matches(int fd, int remote_port, int local_port) {
    sockaddr_storage peer{}, local{};
    socklen_t len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
    len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return false;
    return port_of(peer) == remote_port && port_of(local) == local_port;
}

int find_request_socket(const httplib::Request& req) {
    if (t_socket.fd >= 0 && t_socket.remote_port == req.remote_port && t_socket.local_port == req.local_port &&
        socket_matches(t_socket.fd, req.remote_port, req.local_port)) {
        return t_socket.fd;
    }
    t_socket = {};
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int found = -1;
    while (dirent* entry = readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
        if (socket_matches(static_cast<int>(fd), req.remote_port, req.local_port)) {
            found = static_cast<int>(fd);
            break;
        }
    }
    closedir(dir);
    if (found >= 0) t_socket = {found, req.remote_port, req.local_port};
    return found;
}

// cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it and
// clients see resets or 1 s SYN retries. Linux lets listen() be called again to raise the backlog;
// find our listening socket by its port.
void raise_listen_backlog(int port) {
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return;
    while (dirent* entry = readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
        int listening = 0;
        socklen_t len = sizeof(listening);
        if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
        sockaddr_storage local{};
        socklen_t alen = sizeof(local);
        if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &alen) == 0 &&
            port_of(local) == port) {
            ::listen(static_cast<int>(fd), SOMAXCONN);
        }
    }
    closedir(dir);
}

bool peer_hung_up(int fd) {
    if (fd < 0) return false;
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLHUP | POLLERR | POLLRDHUP)) != 0;
}

// --- small helpers ------------------------------------------------------------------------------
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void write_json(httplib::Response& res, const Json& body, int status = 200) {
    res.status = status;
    res.set_content(dump(body), "application/json");
}

void write_error(httplib::Response& res, int status, std::string_view type, std::string_view message) {
    write_json(res, Json{{"error", {{"type", type}, {"message", message}}}}, status);
}

std::string random_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{:016x}{:016x}", rng(), rng());
}

// Token estimate for raw pairs when the model's tokenizer is not used in the HTTP threads.
std::uint32_t estimate_tokens(std::size_t bytes) { return static_cast<std::uint32_t>(bytes / 4 + 3); }

// Cuts `text` to about `max_tokens` tokens at a UTF-8 boundary (raw mode's max_tokens_per_doc).
std::string cut_utf8(const std::string& text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    std::size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return text.substr(0, end);
}

// Byte length of the first `n_code_points` code points of UTF-8 `text` (tokenizer offsets count
// code points).
std::size_t utf8_prefix_bytes(const std::string& text, std::size_t n_code_points) {
    std::size_t i = 0;
    for (std::size_t cp = 0; i < text.size() && cp < n_code_points; ++cp) {
        ++i;
        while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    }
    return i;
}

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

void l2_normalize(std::vector<float>& v) {
    double sum = 0.0;
    for (float x : v) sum += double(x) * x;
    if (sum <= 0.0) return;
    const float inv = static_cast<float>(1.0 / std::sqrt(sum));
    for (float& x : v) x *= inv;
}

struct RerankUnit {
    std::shared_ptr<const std::string> query;
    std::string doc;
    TokenizedPair tokens;  // empty in raw mode
    std::uint32_t n_tokens = 0;
    bool truncated = false;
};

struct EmbedUnit {
    std::string text;
};

// Per connection thread: when the current request started and whether it is counted already.
// Metrics are recorded before the response is written, so a client that reads /metrics right
// after an answer sees it counted.
thread_local Clock::time_point t_request_start{};
thread_local bool t_recorded = false;

using RerankScheduler = srv::BatchScheduler<RerankUnit, PairScore>;
using EmbedScheduler = srv::BatchScheduler<EmbedUnit, std::vector<float>>;

}  // namespace

struct Server::Impl {
    ServerOptions options;
    std::shared_ptr<Reranker> reranker;
    std::shared_ptr<Embedder> embedder;
    srv::RequestLimits limits;
    srv::ApiKeys keys;
    srv::Metrics metrics;
    srv::GuardedServer http;  // httplib's server plus connection limits and request guards
    std::unique_ptr<RerankScheduler> rerank_queue;
    std::unique_ptr<EmbedScheduler> embed_queue;
    std::atomic<bool> rerank_pretokenized{false};
    const Tokenizer* rerank_tokenizer = nullptr;  // set when pairs are tokenized in the HTTP threads
    const Tokenizer* embed_tokenizer = nullptr;   // set when inputs are counted with the model's tokenizer
    std::unique_ptr<Pipeline> pipeline;      // over --index; null without one
    std::unique_ptr<srv::QrelsWriter> labels;  // the web UI's judgments
    int bound_port = -1;
    std::atomic<bool> stop_requested{false};
    std::mutex run_mutex;

    Impl(ServerOptions opts, std::shared_ptr<Reranker> r, std::shared_ptr<Embedder> e)
        : options(std::move(opts)), reranker(std::move(r)), embedder(std::move(e)), keys(options.api_keys) {
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
        if (!options.index_dir.empty()) {
            std::string spec = options.pipeline;
            if (spec.empty()) spec = reranker ? "bm25(k=100) > rerank > cutoff(top_n=10)" : "bm25(k=10)";
            pipeline = std::make_unique<Pipeline>(Pipeline::open_index(options.index_dir, PipelineSpec::parse(spec)));
            // Rerank stages score with the server's model instead of loading their own copy; each
            // request's rerank stage queues its pairs on rerank_queue (scheduled_scorer).
            if (reranker) pipeline->set_scorer(make_cross_encoder_scorer(reranker));
            labels = std::make_unique<srv::QrelsWriter>(
                options.labels_path.empty() ? options.index_dir + "/labels.qrels" : options.labels_path);
        }
        metrics.add_gauge("winnow_http_connections", "Open client connections.", "",
                          [this] { return double(http.open_connections()); });
        rerank_tokenizer = usable_tokenizer(reranker, options.pretokenize, true);
        rerank_pretokenized.store(rerank_tokenizer != nullptr);
        embed_tokenizer = usable_tokenizer(embedder, options.pretokenize, false);
        setup_routes();
    }

    ~Impl() {
        if (rerank_queue) rerank_queue->stop();
        if (embed_queue) embed_queue->stop();
    }

    // --- model batches (worker threads) ---------------------------------------------------------
    std::vector<PairScore> run_rerank(const std::vector<const RerankUnit*>& units) {
        if (rerank_pretokenized.load()) {
            std::vector<TokenizedPair> pairs;
            pairs.reserve(units.size());
            for (const auto* u : units) pairs.push_back(u->tokens);
            try {
                auto scores = reranker->score_tokenized(pairs);
                for (std::size_t i = 0; i < scores.size() && i < units.size(); ++i) {
                    scores[i].n_tokens = units[i]->n_tokens;
                    scores[i].truncated = units[i]->truncated;
                }
                return scores;
            } catch (const Error& e) {
                if (e.code() != Errc::Unsupported) throw;
                log::warn("server: model {} does not take token ids ({}); scoring text pairs", reranker->name(),
                          e.what());
                rerank_pretokenized.store(false);
            }
        }
        std::vector<std::pair<std::string, std::string>> pairs;
        pairs.reserve(units.size());
        for (const auto* u : units) pairs.emplace_back(*u->query, u->doc);
        return reranker->score_pairs(pairs);
    }

    std::vector<std::vector<float>> run_embed(std::uint64_t key, const std::vector<const EmbedUnit*>& units) {
        std::vector<std::string> texts;
        texts.reserve(units.size());
        for (const auto* u : units) texts.push_back(u->text);
        const EmbedKind kind = (key & 1) ? EmbedKind::Query : EmbedKind::Document;
        const std::size_t dims = static_cast<std::size_t>(key >> 1);
        return embedder->embed(texts, kind, dims);
    }

    // --- waiting on a ticket, with the deadline and client-disconnect checks --------------------
    template <typename Scheduler>
    auto await(Scheduler& scheduler, const typename Scheduler::TicketPtr& ticket, const httplib::Request& req,
               std::string_view route) {
        int fd = -2;  // looked up lazily: most requests finish before the first poll interval
        while (!ticket->wait_for(kPollInterval)) {
            if (Clock::now() >= ticket->deadline()) {
                scheduler.cancel(ticket, Errc::Timeout,
                                 fmt::format("request took longer than {} ms", options.request_timeout.count()));
                break;
            }
            if (fd == -2) fd = find_request_socket(req);
            if (peer_hung_up(fd)) {
                metrics.add_cancelled(route);
                scheduler.cancel(ticket, Errc::Cancelled, "client disconnected");
                break;
            }
        }
        return ticket->take();
    }

    Clock::time_point deadline() const { return Clock::now() + options.request_timeout; }

    // --- rerank ---------------------------------------------------------------------------------
    // Scores (query, document) pairs on the shared rerank scheduler, batched with every other
    // request's pairs (/v1/rerank, /v2/rerank, /rerank, and the rerank stage of /v1/search and
    // /v1/ask); waits for them under the request's deadline, dropping them if the client leaves.
    // `max_tokens_per_doc` cuts each document first (0: only the model's limit); with `truncate`
    // false an input over the model's limit is an error (413).
    std::vector<PairScore> score_on_queue(std::string_view query_text, const std::vector<std::string>& documents,
                                          std::size_t max_tokens_per_doc, bool truncate, const httplib::Request& req,
                                          std::string_view route) {
        WINNOW_CHECK(reranker, Errc::NotFound, "no rerank model loaded (start the server with --rerank-model)");
        auto query = std::make_shared<const std::string>(query_text);
        const std::size_t max_length = reranker->max_length();
        std::vector<RerankUnit> units;
        std::vector<std::uint32_t> costs;
        units.reserve(documents.size());
        costs.reserve(documents.size());
        std::size_t total = 0;
        const Tokenizer* tok = rerank_pretokenized.load() ? rerank_tokenizer : nullptr;
        TruncationOptions truncation;
        truncation.max_length = max_length;
        truncation.strategy = TruncationStrategy::LongestFirst;
        for (std::size_t i = 0; i < documents.size(); ++i) {
            RerankUnit u;
            u.query = query;
            if (tok) {
                u.doc = documents[i];
                if (max_tokens_per_doc > 0) {
                    const Encoding alone = tok->encode(u.doc, false);
                    if (alone.size() > max_tokens_per_doc) {
                        u.doc.resize(utf8_prefix_bytes(u.doc, alone.offsets[max_tokens_per_doc - 1].second));
                        u.truncated = true;
                    }
                }
                Encoding e = max_length > 0 ? tok->encode_pair(*query, u.doc, truncation) : tok->encode_pair(*query, u.doc);
                WINNOW_CHECK(truncate || !e.truncated, Errc::TooLarge,
                             "field 'texts[{}]': the input is longer than the model's {} tokens and 'truncate' is "
                             "false", i, max_length);
                u.truncated = u.truncated || e.truncated;
                u.n_tokens = static_cast<std::uint32_t>(e.ids.size());
                u.tokens.input_ids = std::move(e.ids);
                u.tokens.token_type_ids = std::move(e.type_ids);
            } else {
                u.doc = max_tokens_per_doc > 0 ? cut_utf8(documents[i], max_tokens_per_doc * 4) : documents[i];
                u.truncated = u.doc.size() < documents[i].size();
                u.n_tokens = estimate_tokens(query->size() + u.doc.size());
                if (max_length > 0 && u.n_tokens > max_length) u.n_tokens = static_cast<std::uint32_t>(max_length);
            }
            total += u.n_tokens;
            costs.push_back(u.n_tokens);
            units.push_back(std::move(u));
        }
        WINNOW_CHECK(total <= limits.max_request_tokens, Errc::TooLarge,
                     "request has about {} tokens, the limit is {}", total, limits.max_request_tokens);
        auto ticket = rerank_queue->submit(std::move(units), std::move(costs), 0, deadline());
        auto scores = await(*rerank_queue, ticket, req, route);
        std::uint64_t tokens = 0, truncated = 0;
        for (std::size_t i = 0; i < scores.size(); ++i) {
            tokens += scores[i].n_tokens;
            truncated += scores[i].truncated ? 1 : 0;
            WINNOW_CHECK(truncate || !scores[i].truncated, Errc::TooLarge,
                         "field 'texts[{}]': the input is longer than the model's {} tokens and 'truncate' is false",
                         i, max_length);
        }
        metrics.add_tokens("rerank", tokens);
        metrics.add_truncations("rerank", truncated);
        return scores;
    }

    std::vector<PairScore> rerank(const srv::RerankRequest& r, const httplib::Request& req, std::string_view route) {
        return score_on_queue(r.query, r.documents, r.max_tokens_per_doc, r.truncate, req, route);
    }

    static std::vector<std::size_t> order_by_score(const std::vector<PairScore>& scores, bool raw) {
        std::vector<std::size_t> order(scores.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            const float sa = raw ? scores[a].raw_score : scores[a].score;
            const float sb = raw ? scores[b].raw_score : scores[b].score;
            return sa > sb;
        });
        return order;
    }

    void handle_rerank(const httplib::Request& req, httplib::Response& res, srv::RerankDialect dialect,
                       std::string_view route) {
        const Json body = srv::parse_request_body(req.body);
        const auto r = srv::parse_rerank_request(body, dialect, limits);
        const auto scores = rerank(r, req, route);
        if (dialect == srv::RerankDialect::Tei) {
            const auto order = order_by_score(scores, r.raw_scores);
            Json out = Json::array();
            for (std::size_t i : order) {
                Json item{{"index", i}, {"score", r.raw_scores ? scores[i].raw_score : scores[i].score}};
                if (r.return_documents) item["text"] = r.documents[i];
                out.push_back(std::move(item));
            }
            write_json(res, out);
            return;
        }
        auto order = order_by_score(scores, false);
        if (r.top_n > 0 && r.top_n < order.size()) order.resize(r.top_n);
        Json results = Json::array();
        std::uint64_t tokens = 0;
        for (const auto& s : scores) tokens += s.n_tokens;
        for (std::size_t i : order) {
            Json item{{"index", i}, {"relevance_score", scores[i].score}};
            if (r.return_documents) item["document"] = Json{{"text", r.documents[i]}};
            results.push_back(std::move(item));
        }
        Json out{{"id", random_id()},
                 {"model", reranker->name()},
                 {"results", std::move(results)},
                 {"usage", {{"total_tokens", tokens}}}};
        if (dialect == srv::RerankDialect::CohereV2 || dialect == srv::RerankDialect::CohereV1) {
            out["meta"] = Json{{"billed_units", {{"search_units", 1}}}, {"tokens", {{"input_tokens", tokens}}}};
        }
        write_json(res, out);
    }

    // --- embeddings -----------------------------------------------------------------------------
    std::vector<std::vector<float>> embed(const srv::EmbedRequest& r, const httplib::Request& req,
                                          std::string_view route, std::uint64_t& tokens) {
        WINNOW_CHECK(embedder, Errc::NotFound, "no embedding model loaded (start the server with --embed-model)");
        WINNOW_CHECK(r.dimensions <= embedder->dimension(), Errc::InvalidArgument,
                     "field 'dimensions': {} is more than the model's {}", r.dimensions, embedder->dimension());
        const std::size_t max_length = embedder->max_length();
        std::vector<EmbedUnit> units;
        std::vector<std::uint32_t> costs;
        units.reserve(r.inputs.size());
        tokens = 0;
        for (std::size_t i = 0; i < r.inputs.size(); ++i) {
            std::uint32_t cost = 0;
            if (embed_tokenizer) {
                const Encoding e = embed_tokenizer->encode(r.inputs[i], true);
                cost = static_cast<std::uint32_t>(e.size());
                WINNOW_CHECK(r.truncate || r.dialect == srv::EmbedDialect::OpenAI || (!e.truncated && (max_length == 0 || cost <= max_length)),
                             Errc::TooLarge, "field 'inputs[{}]': {} tokens, over the model's {}, and 'truncate' is false",
                             i, cost, max_length);
            } else {
                cost = estimate_tokens(r.inputs[i].size());
            }
            if (max_length > 0 && cost > max_length) {
                WINNOW_CHECK(r.truncate || r.dialect == srv::EmbedDialect::OpenAI, Errc::TooLarge,
                             "field 'inputs[{}]': about {} tokens, over the model's {}, and 'truncate' is false", i,
                             cost, max_length);
                cost = static_cast<std::uint32_t>(max_length);
            }
            tokens += cost;
            costs.push_back(cost);
            units.push_back({r.inputs[i]});
        }
        WINNOW_CHECK(tokens <= limits.max_request_tokens, Errc::TooLarge,
                     "request has about {} tokens, the limit is {}", tokens, limits.max_request_tokens);
        const std::uint64_t key = (std::uint64_t(r.dimensions) << 1) | (r.kind == EmbedKind::Query ? 1u : 0u);
        auto ticket = embed_queue->submit(std::move(units), std::move(costs), key, deadline());
        auto vectors = await(*embed_queue, ticket, req, route);
        metrics.add_tokens("embed", tokens);
        return vectors;
    }

    void handle_openai_embeddings(const httplib::Request& req, httplib::Response& res) {
        const Json body = srv::parse_request_body(req.body);
        const auto r = srv::parse_embed_request(body, srv::EmbedDialect::OpenAI, limits);
        std::uint64_t tokens = 0;
        const auto vectors = embed(r, req, "/v1/embeddings", tokens);
        Json data = Json::array();
        for (std::size_t i = 0; i < vectors.size(); ++i) {
            Json item{{"object", "embedding"}, {"index", i}};
            if (r.base64) {
                item["embedding"] = srv::base64_floats(vectors[i]);
            } else {
                item["embedding"] = vectors[i];
            }
            data.push_back(std::move(item));
        }
        write_json(res, Json{{"object", "list"},
                             {"data", std::move(data)},
                             {"model", embedder->name()},
                             {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
    }

    void handle_tei_embed(const httplib::Request& req, httplib::Response& res) {
        const Json body = srv::parse_request_body(req.body);
        const auto r = srv::parse_embed_request(body, srv::EmbedDialect::Tei, limits);
        std::uint64_t tokens = 0;
        auto vectors = embed(r, req, "/embed", tokens);
        if (r.normalize) {
            for (auto& v : vectors) l2_normalize(v);
        }
        write_json(res, Json(vectors));
    }

    // --- search, ask, labels over --index --------------------------------------------------------
    // The pipeline's rerank stage for one request: the pipeline builds the pairs (maxp windows
    // included) and pools the scores; the pairs themselves go through the shared rerank scheduler
    // with this request's deadline, disconnect check and metrics, like a /v1/rerank request.
    std::shared_ptr<const CandidateScorer> scheduled_scorer(const httplib::Request& req, std::string_view route) {
        if (!reranker) return nullptr;
        return make_cross_encoder_scorer(
            reranker, [this, &req, route](std::string_view query, const std::vector<std::string>& texts) {
                return score_on_queue(query, texts, 0, true, req, route);
            });
    }

    PipelineResult run_search(const srv::SearchRequest& r, const httplib::Request& req, std::string_view route) {
        WINNOW_CHECK(pipeline, Errc::NotFound, "no index loaded (start the server with --index)");
        // Documents another process committed since (a running `winnow index`) become searchable now;
        // when nothing changed this costs one read of the store's generation.
        pipeline->refresh();
        std::map<std::string, std::string> overrides;
        if (!r.pipeline.empty()) {
            // A per-request spec applies as overrides of the server's spec: every stage.key=value
            // in it replaces or adds that setting.
            PipelineSpec spec;
            try {
                spec = PipelineSpec::parse(r.pipeline);
            } catch (const Error& e) {
                WINNOW_THROW(Errc::InvalidArgument, "field 'pipeline': {}", e.what());
            }
            for (const auto& stage : spec.stages) {
                for (const auto& [key, value] : stage.params) overrides[stage.name + "." + key] = value;
            }
        }
        if (r.k > 0) overrides["k"] = std::to_string(r.k);
        if (r.top_n > 0) overrides["cutoff.top_n"] = std::to_string(r.top_n);
        return pipeline->run(r.query, overrides, scheduled_scorer(req, route));
    }

    static Json hit_json(const PipelineHit& h, std::size_t rank) {
        Json j{{"rank", rank},
               {"doc_id", h.candidate.doc_id},
               {"chunk_id", h.candidate.chunk_id},
               {"title", h.candidate.title},
               {"source", h.candidate.source},
               {"text", h.candidate.text},
               {"score", h.rerank_score ? *h.rerank_score : h.first_stage_score},
               {"first_stage", {{"rank", h.first_stage_rank}, {"score", h.first_stage_score}}}};
        if (h.rerank_score) {
            j["rerank"] = {{"score", *h.rerank_score}, {"raw_score", h.rerank_raw.value_or(0.0f)},
                           {"truncated", h.truncated}};
        }
        j["decision"] = std::string(decision_name(h.decision));
        return j;
    }

    Json search_json(const PipelineResult& result, bool include_first_stage) {
        Json hits = Json::array();
        for (std::size_t i = 0; i < result.hits.size(); ++i) hits.push_back(hit_json(result.hits[i], i + 1));
        Json timings = Json::object();
        for (const auto& t : result.timings) timings[t.stage] = t.ms;
        Json out{{"query", result.query},     {"pipeline", result.spec},        {"results", std::move(hits)},
                 {"n_candidates", result.n_candidates}, {"n_reranked", result.n_reranked},
                 {"n_truncated", result.n_truncated},   {"timings_ms", std::move(timings)}};
        if (include_first_stage) {
            std::vector<const PipelineHit*> all;
            for (const auto& h : result.hits) all.push_back(&h);
            for (const auto& h : result.cut) all.push_back(&h);
            std::sort(all.begin(), all.end(),
                      [](const PipelineHit* a, const PipelineHit* b) { return a->first_stage_rank < b->first_stage_rank; });
            Json first = Json::array();
            for (const auto* h : all) {
                Json j = hit_json(*h, h->first_stage_rank);
                j["score"] = h->first_stage_score;
                first.push_back(std::move(j));
            }
            out["first_stage"] = std::move(first);
        }
        if (result.n_truncated > 0) metrics.add_truncations("rerank", result.n_truncated);
        return out;
    }

    void handle_search(const httplib::Request& req, httplib::Response& res) {
        const Json body = srv::parse_request_body(req.body);
        const auto r = srv::parse_search_request(body, limits);
        write_json(res, search_json(run_search(r, req, "/v1/search"), r.include_first_stage));
    }

    static std::string sse(std::string_view event, const Json& data) {
        return fmt::format("event: {}\ndata: {}\n\n", event, dump(data));
    }

    void handle_ask(const httplib::Request& req, httplib::Response& res) {
        const Json body = srv::parse_request_body(req.body);
        const auto r = srv::parse_search_request(body, limits);
        const PipelineResult result = run_search(r, req, "/v1/ask");
        const PipelineConfig config = PipelineConfig::from_spec(PipelineSpec::parse(result.spec));
        const PackedContext packed = pack_context(r.query, result.hits, config.pack, pipeline->token_counter(config));
        Json sources = Json::array();
        for (const auto& s : packed.sources) {
            sources.push_back({{"n", s.n}, {"doc_id", s.doc_id}, {"title", s.title}, {"source", s.source},
                               {"begin", s.begin}, {"end", s.end}});
        }
        const llm::ChatOptions chat = llm::options_from_env();
        const bool have_llm = !chat.url.empty();
        std::vector<llm::ChatMessage> messages{{"system", packed.system}, {"user", packed.user}};
        if (!r.stream) {
            Json out = search_json(result, false);
            out["sources"] = sources;
            out["context"] = packed.context;
            if (have_llm) {
                const auto answer = llm::ChatClient(chat).complete(messages);
                out["answer"] = answer.content;
                out["llm_model"] = answer.model;
            } else {
                out["answer"] = nullptr;
                out["note"] = "no LLM configured (set WINNOW_LLM_URL and WINNOW_LLM_MODEL); returning the context";
            }
            write_json(res, out);
            return;
        }
        // Server-sent events: sources first, then answer deltas, then done (or error).
        auto head = std::make_shared<std::string>(sse("sources", Json{{"sources", sources}, {"context", packed.context}}));
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream",
            [head, messages, chat, have_llm](std::size_t, httplib::DataSink& sink) {
                if (!sink.write(head->data(), head->size())) return false;
                if (have_llm) {
                    try {
                        const auto answer = llm::ChatClient(chat).stream(messages, [&](std::string_view delta) {
                            const std::string e = sse("delta", Json{{"content", std::string(delta)}});
                            return sink.write(e.data(), e.size());
                        });
                        const std::string done = sse("done", Json{{"finish_reason", answer.finish_reason}});
                        sink.write(done.data(), done.size());
                    } catch (const Error& e) {
                        const std::string err = sse("error", Json{{"type", errc_name(e.code())}, {"message", e.what()}});
                        sink.write(err.data(), err.size());
                    }
                } else {
                    const std::string done = sse("done", Json{{"finish_reason", "no_llm"}});
                    sink.write(done.data(), done.size());
                }
                sink.done();
                return true;
            });
    }

    void handle_label(const httplib::Request& req, httplib::Response& res) {
        WINNOW_CHECK(labels, Errc::NotFound, "no index loaded (start the server with --index) to label against");
        const Json body = srv::parse_request_body(req.body);
        const auto r = srv::parse_label_request(body, limits);
        const std::string qid = labels->append(r.query_id, r.query, r.doc_id, r.relevance);
        write_json(res, Json{{"query_id", qid}, {"doc_id", r.doc_id}, {"relevance", r.relevance},
                             {"qrels", labels->path()}});
    }

    // --- info routes ----------------------------------------------------------------------------
    void handle_health(httplib::Response& res) {
        Json models = Json::object();
        if (reranker) models["rerank"] = reranker->name();
        if (embedder) models["embed"] = embedder->name();
        write_json(res, Json{{"status", "ok"}, {"models", models}});
    }

    void handle_models(httplib::Response& res) {
        Json data = Json::array();
        const auto created = 0;
        if (reranker) {
            data.push_back({{"id", reranker->name()}, {"object", "model"}, {"created", created},
                            {"owned_by", "winnow"}, {"type", "rerank"}, {"max_length", reranker->max_length()}});
        }
        if (embedder) {
            data.push_back({{"id", embedder->name()}, {"object", "model"}, {"created", created},
                            {"owned_by", "winnow"}, {"type", "embed"}, {"max_length", embedder->max_length()},
                            {"dimension", embedder->dimension()}});
        }
        write_json(res, Json{{"object", "list"}, {"data", std::move(data)}});
    }

    // --- plumbing -------------------------------------------------------------------------------
    double retry_after_seconds() const {
        double worst = 1.0;
        auto estimate = [&](std::size_t queued, double rate) {
            if (rate > 0) worst = std::max(worst, std::ceil(double(queued) / rate));
        };
        if (rerank_queue) estimate(rerank_queue->queued_units(), rerank_queue->throughput());
        if (embed_queue) estimate(embed_queue->queued_units(), embed_queue->throughput());
        return std::min(worst, 60.0);
    }

    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

    void record(const httplib::Request& req, int status) {
        if (t_recorded) return;
        t_recorded = true;
        const double seconds = t_request_start == Clock::time_point{}
                                   ? 0.0
                                   : std::chrono::duration<double>(Clock::now() - t_request_start).count();
        metrics.observe_request(route_label(req.path), status, seconds);
    }

    httplib::Server::Handler wrap(Handler fn) {
        return [this, fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
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
            record(req, res.status == -1 ? 200 : res.status);
        };
    }

    static bool is_public_path(const std::string& path) {
        return path == "/health" || path == "/ui" || path == "/ui/" || path == "/";
    }

    static std::string route_label(const std::string& path) {
        static const char* const kRoutes[] = {"/v1/rerank", "/v2/rerank", "/rerank", "/embed", "/v1/embeddings",
                                              "/v1/search", "/v1/ask", "/health", "/v1/models", "/metrics",
                                              "/ui", "/v1/labels", "/"};
        for (const char* r : kRoutes) {
            if (path == r) return path;
        }
        return "other";
    }

    void setup_routes();
};


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
    http.Get("/health", wrap([this](auto&, auto& res) { handle_health(res); }));
    http.Get("/v1/models", wrap([this](auto&, auto& res) { handle_models(res); }));
    http.Get("/metrics", wrap([this](auto&, auto& res) {
        res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    }));
    http.Get("/ui", wrap([](auto&, auto& res) { res.set_content(srv::ui_page(), "text/html; charset=utf-8"); }));
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
    raise_listen_backlog(impl_->bound_port);
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
