// The admin routes: /v1/labels (the web UI's judgments), /v1/info, /health, /v1/models, /metrics,
// the UI.
#include "server/server_impl.h"
#include "server/ui_page.h"

namespace winnow {
namespace {

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return s;
}

constexpr const char* kNoLabelsFile =
    "no labels file: start the server with --labels FILE (or with --index, whose folder keeps labels.qrels)";

}  // namespace

void Server::Impl::handle_label(const httplib::Request& req, httplib::Response& res) {
    WINNOW_CHECK(labels, Errc::NotFound, "{}", kNoLabelsFile);
    const Json body = srv::parse_request_body(req.body);
    const auto r = srv::parse_label_request(body, limits);
    const std::string qid = labels->append(r.query_id, r.query, r.doc_id, r.relevance);
    write_json(res,
               Json{{"query_id", qid}, {"doc_id", r.doc_id}, {"relevance", r.relevance}, {"qrels", labels->path()}});
}

// GET /v1/labels?query=TEXT (or query_id=ID): the labels saved for that query, last one per
// document, so the web UI shows them again after a reload.
void Server::Impl::handle_get_labels(const httplib::Request& req, httplib::Response& res) {
    WINNOW_CHECK(labels, Errc::NotFound, "{}", kNoLabelsFile);
    std::string qid = req.get_param_value("query_id");
    const std::string query = req.get_param_value("query");
    WINNOW_CHECK(!qid.empty() || !query.empty(), Errc::InvalidArgument, "GET /v1/labels needs ?query= or ?query_id=");
    WINNOW_CHECK(qid.size() <= limits.max_text_bytes && query.size() <= limits.max_text_bytes, Errc::InvalidArgument,
                 "query of more than {} bytes", limits.max_text_bytes);
    if (qid.empty()) qid = srv::QrelsWriter::query_id_for(query);
    Json by_doc = Json::object();
    for (const auto& [doc, relevance] : labels->labels(qid)) by_doc[doc] = relevance;
    write_json(res, Json{{"query_id", qid}, {"labels", std::move(by_doc)}, {"qrels", labels->path()}});
}

// GET /v1/info: what this server runs, for the web UI's header: the pipeline spec, the reranker
// of its rerank stage, the loaded models and the index (folder, chunks).
void Server::Impl::handle_info(httplib::Response& res) {
    Json models = Json::object();
    if (reranker) models["rerank"] = reranker->name();
    if (embedder) models["embed"] = embedder->name();
    Json body{{"models", std::move(models)}};
    body["labels"] = labels ? Json(labels->path()) : Json(nullptr);  // where the UI's labels go, if anywhere
    if (!pipeline) {
        body["pipeline"] = nullptr;
        body["index"] = nullptr;
        write_json(res, body);
        return;
    }
    body["pipeline"] = pipeline->spec().to_string();
    const RerankConfig& r = own_rerank;
    Json rerank = nullptr;
    if (r.enabled && !r.urls.empty()) {
        rerank = Json{{"kind", r.kind}, {"model", nullptr}, {"remote_urls", r.urls.size()}};
    } else if (r.enabled && r.kind == "rerank") {
        rerank = Json{{"kind", "rerank"},
                      {"model", reranker          ? reranker->name()
                                : r.model.empty() ? "$WINNOW_RERANK_MODEL"
                                                  : r.model}};
    } else if (r.enabled) {
        rerank = Json{{"kind", r.kind}, {"model", r.model.empty() ? "$WINNOW_" + upper(r.kind) + "_MODEL" : r.model}};
    }
    body["rerank"] = std::move(rerank);
    if (options.index_dir.empty()) {
        body["index"] = nullptr;  // an external first stage (xapian, elasticsearch) serves without --index
    } else {
        const auto chunks = pipeline->source_size();
        body["index"] = Json{{"dir", options.index_dir}, {"chunks", chunks ? Json(*chunks) : Json(nullptr)}};
    }
    write_json(res, body);
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
        data.push_back({{"id", reranker->name()},
                        {"object", "model"},
                        {"created", created},
                        {"owned_by", "winnow"},
                        {"type", "rerank"},
                        {"max_length", reranker->max_length()}});
    }
    if (embedder) {
        data.push_back({{"id", embedder->name()},
                        {"object", "model"},
                        {"created", created},
                        {"owned_by", "winnow"},
                        {"type", "embed"},
                        {"max_length", embedder->max_length()},
                        {"dimension", embedder->dimension()}});
    }
    write_json(res, Json{{"object", "list"}, {"data", std::move(data)}});
}

void Server::Impl::handle_metrics(httplib::Response& res) {
    res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
}

void Server::Impl::handle_ui(httplib::Response& res) {
    res.set_content(srv::ui_page(), "text/html; charset=utf-8");
}

}  // namespace winnow
