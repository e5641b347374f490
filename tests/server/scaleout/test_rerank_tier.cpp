// The remote rerank tier end to end: three real `winnow serve` replicas with the fixture
// cross-encoder behind haproxy (least connections) on loopback; `rerank(url=...)` scores through
// the balancer while one replica is killed mid-load. No request may fail, and every score and
// ranking must equal one local reranker's. Skips when haproxy is not installed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/json.h"
#include "server/http/serve_process.h"
#include "server/http/server_fixture.h"
#include "support/loopback.h"
#include "support/run_command.h"
#include "winnow/pipeline.h"
#include "winnow/reranker.h"

namespace winnow::testing {
namespace {

std::string find_haproxy() {
    for (const char* p : {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"}) {
        if (std::filesystem::exists(p)) return p;
    }
    return "";
}

// haproxy in the foreground (-db) with a least-connections pool of the given replicas: a request
// whose replica fails before answering is redispatched, and /health checks take a dead replica
// out of rotation.
class Haproxy {
public:
    Haproxy(const std::string& binary, const std::filesystem::path& dir, const std::vector<int>& replicas) {
        port_ = free_loopback_port();
        const auto cfg = dir / "haproxy.cfg";
        std::ofstream out(cfg);
        out << "global\n    maxconn 512\n"
               "defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n"
               "    retries 3\n    option redispatch 1\n    retry-on all-retryable-errors\n"
               "frontend rerank\n    bind 127.0.0.1:"
            << port_ << "\n    default_backend pool\n"
            << "backend pool\n    balance leastconn\n    option httpchk GET /health\n";
        for (std::size_t i = 0; i < replicas.size(); ++i) {
            out << "    server r" << i << " 127.0.0.1:" << replicas[i] << " check inter 100ms fall 1 rise 1\n";
        }
        out.close();
        pid_ = fork();
        if (pid_ == 0) {
            const std::string c = cfg.string();
            execl(binary.c_str(), binary.c_str(), "-db", "-q", "-f", c.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
    }
    ~Haproxy() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    pid_t pid_ = -1;
    int port_ = 0;
};

const std::vector<std::string> kQueries = {"expense approval",       "cafeteria hours",        "meeting minutes",
                                           "reimbursement receipts", "who approves purchases", "board secretary"};
const std::vector<std::string> kTexts = {"Expenses over $500 require written approval from a department manager.",
                                         "The cafeteria opens at 8am on weekdays.",
                                         "The March meeting minutes were approved by the board secretary.",
                                         "Reimbursement needs receipts attached to the claim.",
                                         "Parking permits are issued by the facilities office.",
                                         "Purchases above the limit go to the finance committee."};

std::vector<Candidate> candidates_for(std::size_t q) {
    // A different order per query, so a reply mapped to the wrong request would show.
    std::vector<Candidate> out;
    for (std::size_t i = 0; i < kTexts.size(); ++i) {
        Candidate c;
        c.chunk_id = static_cast<std::int64_t>((i + q) % kTexts.size());
        c.text = kTexts[c.chunk_id];
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<std::size_t> ranking(const std::vector<RerankScore>& scores) {
    std::vector<std::size_t> order(scores.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return scores[a].raw > scores[b].raw; });
    return order;
}

TEST(RerankTier, ThreeReplicasBehindHaproxySurviveAKilledReplica) {
    if (!have_fixtures()) GTEST_SKIP() << "winnow binary or fixture models missing";
    const std::string haproxy = find_haproxy();
    if (haproxy.empty()) GTEST_SKIP() << "haproxy is not installed (apt-get install haproxy; scripts/setup does)";

    const auto dir = std::filesystem::path(::testing::TempDir()) / ("winnow_rerank_tier_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::vector<std::string> args = {
        "--host",      "127.0.0.1", "--port",    "0", "--rerank-model", kModels + "/bert-ce",
        "--precision", "fp32",      "--threads", "1"};
    std::vector<std::unique_ptr<ServeProcess>> replicas;
    std::vector<int> ports;
    std::vector<std::string> replica_urls;
    for (int i = 0; i < 3; ++i) {
        replicas.push_back(std::make_unique<ServeProcess>(args));
        ASSERT_GT(replicas.back()->port(), 0) << "replica " << i << " did not start";
        ports.push_back(replicas.back()->port());
        replica_urls.push_back("http://127.0.0.1:" + std::to_string(ports.back()));
    }
    Haproxy balancer(haproxy, dir, ports);
    ASSERT_GT(balancer.port(), 0);
    // Ready when the frontend answers and every replica passed its first health check.
    ASSERT_TRUE(eventually([&] {
        httplib::Client c("127.0.0.1", balancer.port());
        auto r = c.Get("/health");
        return r && r->status == 200;
    })) << "haproxy did not come up on port "
        << balancer.port();

    // The pool's health view: all three up.
    for (const auto& h : remote_pool_health(replica_urls)) EXPECT_TRUE(h.up) << h.url << ": " << h.detail;

    // The reference: one local reranker, same model and precision.
    ModelOptions options;
    options.precision = Precision::Fp32;
    options.n_threads = 1;
    const auto local = make_cross_encoder_scorer(Reranker::load(kModels + "/bert-ce", options));
    RerankConfig config;
    config.enabled = true;
    std::vector<std::vector<RerankScore>> want;
    for (std::size_t q = 0; q < kQueries.size(); ++q)
        want.push_back(local->score(kQueries[q], candidates_for(q), config));

    RerankConfig remote_config = config;
    remote_config.urls = {balancer.url()};
    remote_config.dialect = RemoteDialect::Tei;
    remote_config.deadline_ms = 60000;
    remote_config.attempts = 5;
    const auto remote = make_remote_scorer(remote_config);

    // Load: 4 workers send 48 requests. Once 8 are answered, no new request starts until
    // replica 0 has been killed, so the kill falls amid the load (some requests may be in
    // flight on it) and most requests come after it.
    constexpr std::size_t kRequests = 48;
    constexpr std::size_t kKillAfter = 8;
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> answered{0};
    std::atomic<std::size_t> answered_after_kill{0};
    std::mutex mutex;
    std::condition_variable changed;
    bool killed = false;
    std::vector<std::string> failures;
    std::vector<std::vector<RerankScore>> got(kRequests);
    auto worker = [&] {
        while (true) {
            {
                std::unique_lock<std::mutex> lock(mutex);
                changed.wait(lock, [&] { return killed || answered.load() < kKillAfter; });
            }
            const std::size_t i = next.fetch_add(1);
            if (i >= kRequests) return;
            const bool after = [&] {
                std::lock_guard<std::mutex> lock(mutex);
                return killed;
            }();
            try {
                got[i] = remote->score(kQueries[i % kQueries.size()], candidates_for(i % kQueries.size()), config);
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(mutex);
                failures.push_back("request " + std::to_string(i) + ": " + e.what());
            }
            if (after) answered_after_kill.fetch_add(1);
            answered.fetch_add(1);
            changed.notify_all();
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker);
    {
        std::unique_lock<std::mutex> lock(mutex);
        ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(120), [&] { return answered.load() >= kKillAfter; }));
    }
    replicas[0].reset();  // SIGKILL, reaped
    {
        std::lock_guard<std::mutex> lock(mutex);
        killed = true;
    }
    changed.notify_all();
    for (auto& t : threads) t.join();

    EXPECT_TRUE(failures.empty()) << failures.size() << " requests failed, first: " << failures.front();
    EXPECT_GE(answered_after_kill.load(), kRequests - kKillAfter - 4);
    for (std::size_t i = 0; i < kRequests; ++i) {
        const auto& w = want[i % kQueries.size()];
        ASSERT_EQ(got[i].size(), w.size()) << "request " << i;
        for (std::size_t j = 0; j < w.size(); ++j)
            EXPECT_NEAR(got[i][j].raw, w[j].raw, 1e-4) << "request " << i << " text " << j;
        EXPECT_EQ(ranking(got[i]), ranking(w)) << "request " << i;
    }

    // The health view now shows the dead replica and the two live ones.
    const auto health = remote_pool_health(replica_urls);
    ASSERT_EQ(health.size(), 3u);
    EXPECT_FALSE(health[0].up);
    EXPECT_EQ(health[0].http_status, 0);
    EXPECT_FALSE(health[0].detail.empty());
    EXPECT_TRUE(health[1].up) << health[1].detail;
    EXPECT_TRUE(health[2].up) << health[2].detail;

    // Without a balancer: the scorer itself rotates over the replica URLs, and an attempt that
    // meets the dead one goes on to the next.
    RerankConfig direct_config = remote_config;
    direct_config.urls = replica_urls;
    direct_config.attempts = 2;
    const auto direct = make_remote_scorer(direct_config);
    for (std::size_t i = 0; i < 2 * replica_urls.size(); ++i) {
        const std::size_t q = i % kQueries.size();
        std::vector<RerankScore> scores;
        ASSERT_NO_THROW(scores = direct->score(kQueries[q], candidates_for(q), config)) << "direct request " << i;
        ASSERT_EQ(scores.size(), want[q].size());
        for (std::size_t j = 0; j < scores.size(); ++j) EXPECT_NEAR(scores[j].raw, want[q][j].raw, 1e-4);
    }
    direct_config.attempts = 1;  // the same pool without retries loses the requests that start on the dead replica
    const auto no_retry = make_remote_scorer(direct_config);
    std::size_t lost = 0;
    for (std::size_t i = 0; i < replica_urls.size(); ++i) {
        try {
            (void)no_retry->score(kQueries[0], candidates_for(0), config);
        } catch (const Error& e) {
            ++lost;
            EXPECT_NE(std::string(e.what()).find(replica_urls[0]), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(lost, 1u);

    // The Cohere dialect maps relevance_score back to the logit.
    remote_config.dialect = RemoteDialect::Cohere;
    const auto cohere = make_remote_scorer(remote_config)->score(kQueries[0], candidates_for(0), config);
    ASSERT_EQ(cohere.size(), want[0].size());
    for (std::size_t j = 0; j < cohere.size(); ++j) EXPECT_NEAR(cohere[j].raw, want[0][j].raw, 1e-3) << j;
    std::filesystem::remove_all(dir);
}

std::map<std::int64_t, double> raw_by_chunk(const Json& results) {
    std::map<std::int64_t, double> out;
    for (const auto& r : results)
        out[r.at("chunk_id").get<std::int64_t>()] = r.at("rerank").at("raw_score").get<double>();
    return out;
}

std::vector<std::int64_t> chunk_order(const Json& results) {
    std::vector<std::int64_t> out;
    for (const auto& r : results) out.push_back(r.at("chunk_id").get<std::int64_t>());
    return out;
}

// The stage from the CLI (`winnow search --pipeline`) and the server (`/v1/search` of a search
// node whose --pipeline names the tier): the same results as the local model.
TEST(RerankTier, CliAndServerSearchThroughTheTier) {
    if (!have_fixtures()) GTEST_SKIP() << "winnow binary or fixture models missing";
    const std::string index = make_index("rerank_tier");
    ASSERT_FALSE(index.empty());
    ServeProcess replica(
        {"--host", "127.0.0.1", "--port", "0", "--rerank-model", kModels + "/bert-ce", "--precision", "fp32"});
    ASSERT_GT(replica.port(), 0);
    const std::string url = "http://127.0.0.1:" + std::to_string(replica.port());
    const std::string query = "approval of expenses, cafeteria and minutes";
    const std::string local_spec = "bm25(k=3) > rerank(model=" + kModels + "/bert-ce, precision=fp32)";
    const std::string remote_spec = "bm25(k=3) > rerank(url=" + url + ", deadline_ms=60000)";
    auto search = [&](const std::string& spec) {
        const auto r = run_command(kBinary + " search --index " + index + " --query '" + query + "' --pipeline '" +
                                   spec + "' --json 2>/dev/null");
        EXPECT_EQ(r.status, 0) << spec;
        Json lines = Json::array();
        std::istringstream in(r.out);
        for (std::string line; std::getline(in, line);) {
            if (!line.empty()) lines.push_back(Json::parse(line));
        }
        return lines;
    };
    const Json local = search(local_spec);
    const Json remote = search(remote_spec);
    ASSERT_EQ(local.size(), 3u) << local.dump();
    ASSERT_EQ(remote.size(), local.size()) << remote.dump();
    EXPECT_EQ(chunk_order(remote), chunk_order(local));
    const auto want = raw_by_chunk(local);
    for (const auto& [chunk, raw] : raw_by_chunk(remote)) EXPECT_NEAR(raw, want.at(chunk), 1e-4) << chunk;

    // A search node without a model of its own: its rerank stage is the tier.
    ServeProcess node({"--host", "127.0.0.1", "--port", "0", "--index", index, "--pipeline", remote_spec});
    ASSERT_GT(node.port(), 0);
    auto client = node.client();
    auto res = client.Post("/v1/search", Json{{"query", query}}.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const Json body = Json::parse(res->body);
    EXPECT_EQ(chunk_order(body["results"]), chunk_order(local));
    for (const auto& [chunk, raw] : raw_by_chunk(body["results"])) EXPECT_NEAR(raw, want.at(chunk), 1e-4) << chunk;
    EXPECT_NE(body["scorer"].get<std::string>().find(url), std::string::npos) << body["scorer"];
    // The node's /health counts the tier's URLs that answer.
    auto health = client.Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(Json::parse(health->body)["rerank_tier"], (Json{{"up", 1}, {"urls", 1}})) << health->body;
    // A request may not point the node at another host.
    res =
        client.Post("/v1/search", Json{{"query", query}, {"pipeline", "bm25 > rerank(url=http://127.0.0.1:1)"}}.dump(),
                    "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 422) << res->body;
    // The replica gone: the node answers with the tier's error, not a crash.
    ASSERT_EQ(replica.terminate(), 0);
    res = client.Post("/v1/search",
                      Json{{"query", query}, {"pipeline", "bm25 > rerank(deadline_ms=2000, attempts=2)"}}.dump(),
                      "application/json");
    ASSERT_TRUE(res);
    EXPECT_GE(res->status, 500) << res->body;
    EXPECT_NE(res->body.find(url), std::string::npos) << res->body;
    health = client.Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(Json::parse(health->body)["rerank_tier"], (Json{{"up", 0}, {"urls", 1}})) << health->body;
}

// The sample config shipped in deploy/ is one haproxy accepts.
TEST(RerankTier, ShippedHaproxyConfigIsValid) {
    const std::string haproxy = find_haproxy();
    if (haproxy.empty()) GTEST_SKIP() << "haproxy is not installed (apt-get install haproxy; scripts/setup does)";
    const auto r = run_command(haproxy + " -c -q -f " + std::string(WINNOW_SOURCE_DIR) + "/deploy/haproxy.cfg 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
}

// A pool where every replica is gone: the deadline bounds the call and the error names the URLs.
TEST(RerankTier, DeadPoolFailsWithinTheDeadline) {
    RerankConfig config;
    config.enabled = true;
    const int dead = free_loopback_port();  // nothing listens there
    config.urls = {"http://127.0.0.1:" + std::to_string(dead)};
    config.attempts = 3;
    config.deadline_ms = 20000;
    const auto scorer = make_remote_scorer(config);
    try {
        (void)scorer->score("q", candidates_for(0), config);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Io) << e.what();
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(dead)), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("3 attempt"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(scorer->score("q", {}, config).empty());
    // Many attempts, a short deadline: the deadline ends the retries (their pauses grow from 25 ms).
    config.attempts = 1000;
    config.deadline_ms = 200;
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)make_remote_scorer(config)->score("q", candidates_for(0), config);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Timeout) << e.what();
        EXPECT_NE(std::string(e.what()).find("deadline_ms=200"), std::string::npos) << e.what();
    }
    // The bound is generous (a loaded host): the point is that 1000 attempts did not all run.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

// The spec keys: url takes a list, the remote keys need url, and url excludes a local model.
TEST(RerankTier, SpecKeys) {
    auto c = PipelineConfig::from_spec(PipelineSpec::parse(
        "bm25(k=10) > rerank(url=\"http://a:1, http://b:2/\", dialect=cohere, deadline_ms=500, attempts=2)"));
    EXPECT_EQ(c.rerank.urls, (std::vector<std::string>{"http://a:1", "http://b:2"}));
    EXPECT_EQ(c.rerank.dialect, RemoteDialect::Cohere);
    EXPECT_EQ(c.rerank.deadline_ms, 500u);
    EXPECT_EQ(c.rerank.attempts, 2u);
    const auto spec = PipelineSpec::parse("bm25 > rerank(url=http://h:8080)");
    EXPECT_EQ(PipelineSpec::parse(spec.to_string()).to_string(), spec.to_string());
    auto compile = [](const char* text) { return PipelineConfig::from_spec(PipelineSpec::parse(text)); };
    EXPECT_THROW(compile("bm25 > rerank(url=ftp://x)"), Error);
    EXPECT_THROW(compile("bm25 > rerank(dialect=tei)"), Error);
    EXPECT_THROW(compile("bm25 > rerank(url=http://h:1, model=./ce)"), Error);
    EXPECT_THROW(compile("bm25 > rerank(url=http://h:1, long_doc=maxp)"), Error);
    EXPECT_THROW(compile("bm25 > rerank(url=http://h:1, attempts=0)"), Error);
    EXPECT_THROW(compile("bm25 > ltr(url=http://h:1)"), Error);
}

}  // namespace
}  // namespace winnow::testing
