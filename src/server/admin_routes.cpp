// The admin routes: /v1/labels (the web UI's judgments), /health, /v1/models, /metrics, the UI.
#include "server/server_impl.h"

#include "server/ui_page.h"

namespace winnow {

void Server::Impl::handle_label(const httplib::Request& req, httplib::Response& res) {
    WINNOW_CHECK(labels, Errc::NotFound, "no index loaded (start the server with --index) to label against");
    const Json body = srv::parse_request_body(req.body);
    const auto r = srv::parse_label_request(body, limits);
    const std::string qid = labels->append(r.query_id, r.query, r.doc_id, r.relevance);
    write_json(res, Json{{"query_id", qid}, {"doc_id", r.doc_id}, {"relevance", r.relevance},
                         {"qrels", labels->path()}});
}

void Server::Impl::handle_health(httplib::Response& res) {
    Json models = Json::object();
    if (reranker) models["rerank"] = reranker->name();
    if (embedder) models["embed"] = embedder->name();
    Json body{{"status", "ok"}, {"models", models}};
    if (!own_rerank.urls.empty()) {
        // A search node whose rerank stage is a remote tier: how many of its URLs answer /health
        // now (counts only: /health needs no API key, so the tier's addresses stay private).
        std::size_t up = 0;
        for (const auto& h : remote_pool_health(own_rerank.urls, 1000)) up += h.up ? 1 : 0;
        body["rerank_tier"] = Json{{"up", up}, {"urls", own_rerank.urls.size()}};
    }
    write_json(res, body);
}

void Server::Impl::handle_models(httplib::Response& res) {
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

void Server::Impl::handle_metrics(httplib::Response& res) {
    res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
}

void Server::Impl::handle_ui(httplib::Response& res) { res.set_content(srv::ui_page(), "text/html; charset=utf-8"); }

}  // namespace winnow
