// Soak test (label `slow`): `winnow serve` with the xlm-r fixture cross-encoder under mixed traffic on
// loopback for WINNOW_SOAK_SECONDS (default 60; the recorded run in tests/README.md used 600):
// valid, gzip-compressed, gzip bombs, chunked bodies over the limit, malformed JSON, smuggling
// headers, NUL bytes, large texts (tokenizer scratch) and NFKC-expanding texts, slow clients that
// trickle headers from another address, and connection floods past the per-address cap. Checks
// that /health answers throughout (probed every 250 ms from its own address), that the server's
// RSS stays under WINNOW_SOAK_RSS_MB (default 1200), that every answer has an expected status, and
// that SIGTERM still exits 0. Prints the counts, RSS and /health latencies.
#include <gtest/gtest.h>

#include "support/deflate.h"
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/ranges.h>

#include "raw_client.h"
#include "serve_process.h"

namespace winnow::testing {
namespace {

using Clock = std::chrono::steady_clock;

long env_long(const char* name, long fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atol(v) : fallback;
}

std::size_t rss_bytes(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            std::size_t kb = 0;
            in >> kb;
            return kb * 1024;
        }
        std::getline(in, key);
    }
    return 0;
}

using winnow::test::gzip;

std::string raw_post(const std::string& headers, const std::string& body) {
    return "POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers + "\r\n" + body;
}

struct Tally {
    std::mutex mutex;
    std::map<std::string, std::map<int, long>> statuses;  // kind -> status -> count
    long unexpected = 0;
    std::vector<std::string> examples;
    void add(const std::string& kind, int status, const std::set<int>& expected) {
        std::lock_guard lock(mutex);
        ++statuses[kind][status];
        if (!expected.count(status)) {
            ++unexpected;
            if (examples.size() < 10) examples.push_back(kind + " -> " + std::to_string(status));
        }
    }
};

TEST(Soak, MixedTrafficKeepsRssBoundedAndHealthAnswering) {
    ASSERT_TRUE(have_fixtures());
    const long seconds = env_long("WINNOW_SOAK_SECONDS", 60);
    const std::size_t rss_limit = static_cast<std::size_t>(env_long("WINNOW_SOAK_RSS_MB", 1200)) << 20;
    std::vector<std::string> args{"--port", "0", "--rerank-model", kModels + "/xlmr-ce", "--threads", "1",
                                  "--http-threads", "16", "--max-body-bytes", "4194304",
                                  "--max-connections-per-client", "8", "--header-timeout-ms", "2000",
                                  "--body-timeout-ms", "5000", "--timeout-ms", "20000"};
    // More `winnow serve` flags, space-separated (e.g. --no-memory-trim, to compare).
    if (const char* extra = std::getenv("WINNOW_SOAK_SERVE_ARGS")) {
        std::istringstream words(extra);
        for (std::string w; words >> w;) args.push_back(w);
    }
    ServeProcess p(args);
    ASSERT_GT(p.port(), 0);
    const int port = p.port();
    const std::size_t rss_start = rss_bytes(p.pid());

    // Bodies, made once.
    const std::string valid = R"({"query":"expense approval","documents":["Expenses over $500 need a manager",)"
                              R"("The cafeteria opens at 8","Approval comes from the board"]})";
    const std::string valid_gz = gzip(valid);
    const std::string bomb = gzip(R"({"query":"q","documents":[")" + std::string(256u << 20, 'a') + "\"]}");
    std::string big_doc;
    while (big_doc.size() < (900u << 10)) big_doc += "policy text about approvals and receipts ";
    const std::string big = R"({"query":"approval","documents":[")" + big_doc + "\"]}";
    std::string ligatures;
    for (int i = 0; i < 100000; ++i) ligatures += "\xEF\xB7\xBA";  // U+FDFA: 11 times longer once NFKC'ed
    const std::string nfkc = R"({"query":"q","documents":[")" + ligatures + "\"]}";
    std::string chunked;
    for (int i = 0; i < 80; ++i) chunked += fmt::format("{:x}\r\n", 65536) + std::string(65536, ' ') + "\r\n";
    chunked += "0\r\n\r\n";

    std::atomic<bool> stop{false};
    Tally tally;
    std::atomic<long> requests{0};

    // RSS sampler.
    std::atomic<std::size_t> rss_peak{rss_start};
    std::thread sampler([&] {
        while (!stop.load()) {
            const std::size_t r = rss_bytes(p.pid());
            if (r > rss_peak.load()) rss_peak.store(r);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
    // /health prober from its own address (127.0.0.9), so the per-address cap never applies to it.
    std::vector<double> health_ms;
    long health_failures = 0;
    std::thread prober([&] {
        while (!stop.load()) {
            const auto t0 = Clock::now();
            RawClient c(port, "127.0.0.9");
            c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            c.read_response(std::chrono::seconds(10));
            const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
            if (c.status() == 200) health_ms.push_back(ms);
            else ++health_failures;
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    });
    // Mixed request workers from 127.0.0.1.
    auto worker = [&](int id) {
        for (long n = id; !stop.load(); n += 4) {
            auto c = httplib::Client("127.0.0.1", port);
            c.set_read_timeout(std::chrono::seconds(60));
            auto status_of = [](const httplib::Result& r) { return r ? r->status : -1; };
            switch (n % 9) {
            case 0: tally.add("valid", status_of(c.Post("/v1/rerank", valid, "application/json")), {200, 429}); break;
            case 1:
                tally.add("gzip", status_of(c.Post("/v1/rerank", {{"Content-Encoding", "gzip"}}, valid_gz, "application/json")),
                          {200, 429});
                break;
            case 2:
                tally.add("gzip_bomb", status_of(c.Post("/v1/rerank", {{"Content-Encoding", "gzip"}}, bomb, "application/json")),
                          {413});
                break;
            case 3: {
                RawClient r(port);
                auto sender = std::async(std::launch::async, [&] { return r.send(raw_post("Transfer-Encoding: chunked\r\n", chunked)); });
                r.read_response(std::chrono::seconds(30));
                sender.get();
                tally.add("chunked_over_limit", r.status(), {413});
                break;
            }
            case 4: tally.add("malformed_json", status_of(c.Post("/v1/rerank", "{\"query\": [", "application/json")), {400}); break;
            case 5: {
                RawClient r(port);
                r.send(raw_post("Content-Length: 2\r\nContent-Length: 2\r\n", "{}"));
                r.read_response(std::chrono::seconds(30));
                tally.add("duplicate_length", r.status(), {400});
                break;
            }
            case 6: tally.add("large_text", status_of(c.Post("/v1/rerank", big, "application/json")), {200, 429}); break;
            case 7: tally.add("nfkc_expansion", status_of(c.Post("/v1/rerank", nfkc, "application/json")), {413}); break;
            case 8:
                tally.add("nul_body", status_of(c.Post("/v1/rerank", valid + std::string("\0x", 2), "application/json")), {400});
                break;
            }
            ++requests;
        }
    };
    std::vector<std::thread> workers;
    for (int i = 0; i < 4; ++i) workers.emplace_back(worker, i);
    // Slow clients (127.0.0.2): six at a time, one header line every 300 ms until the server ends them.
    std::atomic<long> slow_ended{0};
    std::thread slow([&] {
        std::vector<std::unique_ptr<RawClient>> conns;
        for (int tick = 0; !stop.load(); ++tick) {
            while (conns.size() < 6) {
                conns.push_back(std::make_unique<RawClient>(port, "127.0.0.2"));
                conns.back()->send("GET /health HTTP/1.1\r\n");
            }
            for (auto it = conns.begin(); it != conns.end();) {
                if ((*it)->answered() || !(*it)->send(fmt::format("X-Slow-{}: 1\r\n", tick))) {
                    (*it)->read_response(std::chrono::seconds(5));
                    tally.add("slow_headers", (*it)->status(), {408, 503, 0});
                    ++slow_ended;
                    it = conns.erase(it);
                } else {
                    ++it;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
    });
    // Floods (127.0.0.3): 12 idle connections at once, past the cap of 8, every 2 s.
    std::thread flood([&] {
        while (!stop.load()) {
            std::vector<std::unique_ptr<RawClient>> conns;
            for (int i = 0; i < 12; ++i) conns.push_back(std::make_unique<RawClient>(port, "127.0.0.3"));
            for (auto& c : conns) c->send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
            for (auto& c : conns) {
                c->read_response(std::chrono::seconds(10));
                tally.add("flood", c->status(), {200, 503, 0});
            }
            std::this_thread::sleep_for(std::chrono::seconds(2));
        }
    });

    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop.store(true);
    for (auto& w : workers) w.join();
    slow.join();
    flood.join();
    prober.join();
    sampler.join();
    const std::size_t rss_end = rss_bytes(p.pid());
    // Idle for 3 s: the server returns freed memory after 1 s without a request in flight
    // (reported, not asserted: how much comes back depends on the allocator).
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const std::size_t rss_idle = rss_bytes(p.pid());
    const auto t0 = Clock::now();
    const int exit_status = p.terminate();
    const double stop_s = std::chrono::duration<double>(Clock::now() - t0).count();

    std::sort(health_ms.begin(), health_ms.end());
    auto pct = [&](double q) { return health_ms.empty() ? 0.0 : health_ms[static_cast<std::size_t>(q * (health_ms.size() - 1))]; };
    std::cout << fmt::format("soak: {} s, {} requests from the workers, {} slow clients ended by the server\n", seconds,
                             requests.load(), slow_ended.load());
    for (const auto& [kind, by_status] : tally.statuses) {
        std::string line = "  " + kind + ":";
        for (const auto& [status, n] : by_status) line += fmt::format(" {}x{}", n, status);
        std::cout << line << "\n";
    }
    std::cout << fmt::format("  RSS: start {:.0f} MiB, peak {:.0f} MiB, end {:.0f} MiB, idle 3 s later {:.0f} MiB "
                             "(limit {} MiB)\n",
                             rss_start / 1048576.0, rss_peak.load() / 1048576.0, rss_end / 1048576.0,
                             rss_idle / 1048576.0, rss_limit >> 20);
    std::cout << fmt::format("  /health: {} answered, {} failed; latency p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms\n",
                             health_ms.size(), health_failures, pct(0.5), pct(0.99),
                             health_ms.empty() ? 0.0 : health_ms.back());
    std::cout << fmt::format("  SIGTERM: exit {} after {:.2f} s\n", exit_status, stop_s);
    EXPECT_EQ(health_failures, 0);
    EXPECT_GT(health_ms.size(), 0u);
    EXPECT_LT(rss_peak.load(), rss_limit);
    EXPECT_EQ(tally.unexpected, 0) << fmt::format("{}", fmt::join(tally.examples, "; "));
    EXPECT_EQ(exit_status, 0);
}

}  // namespace
}  // namespace winnow::testing
