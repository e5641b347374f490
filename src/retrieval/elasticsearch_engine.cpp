// The Elasticsearch / OpenSearch first stage and exporter, over the published REST API (ES 8):
//   search: POST <url>/<index>/_search  {"size": k, "query": {"match": {<field>: {"query": q}}},
//           "knn": {...} when a query embedding is asked for, "sort": [_score desc, chunk_id asc],
//           "_source": [...]}; the hits' _source carries the chunk text for the reranker.
//   export: PUT <url>/<index> (mapping; an existing index is reused), POST <url>/_bulk (NDJSON, index
//           actions with _id = chunk id; per-item errors read from "items"), POST <url>/<index>/_refresh.
// Authentication: user:password in the URL (basic), or an API key in $WINNOW_ES_API_KEY.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/http_client.h"
#include "core/json.h"
#include "core/log.h"
#include "lexical/bm25.h"
#include "models/model_path.h"
#include "retrieval/external_engine.h"
#include "store/document_store.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow::retrieval {
namespace {

std::vector<std::string> headers(std::string_view content_type = "application/json") {
    std::vector<std::string> h = {"Content-Type: " + std::string(content_type), "Accept: application/json"};
    if (const char* key = std::getenv("WINNOW_ES_API_KEY"); key != nullptr && *key != '\0')
        h.push_back(std::string("Authorization: ApiKey ") + key);
    return h;
}

void check_index_name(const std::string& index) {
    const bool ok = !index.empty() && index != "." && index != ".." &&
                    std::none_of(index.begin(), index.end(), [](char c) {
                        return c == '/' || c == '\\' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' ||
                               c == '|' || c == ' ' || c == ',' || c == '#' || c == ':' ||
                               std::isupper(static_cast<unsigned char>(c));
                    });
    WINNOW_CHECK(ok, Errc::InvalidArgument,
                 "elasticsearch index '{}': not a valid index name (lowercase, no spaces or / \\ * ? \" < > | , # :)",
                 index);
}

Errc errc_for_status(long status) {
    if (status == 404) return Errc::NotFound;
    if (status == 401 || status == 403) return Errc::Unauthorized;
    if (status == 413) return Errc::TooLarge;
    if (status == 429 || status == 503) return Errc::Overloaded;
    if (status == 400) return Errc::InvalidArgument;
    return Errc::Io;
}

http::Reply call(const std::string& method, const std::string& url, const std::string& body, std::size_t timeout_ms,
                 std::string_view content_type = "application/json") {
    http::Request request;
    request.method = method;
    request.url = url;
    request.body = body;
    request.headers = headers(content_type);
    request.timeout_ms = static_cast<long>(timeout_ms);
    http::Reply reply = http::send(request);
    if (!reply.ok) {
        WINNOW_THROW(reply.timed_out ? Errc::Timeout : Errc::Io, "elasticsearch {} {}: {}", method, url, reply.error);
    }
    return reply;
}

[[noreturn]] void fail(const std::string& method, const std::string& url, const http::Reply& reply) {
    WINNOW_THROW(errc_for_status(reply.status), "elasticsearch {} {} answered HTTP {}: {}", method, url, reply.status,
                 http::error_message(reply.body));
}

Json parse_body(const std::string& url, const std::string& body) {
    try {
        return Json::parse(body);
    } catch (const nlohmann::json::exception& e) {
        WINNOW_THROW(Errc::Corrupt, "elasticsearch {}: the answer is not JSON ({}): {}", url, e.what(), body.substr(0, 200));
    }
}

class ElasticsearchEngine final : public ExternalEngine {
public:
    explicit ElasticsearchEngine(const ExternalStageOptions& options) : options_(options) {
        check_index_name(options_.index);
    }

    std::vector<Candidate> search(std::string_view query, const SearchOptions& options) const override {
        const std::string& field = options_.field;
        Json body = Json::object();
        body["size"] = options.k;
        body["query"] = {{"match", {{field, {{"query", std::string(query)}}}}}};
        if (!options_.knn_field.empty() && options_.opensearch) {
            // OpenSearch's k-NN plugin: knn is a query clause; `should` adds its score to the match's, as
            // Elasticsearch adds a top-level knn's.
            const Json knn = {{"knn", {{options_.knn_field, {{"vector", embed(query)}, {"k", options.k}}}}}};
            body["query"] = {{"bool", {{"should", Json::array({body["query"], knn})}}}};
        } else if (!options_.knn_field.empty()) {
            const std::size_t candidates = options_.num_candidates > 0 ? options_.num_candidates
                                                                       : std::max<std::size_t>(2 * options.k, 100);
            body["knn"] = {{"field", options_.knn_field},
                           {"query_vector", embed(query)},
                           {"k", options.k},
                           {"num_candidates", std::max(candidates, options.k)}};
        }
        // Equal scores in chunk id order, as every winnow first stage.
        body["sort"] = Json::array({{{"_score", "desc"}}, {{"chunk_id", "asc"}}});
        body["track_total_hits"] = false;
        body["_source"] = Json::array({"chunk_id", "doc_id", "title", "source", "begin", "end", field});
        // dfs: term statistics of the whole index instead of each shard's, so BM25 scores do not depend on
        // which shard a chunk landed on (one more round trip per shard).
        const std::string url =
            options_.url + "/" + options_.index + "/_search" + (options_.dfs ? "?search_type=dfs_query_then_fetch" : "");
        const http::Reply reply =
            call("POST", url, body.dump(-1, ' ', false, Json::error_handler_t::replace), options_.timeout_ms);
        if (reply.status != 200) fail("POST", url, reply);
        const Json j = parse_body(url, reply.body);
        std::vector<Candidate> out;
        try {
            if (j.contains("timed_out") && j["timed_out"].is_boolean() && j["timed_out"].get<bool>())
                WINNOW_THROW(Errc::Timeout, "elasticsearch {}: the search timed out on the cluster (partial results refused)", url);
            if (j.contains("_shards") && j["_shards"].value("failed", 0) > 0) {
                WINNOW_THROW(Errc::Io, "elasticsearch {}: {} of {} shards failed (partial results refused): {}", url,
                             j["_shards"].value("failed", 0), j["_shards"].value("total", 0),
                             j["_shards"].contains("failures") ? j["_shards"]["failures"].dump().substr(0, 300) : "");
            }
            for (const Json& hit : j.at("hits").at("hits")) {
                const Json& src = hit.at("_source");
                Candidate c;
                if (src.contains("chunk_id") && src["chunk_id"].is_number_integer()) {
                    c.chunk_id = src["chunk_id"].get<std::int64_t>();
                } else {
                    const std::string id = hit.at("_id").get<std::string>();
                    char* end = nullptr;
                    c.chunk_id = std::strtoll(id.c_str(), &end, 10);
                    WINNOW_CHECK(end != id.c_str() && *end == '\0', Errc::Corrupt,
                                 "elasticsearch {}: hit '{}' has no chunk_id (index it with `winnow index --to elasticsearch:...`)",
                                 url, id);
                }
                if (hit.contains("_score") && hit["_score"].is_number()) c.score = hit["_score"].get<float>();
                else if (hit.contains("sort") && hit["sort"].is_array() && !hit["sort"].empty() && hit["sort"][0].is_number())
                    c.score = hit["sort"][0].get<float>();
                c.doc_id = src.value("doc_id", hit.value("_id", ""));
                c.title = src.value("title", "");
                c.source = src.value("source", "");
                c.begin = src.value("begin", 0u);
                c.end = src.value("end", 0u);
                WINNOW_CHECK(src.contains(field) && src[field].is_string(), Errc::Corrupt,
                             "elasticsearch {}: hit {} has no stored '{}' text in _source (the reranker needs it)", url,
                             c.chunk_id, field);
                c.text = src[field].get<std::string>();
                out.push_back(std::move(c));
            }
        } catch (const nlohmann::json::exception& e) {
            WINNOW_THROW(Errc::Corrupt, "elasticsearch {}: unexpected answer ({}): {}", url, e.what(), reply.body.substr(0, 200));
        }
        if (out.size() > options.k) out.resize(options.k);
        return out;
    }

    std::string describe(const SearchOptions&) const override {
        return fmt::format("{}({}/{}, match {}{}{})", options_.opensearch ? "opensearch" : "elasticsearch",
                           options_.url, options_.index, options_.field,
                           options_.knn_field.empty() ? "" : " + knn " + options_.knn_field, options_.dfs ? ", dfs" : "");
    }

private:
    std::vector<float> embed(std::string_view query) const {
        std::shared_ptr<const Embedder> embedder;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!embedder_) embedder_ = Embedder::load(resolve_model_path(options_.embed_model));
            embedder = embedder_;
        }
        const std::vector<std::string> texts = {std::string(query)};
        return embedder->embed(texts, EmbedKind::Query).at(0);
    }

    ExternalStageOptions options_;
    mutable std::mutex mutex_;
    mutable std::shared_ptr<const Embedder> embedder_;
};

// One _bulk request; returns the items to send again (rejected with 429), throws on other failures.
struct BulkItem {
    std::string action;  // the action line
    std::string source;  // the document line
    std::int64_t chunk_id = 0;
};

std::vector<BulkItem> send_bulk(const ElasticsearchExportOptions& o, std::vector<BulkItem> items,
                                std::vector<std::string>& rejected) {
    std::string body;
    for (const auto& item : items) {
        body += item.action;
        body += '\n';
        body += item.source;
        body += '\n';
    }
    const std::string url = o.url + "/_bulk";
    const http::Reply reply = call("POST", url, body, o.timeout_ms, "application/x-ndjson");
    if (reply.status == 429) return items;  // the whole request was refused: all again
    if (reply.status != 200) fail("POST", url, reply);
    const Json j = parse_body(url, reply.body);
    std::vector<BulkItem> again;
    try {
        if (!j.value("errors", false)) return again;
        const Json& results = j.at("items");
        WINNOW_CHECK(results.is_array() && results.size() == items.size(), Errc::Corrupt,
                     "elasticsearch {}: {} items answered for {} sent", url, results.is_array() ? results.size() : 0,
                     items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            const Json& r = results[i];
            WINNOW_CHECK(r.is_object() && r.size() == 1, Errc::Corrupt, "elasticsearch {}: item {} malformed", url, i);
            const Json& result = r.begin().value();
            const int status = result.value("status", 0);
            if (status >= 200 && status < 300) continue;
            if (status == 429) {
                again.push_back(std::move(items[i]));
                continue;
            }
            std::string why = result.contains("error") ? http::error_message(Json{{"error", result["error"]}}.dump())
                                                       : fmt::format("status {}", status);
            rejected.push_back(fmt::format("chunk {}: HTTP {} {}", items[i].chunk_id, status, why));
        }
    } catch (const nlohmann::json::exception& e) {
        WINNOW_THROW(Errc::Corrupt, "elasticsearch {}: unexpected _bulk answer ({}): {}", url, e.what(), reply.body.substr(0, 200));
    }
    return again;
}

// Sends items in batches by count and bytes, retrying those rejected for a full queue.
class BulkWriter {
public:
    explicit BulkWriter(const ElasticsearchExportOptions& o) : o_(o) {}
    void add(BulkItem item) {
        bytes_ += item.action.size() + item.source.size() + 2;
        pending_.push_back(std::move(item));
        if (pending_.size() >= o_.batch_documents || bytes_ >= o_.batch_bytes) flush();
    }
    void flush() {
        std::vector<BulkItem> items = std::move(pending_);
        pending_.clear();
        bytes_ = 0;
        for (std::size_t round = 0; !items.empty(); ++round) {
            if (round > 0) {
                WINNOW_CHECK(round <= o_.retries, Errc::Overloaded,
                             "elasticsearch {}/_bulk: {} chunk(s) still refused (HTTP 429) after {} retries", o_.url,
                             items.size(), o_.retries);
                std::this_thread::sleep_for(std::chrono::milliseconds(100 << std::min<std::size_t>(round, 6)));
            }
            items = send_bulk(o_, std::move(items), rejected_);
        }
    }
    const std::vector<std::string>& rejected() const { return rejected_; }

private:
    const ElasticsearchExportOptions& o_;
    std::vector<BulkItem> pending_;
    std::size_t bytes_ = 0;
    std::vector<std::string> rejected_;
};

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

std::shared_ptr<const ExternalEngine> make_elasticsearch_engine(const ExternalStageOptions& options) {
    return std::make_shared<ElasticsearchEngine>(options);
}

Json elasticsearch_mapping(const std::string& analyzer, float k1, float b, std::size_t dense_dimension,
                           bool opensearch) {
    auto decimal = [](float v) { return std::stod(fmt::format("{}", v)); };  // 0.9, not 0.8999999761581421
    Json properties = {{"chunk_id", {{"type", "long"}}},
                       {"winnow_export", {{"type", "long"}}},
                       {"doc_id", {{"type", "keyword"}}},
                       {"title", {{"type", "text"}, {"index", false}}},
                       {"source", {{"type", "keyword"}, {"index", false}}},
                       {"begin", {{"type", "integer"}, {"index", false}}},
                       {"end", {{"type", "integer"}, {"index", false}}},
                       {"text", {{"type", "text"}, {"analyzer", analyzer}}}};
    Json settings = {{"similarity", {{"default", {{"type", "BM25"}, {"k1", decimal(k1)}, {"b", decimal(b)}}}}}};
    if (dense_dimension > 0 && opensearch) {
        settings["knn"] = true;
        properties["embedding"] = {
            {"type", "knn_vector"},
            {"dimension", dense_dimension},
            {"method", {{"name", "hnsw"}, {"space_type", "cosinesimil"}, {"engine", "lucene"}}}};
    } else if (dense_dimension > 0) {
        properties["embedding"] = {
            {"type", "dense_vector"}, {"dims", dense_dimension}, {"index", true}, {"similarity", "cosine"}};
    }
    return {{"settings", {{"index", settings}}}, {"mappings", {{"properties", properties}}}};
}

ExportSummary export_to_elasticsearch(const Index& index, const ElasticsearchExportOptions& o) {
    check_index_name(o.index);
    WINNOW_CHECK(o.batch_documents > 0 && o.batch_bytes > 0, Errc::InvalidArgument, "elasticsearch export: empty batches");
    ExportSummary summary;
    const std::string index_url = o.url + "/" + o.index;
    summary.paths.push_back(index_url);
    // The mapping: the text analyzed as the winnow index analyzes it (Lucene's EnglishAnalyzer is
    // Elasticsearch's `english`), scored with the index's BM25 parameters.
    const std::string analyzer_spec = index.config().analyzer;
    std::string es_analyzer = "english";
    if (analyzer_spec == "standard") {
        es_analyzer = "standard";
    } else if (analyzer_spec != "english") {
        log::warn("elasticsearch export: analyzer '{}' has no Elasticsearch equivalent; the text field uses 'english'",
                  analyzer_spec);
    }
    const Bm25Params bm25 = lexical::parse_bm25_spec(index.config().bm25);
    const std::int64_t export_id =
        o.export_id != 0 ? o.export_id
                         : std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const Json mapping = elasticsearch_mapping(es_analyzer, bm25.k1, bm25.b,
                                               index.has_dense() ? index.config().dense_dimension : 0, o.opensearch);
    const http::Reply created = call("PUT", index_url, dump(mapping), o.timeout_ms);
    const bool existed =
        created.status == 400 && created.body.find("resource_already_exists_exception") != std::string::npos;
    if (existed) {
        log::info("elasticsearch: index {} exists; writing into it (chunks are replaced by id, chunks no longer in "
                  "the winnow index deleted)",
                  index_url);
    } else if (created.status != 200) {
        fail("PUT", index_url, created);
    }

    BulkWriter writer(o);
    for_each_index_chunk(index, [&](std::vector<Candidate>& batch) {
        for (const Candidate& c : batch) {
            Json action = {{"index", {{"_index", o.index}, {"_id", std::to_string(c.chunk_id)}}}};
            Json source = {{"chunk_id", c.chunk_id}, {"doc_id", c.doc_id}, {"title", c.title},
                           {"source", c.source},     {"begin", c.begin},   {"end", c.end},
                           {"text", c.text},         {"winnow_export", export_id}};
            writer.add({dump(action), dump(source), c.chunk_id});
            ++summary.chunks;
        }
    });
    writer.flush();
    if (index.has_dense()) {
        const store::DocumentStore store(index.dir(), false);
        store.for_each_embedding([&](std::int64_t chunk_id, std::span<const float> v) {
            Json action = {{"update", {{"_index", o.index}, {"_id", std::to_string(chunk_id)}}}};
            Json doc = {{"doc", {{"embedding", std::vector<float>(v.begin(), v.end())}}}};
            writer.add({dump(action), dump(doc), chunk_id});
            ++summary.embeddings;
        });
        writer.flush();
    }
    if (!writer.rejected().empty()) {
        std::string list;
        for (std::size_t i = 0; i < writer.rejected().size() && i < 10; ++i) list += "\n  " + writer.rejected()[i];
        WINNOW_THROW(Errc::InvalidArgument, "elasticsearch {}/_bulk rejected {} item(s):{}{}", o.url,
                     writer.rejected().size(), list, writer.rejected().size() > 10 ? "\n  ..." : "");
    }
    const std::string refresh_url = index_url + "/_refresh";
    const http::Reply refreshed = call("POST", refresh_url, "", o.timeout_ms);
    if (refreshed.status != 200) fail("POST", refresh_url, refreshed);
    if (existed) {
        // Every chunk of the winnow index now carries this export's stamp: what does not is gone from it.
        const std::string delete_url = index_url + "/_delete_by_query?refresh=true&conflicts=proceed";
        const Json query = {{"query", {{"bool", {{"must_not", Json::array({{{"term", {{"winnow_export", export_id}}}}})}}}}}};
        const http::Reply reply = call("POST", delete_url, dump(query), o.timeout_ms);
        if (reply.status != 200) fail("POST", delete_url, reply);
        const Json j = parse_body(delete_url, reply.body);
        const Json failures = j.value("failures", Json::array());
        WINNOW_CHECK(failures.is_array() && failures.empty(), Errc::Internal,
                     "elasticsearch {}: {} deletion(s) of chunks no longer in the winnow index failed: {}", delete_url,
                     failures.is_array() ? failures.size() : 1, dump(failures).substr(0, 400));
        summary.deleted = j.value("deleted", std::size_t{0});
    }
    return summary;
}

}  // namespace winnow::retrieval
