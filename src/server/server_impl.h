// Server::Impl, shared by the server's source files: the state (models, schedulers, pipeline,
// metrics) and one member function per route. Where each lives:
//   http_server.cpp    construction, the routing table, auth/CORS/metrics plumbing, Server's methods
//   model_routes.cpp   /v1/rerank, /v2/rerank, /rerank (dialects), /embed, /v1/embeddings, the batches
//   search_routes.cpp  /v1/search, /v1/ask (Pipeline::run/ask with a scheduled rerank scorer)
//   admin_routes.cpp   /health, /v1/info, /v1/models, /metrics, /v1/labels, the web UI
//   socket_layer.cpp   the connection sockets under cpp-httplib
// Internal to src/server/.
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "server/auth.h"
#include "server/batch_scheduler.h"
#include "server/guarded_server.h"
#include "server/memory_trimmer.h"
#include "server/metrics.h"
#include "server/qrels_writer.h"
#include "server/requests.h"
#include "server/socket_layer.h"
#include "winnow/pipeline.h"
#include "winnow/server.h"

namespace winnow::server {

inline constexpr auto kPollInterval = std::chrono::milliseconds(20);

std::string dump(const Json& j);
void write_json(httplib::Response& res, const Json& body, int status = 200);
void write_error(httplib::Response& res, int status, std::string_view type, std::string_view message);

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

using RerankScheduler = BatchScheduler<RerankUnit, PairScore>;
using EmbedScheduler = BatchScheduler<EmbedUnit, std::vector<float>>;

}  // namespace winnow::server

namespace winnow {

// What the single source file had in scope, for the member functions below and their files.
namespace srv = winnow::server;
using srv::Clock;
using srv::dump;
using srv::EmbedScheduler;
using srv::EmbedUnit;
using srv::find_request_socket;
using srv::kPollInterval;
using srv::peer_hung_up;
using srv::RerankScheduler;
using srv::RerankUnit;
using srv::write_error;
using srv::write_json;

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
    RerankConfig own_rerank;                 // the rerank stage of the server's own spec
    std::unique_ptr<srv::QrelsWriter> labels;  // the web UI's judgments
    int bound_port = -1;
    std::atomic<bool> stop_requested{false};
    std::mutex run_mutex;
    std::atomic<int> in_flight{0};  // requests inside a route handler, /metrics itself not counted
    // Returns freed memory to the system when in_flight falls to 0 (null: --no-memory-trim).
    // Declared after in_flight, which it reads: destroyed before it.
    std::unique_ptr<srv::MemoryTrimmer> trimmer;

    Impl(ServerOptions opts, std::shared_ptr<Reranker> r, std::shared_ptr<Embedder> e);
    ~Impl();

    // --- model routes and batches (model_routes.cpp) ---------------------------------------------
    std::vector<PairScore> run_rerank(const std::vector<const RerankUnit*>& units);
    std::vector<std::vector<float>> run_embed(std::uint64_t key, const std::vector<const EmbedUnit*>& units);
    std::vector<PairScore> score_on_queue(std::string_view query_text, const std::vector<std::string>& documents,
                                          std::size_t max_tokens_per_doc, bool truncate, const httplib::Request& req,
                                          std::string_view route, std::size_t stage_max_length = 0);
    std::vector<PairScore> rerank(const srv::RerankRequest& r, const httplib::Request& req, std::string_view route);
    static std::vector<std::size_t> order_by_score(const std::vector<PairScore>& scores, bool raw);
    void handle_rerank(const httplib::Request& req, httplib::Response& res, srv::RerankDialect dialect,
                       std::string_view route);
    std::vector<std::vector<float>> embed(const srv::EmbedRequest& r, const httplib::Request& req,
                                          std::string_view route, std::uint64_t& tokens);
    void handle_openai_embeddings(const httplib::Request& req, httplib::Response& res);
    void handle_tei_embed(const httplib::Request& req, httplib::Response& res);

    // --- search and ask over --index (search_routes.cpp) ----------------------------------------
    std::shared_ptr<const CandidateScorer> scheduled_scorer(const httplib::Request& req, std::string_view route);
    static bool same_model(const std::string& asked, const std::string& loaded);
    void check_rerank_settings(const RerankConfig& r) const;
    std::map<std::string, std::string> request_overrides(const srv::SearchRequest& r);
    PipelineResult run_search(const srv::SearchRequest& r, const httplib::Request& req, std::string_view route);
    Json search_json(const PipelineResult& result, bool include_first_stage, bool answer = false);
    void handle_search(const httplib::Request& req, httplib::Response& res);
    static std::string sse(std::string_view event, const Json& data);
    void handle_ask(const httplib::Request& req, httplib::Response& res);

    // --- admin: labels, health, models, metrics, UI (admin_routes.cpp) ----------------------------
    void handle_label(const httplib::Request& req, httplib::Response& res);
    void handle_get_labels(const httplib::Request& req, httplib::Response& res);
    void handle_info(httplib::Response& res);
    void handle_health(httplib::Response& res);
    void handle_models(httplib::Response& res);
    void handle_metrics(httplib::Response& res);
    void handle_ui(httplib::Response& res);

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

    // --- plumbing (http_server.cpp) ---------------------------------------------------------------
    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
    double retry_after_seconds() const;
    void record(const httplib::Request& req, int status);
    httplib::Server::Handler wrap(Handler fn);
    static bool is_public_path(const std::string& path);
    static std::string route_label(const std::string& path);
    void setup_routes();
};

}  // namespace winnow
