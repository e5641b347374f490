// Black-box tests of the real `winnow serve` binary on 127.0.0.1 with the tiny fixture models:
// reranking and embedding over HTTP reproduce the reference scores and vectors, and SIGTERM
// stops the server gracefully (in-flight request answered, exit 0).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "core/json.h"
#include "serve_process.h"
#include "server_fixture.h"
#include "support/run_command.h"

namespace winnow::testing {
namespace {

// Waits until the server process has received at least `n` requests other than GET /metrics:
// those inside a handler plus those answered (a request leaves the first count before it enters
// the second, so none is counted twice).
bool wait_arrived(const ServeProcess& p, double n) {
    return eventually([&] {
        auto c = p.client();
        auto r = c.Get("/metrics");
        if (!r) return false;
        double arrived = metric(r->body, "winnow_requests_in_flight");
        std::istringstream lines(r->body);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("winnow_http_requests_total{", 0) == 0 && line.find("/metrics") == std::string::npos) {
                arrived += std::stod(line.substr(line.rfind(' ') + 1));
            }
        }
        return arrived >= n;
    });
}

TEST(ServeBinary, RerankDialectsMatchReferenceScores) {
    ASSERT_TRUE(have_fixtures()) << kBinary << " or " << kModels;
    const Json expected = load_json_file(kModels + "/bert-ce/expected_scores.json");
    const auto max_length = expected["max_length"].get<int>();
    // fp32: compared with the fp32 reference scores (auto may pick bf16 on this CPU).
    ServeProcess p({"--port", "0", "--rerank-model", kModels + "/bert-ce", "--precision", "fp32", "--max-length",
                    std::to_string(max_length)});
    ASSERT_GT(p.port(), 0);
    // Group the reference pairs by query; each group is one request.
    std::map<std::string, std::vector<std::size_t>> by_query;
    for (std::size_t i = 0; i < expected["pairs"].size(); ++i) by_query[expected["pairs"][i][0]].push_back(i);
    auto c = p.client();
    for (const auto& [query, rows] : by_query) {
        Json docs = Json::array();
        for (auto i : rows) docs.push_back(expected["pairs"][i][1]);
        auto r = c.Post("/v2/rerank", Json{{"query", query}, {"documents", docs}}.dump(), "application/json");
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 200) << r->body;
        const Json j = Json::parse(r->body);
        ASSERT_EQ(j["results"].size(), rows.size());
        float previous = 2.0f;
        for (const auto& res : j["results"]) {
            const std::size_t row = rows[res["index"].get<std::size_t>()];
            const float score = res["relevance_score"].get<float>();
            EXPECT_NEAR(score, expected["st_predict_default"][row].get<float>(), 1e-4) << query;
            EXPECT_LE(score, previous);
            previous = score;
        }
        auto tei = c.Post("/rerank", Json{{"query", query}, {"texts", docs}, {"raw_scores", true}, {"truncate", true}}.dump(),
                          "application/json");
        ASSERT_EQ(tei->status, 200) << tei->body;
        for (const auto& res : Json::parse(tei->body)) {
            const std::size_t row = rows[res["index"].get<std::size_t>()];
            EXPECT_NEAR(res["score"].get<float>(), expected["logits"][row].get<float>(), 1e-4);
        }
    }
    EXPECT_EQ(p.terminate(), 0);
}

TEST(ServeBinary, EmbeddingsMatchReferenceVectors) {
    ASSERT_TRUE(have_fixtures());
    const Json expected = load_json_file(kModels + "/bert-embed-mean/expected_embeddings.json");
    ServeProcess p({"--port", "0", "--embed-model", kModels + "/bert-embed-mean", "--precision", "fp32"});
    ASSERT_GT(p.port(), 0);
    auto c = p.client();
    auto r = c.Post("/v1/embeddings", Json{{"input", expected["texts"]}}.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json j = Json::parse(r->body);
    ASSERT_EQ(j["data"].size(), expected["texts"].size());
    for (std::size_t i = 0; i < j["data"].size(); ++i) {
        const auto got = j["data"][i]["embedding"].get<std::vector<double>>();
        const auto want = expected["embeddings"][i].get<std::vector<double>>();
        ASSERT_EQ(got.size(), want.size());
        double dot = 0, ng = 0, nw = 0;
        for (std::size_t d = 0; d < got.size(); ++d) {
            dot += got[d] * want[d];
            ng += got[d] * got[d];
            nw += want[d] * want[d];
        }
        EXPECT_GE(dot / std::sqrt(ng * nw), 0.99999) << "text " << i;
    }
    auto tei = c.Post("/embed", Json{{"inputs", expected["texts"][2]}}.dump(), "application/json");
    ASSERT_EQ(tei->status, 200) << tei->body;
    EXPECT_EQ(Json::parse(tei->body)[0].size(), expected["embeddings"][2].size());
    EXPECT_EQ(p.terminate(), 0);
}

TEST(ServeBinary, SigtermFinishesInFlightRequestsAndExitsZero) {
    ASSERT_TRUE(have_fixtures());
    ServeProcess p({"--port", "0", "--rerank-model", kModels + "/bert-ce", "--threads", "1"});
    ASSERT_GT(p.port(), 0);
    // Enough pairs that the request is still running when the signal arrives.
    Json docs = Json::array();
    for (int i = 0; i < 400; ++i) docs.push_back("Expenses over $500 require written approval " + std::to_string(i));
    auto in_flight = std::async(std::launch::async, [&] {
        auto c = p.client();
        auto r = c.Post("/v1/rerank", Json{{"query", "approval criteria"}, {"documents", docs}}.dump(),
                        "application/json");
        return r ? r->status : -1;
    });
    ASSERT_TRUE(wait_arrived(p, 1));  // the request has arrived (it may finish before the signal)
    EXPECT_EQ(p.terminate(), 0);
    EXPECT_EQ(in_flight.get(), 200);
}

TEST(ServeBinary, SigtermFinishesInFlightSearchAndAskQueuedBehindRerank) {
    ASSERT_TRUE(have_fixtures());
    const std::string index = make_index("sigterm");
    ASSERT_FALSE(index.empty()) << "winnow index failed";
    ServeProcess p({"--port", "0", "--rerank-model", kModels + "/bert-ce", "--threads", "1", "--index", index,
                    "--pipeline", "bm25(k=10) > rerank > cutoff(top_n=2)"});
    ASSERT_GT(p.port(), 0);
    // A large rerank request keeps the model busy; search and ask pairs queue behind it.
    Json docs = Json::array();
    for (int i = 0; i < 1000; ++i) docs.push_back("Expenses over $500 require written approval " + std::to_string(i));
    auto status_of = [&](std::string path, Json body) {
        return std::async(std::launch::async, [&p, path, body] {
            auto c = p.client();
            auto r = c.Post(path.c_str(), body.dump(), "application/json");
            return r ? r->status : -1;
        });
    };
    auto rerank = status_of("/v1/rerank", Json{{"query", "approval criteria"}, {"documents", docs}});
    ASSERT_TRUE(wait_arrived(p, 1));
    auto search = status_of("/v1/search", Json{{"query", "expense approval"}});
    auto ask = status_of("/v1/ask", Json{{"query", "expense approval"}});
    ASSERT_TRUE(wait_arrived(p, 3));  // all three have arrived before the signal
    EXPECT_EQ(p.terminate(), 0);
    EXPECT_EQ(rerank.get(), 200);
    EXPECT_EQ(search.get(), 200);
    EXPECT_EQ(ask.get(), 200);
}

TEST(ServeBinary, BadArgumentsExit2AndAuthFileIsUsed) {
    ASSERT_TRUE(have_fixtures());
    EXPECT_EQ(WEXITSTATUS(std::system((kBinary + " serve --port 70000 > /dev/null 2>&1").c_str())), 2);
    EXPECT_EQ(WEXITSTATUS(std::system((kBinary + " serve --port 0 > /dev/null 2>&1").c_str())), 2);
    const std::string key_file = ::testing::TempDir() + "/winnow_keys.txt";
    std::ofstream(key_file) << "# keys\n  k-123  \n";
    ServeProcess p({"--port", "0", "--rerank-model", kModels + "/bert-ce", "--api-key-file", key_file});
    ASSERT_GT(p.port(), 0);
    auto c = p.client();
    const std::string body = Json{{"query", "q"}, {"documents", {"a"}}}.dump();
    EXPECT_EQ(c.Post("/v1/rerank", body, "application/json")->status, 401);
    EXPECT_EQ(c.Post("/v1/rerank", {{"Authorization", "Bearer k-123"}}, body, "application/json")->status, 200);
    EXPECT_EQ(p.terminate(), 0);
}

}  // namespace
}  // namespace winnow::testing

namespace winnow::testing {
namespace {

TEST(ServeBinary, SearchAskAndLabelsOverAnIndex) {
    ASSERT_TRUE(have_fixtures());
    const std::string index = make_index();
    ASSERT_FALSE(index.empty()) << "winnow index failed";
    const std::string qrels = index + "/ui.qrels";
    ServeProcess p({"--port", "0", "--index", index, "--rerank-model", kModels + "/bert-ce", "--labels", qrels,
                    "--pipeline", "bm25(k=10) > rerank > cutoff(top_n=2)"});
    ASSERT_GT(p.port(), 0);
    auto c = p.client();
    const std::string query = "expense approval reimbursement";
    auto r = c.Post("/v1/search", Json{{"query", query}, {"include_first_stage", true}}.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const Json j = Json::parse(r->body);
    ASSERT_GE(j["results"].size(), 1u);
    EXPECT_LE(j["results"].size(), 2u);
    EXPECT_TRUE(j["results"][0].contains("rerank"));
    EXPECT_TRUE(j["results"][0]["first_stage"].contains("rank"));
    EXPECT_GE(j["first_stage"].size(), j["results"].size());
    EXPECT_EQ(j["first_stage"][0]["rank"], 1);
    // Per-request knobs.
    auto one = c.Post("/v1/search", Json{{"query", query}, {"top_n", 1}}.dump(), "application/json");
    ASSERT_EQ(one->status, 200) << one->body;
    EXPECT_EQ(Json::parse(one->body)["results"].size(), 1u);
    auto bad = c.Post("/v1/search", Json{{"query", query}, {"pipeline", "bm25(k=oops)"}}.dump(), "application/json");
    EXPECT_EQ(bad->status, 422) << bad->body;
    EXPECT_NE(bad->body.find("pipeline"), std::string::npos);

    // Ask without an LLM: the packed context and its sources.
    auto ask = c.Post("/v1/ask", Json{{"query", query}}.dump(), "application/json");
    ASSERT_EQ(ask->status, 200) << ask->body;
    const Json ja = Json::parse(ask->body);
    EXPECT_TRUE(ja["answer"].is_null());
    EXPECT_GE(ja["sources"].size(), 1u);
    EXPECT_NE(ja["context"].get<std::string>().find("[1]"), std::string::npos);
    auto stream = c.Post("/v1/ask", Json{{"query", query}, {"stream", true}}.dump(), "application/json");
    ASSERT_EQ(stream->status, 200);
    EXPECT_NE(stream->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
    EXPECT_EQ(stream->body.rfind("event: sources\ndata: ", 0), 0u) << stream->body;
    EXPECT_NE(stream->body.find("event: done\n"), std::string::npos);

    // Labels from the web UI land in the qrels file.
    const std::string doc_id = j["results"][0]["doc_id"];
    auto label = c.Post("/v1/labels", Json{{"query", query}, {"doc_id", doc_id}, {"relevance", 1}}.dump(),
                        "application/json");
    ASSERT_EQ(label->status, 200) << label->body;
    const std::string qid = Json::parse(label->body)["query_id"];
    std::ifstream in(qrels);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, qid + " 0 " + doc_id + " 1");
    // ... and are read back per query (the UI shows them again after a reload), the last one winning.
    ASSERT_EQ(c.Post("/v1/labels", Json{{"query", query}, {"doc_id", doc_id}, {"relevance", 0}}.dump(),
                     "application/json")->status, 200);
    auto saved = c.Get("/v1/labels?query=" + httplib::detail::encode_query_param(query));
    ASSERT_EQ(saved->status, 200) << saved->body;
    EXPECT_EQ(Json::parse(saved->body)["query_id"], qid);
    EXPECT_EQ(Json::parse(saved->body)["labels"], Json({{doc_id, 0}}));
    EXPECT_EQ(Json::parse(c.Get("/v1/labels?query=other")->body)["labels"], Json::object());
    EXPECT_EQ(c.Get("/v1/labels")->status, 422);

    // What the server runs, for the UI's header.
    auto info = c.Get("/v1/info");
    ASSERT_EQ(info->status, 200) << info->body;
    const Json ji = Json::parse(info->body);
    EXPECT_EQ(ji["pipeline"], "bm25(k=10) > rerank > cutoff(top_n=2)");
    EXPECT_EQ(ji["rerank"]["kind"], "rerank");
    EXPECT_NE(ji["rerank"]["model"].get<std::string>().find("bert-ce"), std::string::npos);
    EXPECT_EQ(ji["models"]["rerank"], ji["rerank"]["model"]);
    EXPECT_EQ(ji["index"]["dir"], index);
    EXPECT_EQ(ji["index"]["chunks"], 3);

    // An empty result says why: no indexed term, or the cutoff removed every candidate.
    auto none = c.Post("/v1/search", Json{{"query", "zyzzyva quux"}}.dump(), "application/json");
    ASSERT_EQ(none->status, 200) << none->body;
    EXPECT_EQ(Json::parse(none->body)["empty"]["reason"], "no_indexed_terms");
    auto all_cut = c.Post("/v1/search", Json{{"query", query}, {"pipeline", "bm25(k=10) > cutoff(tokens=1, min_keep=0)"}}.dump(),
                          "application/json");
    ASSERT_EQ(all_cut->status, 200) << all_cut->body;
    EXPECT_EQ(Json::parse(all_cut->body)["empty"]["reason"], "all_cut");
    EXPECT_FALSE(j.contains("empty"));
    EXPECT_EQ(p.terminate(), 0);

    // A restarted server still knows the labels of its qrels file.
    ServeProcess again({"--port", "0", "--index", index, "--labels", qrels});
    ASSERT_GT(again.port(), 0);
    EXPECT_EQ(Json::parse(again.client().Get("/v1/labels?query_id=" + qid)->body)["labels"], Json({{doc_id, 0}}));
    EXPECT_EQ(Json::parse(again.client().Get("/v1/info")->body)["rerank"], nullptr);
    EXPECT_EQ(again.terminate(), 0);
}

// One serialiser: `winnow ask --json` prints the same object as /v1/ask over the same index and
// spec (no LLM), and `winnow search --pipeline --json` prints hits with the server's fields.
TEST(ServeBinary, CliAndServerPrintTheSameShape) {
    ASSERT_TRUE(have_fixtures());
    const std::string index = make_index("shape");
    ASSERT_FALSE(index.empty()) << "winnow index failed";
    const std::string spec = "bm25(k=10) > rerank(model=" + kModels + "/bert-ce) > cutoff(top_n=2)";
    ServeProcess p({"--port", "0", "--index", index, "--rerank-model", kModels + "/bert-ce", "--pipeline", spec});
    ASSERT_GT(p.port(), 0);
    auto c = p.client();
    const std::string query = "expense approval";
    auto keys = [](const Json& j) {
        std::vector<std::string> out;
        for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
        return out;
    };
    ::unsetenv("WINNOW_LLM_URL");
    auto ask = c.Post("/v1/ask", Json{{"query", query}}.dump(), "application/json");
    ASSERT_EQ(ask->status, 200) << ask->body;
    const Json server = Json::parse(ask->body);
    const auto cli = run_command("env -u WINNOW_LLM_URL " + kBinary + " ask --json --index " + index + " --pipeline '" +
                                 spec + "' '" + query + "' 2>/dev/null");
    ASSERT_EQ(cli.status, 0) << cli.out;
    const Json local = Json::parse(cli.out);
    EXPECT_EQ(keys(local), keys(server));
    ASSERT_FALSE(server["results"].empty());
    EXPECT_EQ(keys(local["results"][0]), keys(server["results"][0]));
    EXPECT_EQ(local["results"][0]["doc_id"], server["results"][0]["doc_id"]);
    EXPECT_EQ(local["results"][0]["reason"], server["results"][0]["reason"]);
    EXPECT_EQ(local["sources"], server["sources"]);
    EXPECT_EQ(local["prompt"], server["prompt"]);
    EXPECT_TRUE(server["answer"].is_null());

    auto search = c.Post("/v1/search", Json{{"query", query}}.dump(), "application/json");
    ASSERT_EQ(search->status, 200) << search->body;
    const auto lines = run_command(kBinary + " search --json --index " + index + " --query '" + query +
                                   "' --pipeline '" + spec + "' 2>/dev/null");
    ASSERT_EQ(lines.status, 0) << lines.out;
    const Json first = Json::parse(lines.out.substr(0, lines.out.find('\n')));
    EXPECT_EQ(keys(first), keys(Json::parse(search->body)["results"][0]));
    EXPECT_EQ(p.terminate(), 0);
}

}  // namespace
}  // namespace winnow::testing
