// The elasticsearch(...) first stage and `--to elasticsearch:` export against recorded exchanges
// (recorded/*.json): request/response pairs written from the published Elasticsearch 8 REST API
// reference (_search with match, knn, sort and _source; index creation; _bulk NDJSON with per-item
// errors; _refresh). A local HTTP server replays them in order and records every difference between
// the request winnow sent and the recorded one (method, path, JSON body or NDJSON lines, compared as
// JSON values). No Elasticsearch or OpenSearch server runs here: what these prove is that winnow
// speaks the documented API and handles the documented answers, not that a given server version agrees.
#include <httplib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/json.h"
#include "retrieval/external_engine.h"
#include "support/temp_dir.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"

namespace winnow::testing {
namespace {

const std::string kRecorded = std::string(WINNOW_SOURCE_DIR) + "/tests/server/external/recorded/";

Json load(const std::string& name) {
    std::ifstream in(kRecorded + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return Json::parse(ss.str());
}

// Replaces every string "$NAME" in `j` by vars[NAME].
void substitute(Json& j, const std::map<std::string, Json>& vars) {
    if (j.is_string()) {
        const std::string s = j.get<std::string>();
        if (!s.empty() && s[0] == '$') {
            auto it = vars.find(s.substr(1));
            if (it != vars.end()) j = it->second;
        }
    } else if (j.is_structured()) {
        for (auto& v : j) substitute(v, vars);
    }
}

class ReplayServer {
public:
    explicit ReplayServer(Json exchanges) : exchanges_(std::move(exchanges)) {
        auto handle = [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); };
        for (const char* m : {"GET", "POST", "PUT", "DELETE"}) {
            const std::string method = m;
            if (method == "GET") server_.Get(".*", handle);
            if (method == "POST") server_.Post(".*", handle);
            if (method == "PUT") server_.Put(".*", handle);
            if (method == "DELETE") server_.Delete(".*", handle);
        }
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        // Ready when it runs; the bound only turns a hang into a failure.
        for (int i = 0; i < 60000 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~ReplayServer() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<std::string> problems() const {
        std::lock_guard<std::mutex> lock(mutex_);
        auto out = problems_;
        if (next_ != exchanges_.size())
            out.push_back(std::to_string(exchanges_.size() - next_) + " recorded request(s) never sent");
        return out;
    }

private:
    void serve(const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (next_ >= exchanges_.size()) {
            problems_.push_back("unexpected request " + req.method + " " + req.path);
            res.status = 500;
            return;
        }
        const Json& x = exchanges_[next_++];
        const Json& want = x["request"];
        const std::string where = "exchange " + std::to_string(next_) + " (" + want.value("method", "") + " " +
                                  want.value("path", "") + ")";
        if (req.method != want["method"] || req.path != want["path"])
            problems_.push_back(where + ": got " + req.method + " " + req.path);
        Json params = Json::object();
        for (const auto& [k, v] : req.params) params[k] = v;
        if (params != want.value("params", Json::object()))
            problems_.push_back(where + ": query parameters " + params.dump());
        if (want.contains("body") && (req.body.empty() || Json::parse(req.body, nullptr, false) != want["body"])) {
            problems_.push_back(where + ": body differs: " + req.body.substr(0, 2000));
        }
        if (want.contains("ndjson")) {
            std::vector<Json> lines;
            std::istringstream in(req.body);
            for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line, nullptr, false));
            if (req.body.empty() || req.body.back() != '\n') problems_.push_back(where + ": NDJSON body must end in a newline");
            if (lines != want["ndjson"].get<std::vector<Json>>())
                problems_.push_back(where + ": NDJSON differs: " + req.body.substr(0, 2000));
            if (req.get_header_value("Content-Type") != "application/x-ndjson")
                problems_.push_back(where + ": Content-Type " + req.get_header_value("Content-Type"));
        }
        const Json& reply = x["response"];
        res.status = reply.value("status", 200);
        res.set_content(reply["body"].dump(), "application/json");
    }

    Json exchanges_;
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::size_t next_ = 0;
    std::vector<std::string> problems_;
};

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
}

// Three short documents; chunk ids 1, 2, 3 (the store's first rows).
std::unique_ptr<Index> small_index(const TempDir& dir) {
    auto index = Index::create((dir.path / "index").string(), IndexConfig{});
    auto writer = index->writer();
    writer->upsert({"expenses", "Expense policy", "Expenses over 500 need written approval.", "{}", "docs/expenses.md"});
    writer->upsert({"cafeteria", "", "The cafeteria opens at 8am.", "{}", ""});
    writer->upsert({"minutes", "", "Minutes approved by the board.", "{}", ""});
    writer->finish();
    return index;
}

SearchOptions es_options(const std::string& url, std::size_t k) {
    SearchOptions o;
    o.k = k;
    o.external.engine = "elasticsearch";
    o.external.url = url;
    o.external.index = "chunks";
    return o;
}

// Export into index "chunks" of the replay server, stamped 7 as the recordings are.
retrieval::ElasticsearchExportOptions export_options(const ReplayServer& es) {
    retrieval::ElasticsearchExportOptions o;
    o.url = es.url();
    o.index = "chunks";
    o.export_id = 7;
    return o;
}

TEST(ElasticsearchReplay, ExportCreatesTheIndexAndRetriesRejectedBulkItems) {
    TempDir dir("winnow_es_export");
    const auto index = small_index(dir);
    ReplayServer es(load("export_bulk_retry.json"));
    const retrieval::ElasticsearchExportOptions o = export_options(es);
    const auto summary = retrieval::export_to_elasticsearch(*index, o);
    EXPECT_EQ(summary.chunks, 3u);
    EXPECT_EQ(summary.deleted, 0u);  // a new index: nothing to delete, no _delete_by_query sent
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
}

// Into an existing index: every chunk rewritten with this export's stamp, then what carries another
// stamp (chunks deleted from the winnow index since the last export) deleted.
TEST(ElasticsearchReplay, ExportIntoAnExistingIndexDeletesWhatTheIndexNoLongerHolds) {
    TempDir dir("winnow_es_export_existing");
    const auto index = small_index(dir);
    {
        ReplayServer es(load("export_existing_index.json"));
        const retrieval::ElasticsearchExportOptions o = export_options(es);
        const auto summary = retrieval::export_to_elasticsearch(*index, o);
        EXPECT_EQ(summary.chunks, 3u);
        EXPECT_EQ(summary.deleted, 2u);
        EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
    }
    // A deletion that fails is an error naming it, not a silent stale copy.
    Json exchanges = load("export_existing_index.json");
    exchanges.back()["response"]["body"]["deleted"] = 1;
    exchanges.back()["response"]["body"]["failures"] =
        Json::array({{{"index", "chunks"}, {"id", "9"}, {"status", 409}, {"cause", {{"type", "version_conflict_engine_exception"}}}}});
    ReplayServer es(exchanges);
    const retrieval::ElasticsearchExportOptions o = export_options(es);
    try {
        (void)retrieval::export_to_elasticsearch(*index, o);
        FAIL() << "a failed deletion was not reported";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("1 deletion(s)"), std::string::npos) << what;
        EXPECT_NE(what.find("version_conflict_engine_exception"), std::string::npos) << what;
    }
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
}

TEST(ElasticsearchReplay, ExportReportsPerItemErrors) {
    TempDir dir("winnow_es_export_err");
    const auto index = small_index(dir);
    ReplayServer es(load("export_item_error.json"));
    const retrieval::ElasticsearchExportOptions o = export_options(es);
    try {
        (void)retrieval::export_to_elasticsearch(*index, o);
        FAIL() << "a rejected item was not reported";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::InvalidArgument);
        const std::string what = e.what();
        EXPECT_NE(what.find("rejected 1 item"), std::string::npos) << what;
        EXPECT_NE(what.find("chunk 2"), std::string::npos) << what;
        EXPECT_NE(what.find("mapper_parsing_exception"), std::string::npos) << what;
    }
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
}

TEST(ElasticsearchReplay, SearchSendsAMatchQueryAndReadsStoredText) {
    ReplayServer es(load("search_match.json"));
    const SearchOptions o = es_options(es.url(), 3);
    const auto engine = retrieval::make_elasticsearch_engine(o.external);
    const auto hits = engine->search("who approves expenses", o);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].chunk_id, 1);
    EXPECT_EQ(hits[0].doc_id, "expenses");
    EXPECT_EQ(hits[0].title, "Expense policy");
    EXPECT_EQ(hits[0].source, "docs/expenses.md");
    EXPECT_EQ(hits[0].text, "Expense policy Expenses over 500 need written approval.");
    EXPECT_FLOAT_EQ(hits[0].score, 1.6093378f);
    EXPECT_EQ(hits[1].chunk_id, 3);
    EXPECT_EQ(hits[1].text, "Minutes approved by the board.");
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
}

TEST(ElasticsearchReplay, DfsAsksForIndexWideStatistics) {
    Json exchanges = load("search_match.json");
    exchanges[0]["request"]["params"] = {{"search_type", "dfs_query_then_fetch"}};
    ReplayServer es(exchanges);
    const PipelineConfig c = PipelineConfig::from_spec(
        PipelineSpec::parse("elasticsearch(url=" + es.url() + ", index=chunks, k=3, dfs=true)"));
    EXPECT_TRUE(c.first_stage.external.dfs);
    const auto hits = retrieval::make_elasticsearch_engine(c.first_stage.external)->search("who approves expenses", c.first_stage);
    EXPECT_EQ(hits.size(), 2u);
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
    EXPECT_THROW((void)PipelineSpec::parse("elasticsearch(url=http://h:9200, index=x, dfs=yes)"), Error);
}

TEST(ElasticsearchReplay, PipelineRerankReadsTheEngineText) {
    // The whole pipeline without an index directory: the cutoff reads the engine's text.
    ReplayServer es(load("search_match.json"));
    const Pipeline p = Pipeline::open(
        "", PipelineSpec::parse("elasticsearch(url=" + es.url() + ", index=chunks, k=3) > cutoff(top_n=1)"));
    const PipelineResult r = p.run("who approves expenses");
    ASSERT_EQ(r.hits.size(), 1u);
    EXPECT_EQ(r.hits[0].candidate.doc_id, "expenses");
    EXPECT_GT(r.hits[0].n_tokens, 0u);
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
}

const std::string kEmbedModel = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-embed-mean";

// A recorded knn search with "$QUERY_VECTOR" replaced by the fixture embedder's vector of the query.
Json knn_exchanges(const std::string& name) {
    const std::vector<std::string> q = {"who approves expenses"};
    Json exchanges = load(name);
    substitute(exchanges, {{"QUERY_VECTOR", Json(Embedder::load(kEmbedModel)->embed(q, EmbedKind::Query).at(0))}});
    return exchanges;
}

TEST(ElasticsearchReplay, KnnClauseCarriesTheQueryEmbedding) {
    if (!std::filesystem::exists(kEmbedModel)) GTEST_SKIP() << "fixture embedding model missing";
    const std::string& model = kEmbedModel;
    ReplayServer es(knn_exchanges("search_knn.json"));
    SearchOptions o = es_options(es.url(), 2);
    o.external.knn_field = "embedding";
    o.external.embed_model = model;
    const auto hits = retrieval::make_elasticsearch_engine(o.external)->search("who approves expenses", o);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].chunk_id, 1);
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
}

// api=opensearch: OpenSearch's k-NN plugin takes knn as a query clause, beside the match in a bool should.
TEST(ElasticsearchReplay, OpenSearchKnnIsAQueryClause) {
    if (!std::filesystem::exists(kEmbedModel)) GTEST_SKIP() << "fixture embedding model missing";
    const std::string& model = kEmbedModel;
    ReplayServer es(knn_exchanges("search_knn_opensearch.json"));
    const PipelineConfig config = PipelineConfig::from_spec(PipelineSpec::parse(
        "elasticsearch(k=2, url=" + es.url() + ", index=chunks, knn_field=embedding, embed_model=" + model +
        ", api=opensearch)"));
    const SearchOptions& o = config.first_stage;
    ASSERT_TRUE(o.external.opensearch);
    const auto engine = retrieval::make_elasticsearch_engine(o.external);
    EXPECT_EQ(engine->describe(o).rfind("opensearch(", 0), 0u) << engine->describe(o);
    const auto hits = engine->search("who approves expenses", o);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].chunk_id, 1);
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
    EXPECT_THROW((void)PipelineConfig::from_spec(PipelineSpec::parse("elasticsearch(url=http://h:9200, index=c, api=solr)")),
                 Error);
}

// The export's mapping for each engine: Elasticsearch's dense_vector, OpenSearch's knn_vector in a k-NN index.
TEST(ElasticsearchReplay, ExportMappingPerEngine) {
    const Json es = retrieval::elasticsearch_mapping("english", 0.9f, 0.4f, 8, false);
    EXPECT_EQ(es["mappings"]["properties"]["embedding"]["type"], "dense_vector");
    EXPECT_EQ(es["mappings"]["properties"]["embedding"]["dims"], 8);
    EXPECT_FALSE(es["settings"]["index"].contains("knn"));
    EXPECT_EQ(es["settings"]["index"]["similarity"]["default"]["k1"], 0.9);
    const Json os = retrieval::elasticsearch_mapping("standard", 1.2f, 0.75f, 8, true);
    EXPECT_EQ(os["mappings"]["properties"]["embedding"]["type"], "knn_vector");
    EXPECT_EQ(os["mappings"]["properties"]["embedding"]["dimension"], 8);
    EXPECT_EQ(os["mappings"]["properties"]["embedding"]["method"]["space_type"], "cosinesimil");
    EXPECT_EQ(os["settings"]["index"]["knn"], true);
    EXPECT_EQ(os["mappings"]["properties"]["text"]["analyzer"], "standard");
    const Json lexical = retrieval::elasticsearch_mapping("english", 0.9f, 0.4f, 0, true);
    EXPECT_FALSE(lexical["mappings"]["properties"].contains("embedding"));
    EXPECT_FALSE(lexical["settings"]["index"].contains("knn"));
    EXPECT_TRUE(retrieval::parse_export_target("opensearch:http://localhost:9200/chunks").opensearch);
    EXPECT_FALSE(retrieval::parse_export_target("elasticsearch:http://localhost:9200/chunks").opensearch);
}

TEST(ElasticsearchReplay, ErrorsNameTheCauseAndPartialResultsAreRefused) {
    ReplayServer es(load("search_errors.json"));
    const SearchOptions o = es_options(es.url(), 3);
    const auto engine = retrieval::make_elasticsearch_engine(o.external);
    try {
        (void)engine->search("anything", o);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::NotFound);
        EXPECT_NE(std::string(e.what()).find("index_not_found_exception: no such index [chunks]"), std::string::npos)
            << e.what();
    }
    try {
        (void)engine->search("anything", o);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Io);
        EXPECT_NE(std::string(e.what()).find("1 of 2 shards failed"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(es.problems().empty()) << joined(es.problems());
    // Nobody listening: a network error naming the URL.
    SearchOptions nowhere = es_options("http://127.0.0.1:1", 3);
    try {
        (void)retrieval::make_elasticsearch_engine(nowhere.external)->search("x", nowhere);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Io);
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
    }
}

TEST(ElasticsearchReplay, TargetsAndSpecsAreValidated) {
    const auto t = retrieval::parse_export_target("elasticsearch:http://user:pw@es.local:9200/chunks/");
    EXPECT_EQ(t.engine, "elasticsearch");
    EXPECT_EQ(t.url, "http://user:pw@es.local:9200");
    EXPECT_EQ(t.index, "chunks");
    EXPECT_EQ(retrieval::parse_export_target("opensearch:https://h/x").engine, "elasticsearch");
    EXPECT_EQ(retrieval::parse_export_target("xapian:/tmp/x").path, "/tmp/x");
    EXPECT_THROW((void)retrieval::parse_export_target("elasticsearch:http://host:9200"), Error);
    EXPECT_THROW((void)retrieval::parse_export_target("solr:http://h/x"), Error);
    EXPECT_THROW((void)PipelineConfig::from_spec(PipelineSpec::parse("elasticsearch(url=http://h:9200)")), Error);
    EXPECT_THROW((void)PipelineConfig::from_spec(
                     PipelineSpec::parse("elasticsearch(url=http://h:9200, index=x, knn_field=embedding)")),
                 Error);
    SearchOptions bad = es_options("http://h:9200", 3);
    bad.external.index = "Bad/Name";
    EXPECT_THROW((void)retrieval::make_elasticsearch_engine(bad.external), Error);
}

}  // namespace
}  // namespace winnow::testing
