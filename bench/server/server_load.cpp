// Load benchmark of `POST /v1/rerank` on 127.0.0.1: concurrent keep-alive clients against an
// in-process winnow::Server, once with one request per model batch and once with cross-request
// batching, then beyond capacity with a small queue (429s expected, no other errors).
//
//   bench_server_load [--clients 16] [--seconds 8] [--docs 8] [--repeat 1] [--batch-tokens 2048]
//                     [--keep-alive 1] [--model DIR] [--search 0|1] [--precision auto|fp32|bf16|int8]
//                     [--varied 0|1]
//
// --varied 1: traffic as a server meets it instead: every request has 1-100 documents (seeded) of
// 10-200 words, 8 clients by default; after a warm-up round it reports pairs/s, p50/p99 latency and
// the GEMM primitives the kernels made per 1,000 requests (tensor/kernel_stats.h), which must stay at
// zero once every row-block size has been seen.
//
// --search 1: half the clients post /v1/search (BM25 k=--docs over 2000 generated documents >
// rerank > cutoff) instead of /v1/rerank; both kinds share the rerank scheduler.
//
// Without --model it runs the shared benchmark model (MiniLM-L6 shape, 1024-token vocabulary)
// with a generated WordPiece tokenizer over words w0..w1019, written to a temporary folder.
#include <httplib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_model.h"
#include "core/json.h"
#include "tensor/kernel_stats.h"
#include "tensor/threads.h"
#include "winnow/index.h"
#include "winnow/server.h"

using namespace winnow;
namespace fs = std::filesystem;

namespace {

bool keep_alive = true;

std::string make_bench_model() {
    return bench::make_bench_model(fs::path(WINNOW_SHARED_DIR) / "bench" / "minilm-l6-v1024",
                                   fs::temp_directory_path() / "winnow_bench_server_model");
}

std::string words(std::mt19937& rng, int n) {
    std::uniform_int_distribution<int> w(0, 1019);
    std::string s;
    for (int i = 0; i < n; ++i) {
        if (i > 0) s += ' ';
        s += fmt::format("w{}", w(rng));
    }
    return s;
}

struct Outcome {
    std::size_t ok = 0, too_many = 0, other = 0;
    std::size_t pairs = 0;  // documents of the answered /v1/rerank requests (when their counts are given)
    std::vector<double> latencies_ms;
    double seconds = 0;
    double mean_batch = 0;
    double model_pairs_per_s = 0;  // pairs / seconds inside the model's forward calls
    double cpu_seconds = 0;        // user + system CPU time of this process (server and clients)
};

double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

double metric_value(const std::string& text, const std::string& name) {
    const auto pos = text.find(name + " ");
    return pos == std::string::npos ? 0.0 : std::stod(text.substr(pos + name.size() + 1));
}

// With `search_bodies`, every other client posts /v1/search (its rerank stage queues on the same
// scheduler as /v1/rerank) instead of /v1/rerank.
Outcome run(std::shared_ptr<Reranker> reranker, ServerOptions options, int clients, double seconds,
            const std::vector<std::string>& bodies, const std::vector<std::string>& search_bodies = {},
            const std::vector<std::size_t>& docs_per_body = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.http_threads = static_cast<std::size_t>(clients) + 8;
    Server server(options, reranker, nullptr);
    const int port = server.bind();
    std::thread serving([&] { server.run(); });
    while (!server.running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));

    std::vector<Outcome> per(clients);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_seconds();
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            httplib::Client client("127.0.0.1", port);
            client.set_keep_alive(keep_alive);
            client.set_read_timeout(std::chrono::seconds(120));
            std::size_t i = static_cast<std::size_t>(c);
            while (!stop.load()) {
                const auto t0 = std::chrono::steady_clock::now();
                const bool search = !search_bodies.empty() && c % 2 == 1;
                const std::size_t body_index = i++ % (search ? search_bodies.size() : bodies.size());
                const auto& body = search ? search_bodies[body_index] : bodies[body_index];
                auto r = client.Post(search ? "/v1/search" : "/v1/rerank", body, "application/json");
                const double ms =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                if (r && r->status == 200) {
                    ++per[c].ok;
                    if (!search && !docs_per_body.empty()) per[c].pairs += docs_per_body[body_index];
                    per[c].latencies_ms.push_back(ms);
                } else if (r && r->status == 429) {
                    ++per[c].too_many;
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                } else {
                    ++per[c].other;
                    if (per[c].other <= 2) {
                        std::fprintf(stderr, "error: %s\n",
                                     r ? (std::to_string(r->status) + " " + r->body).c_str()
                                       : httplib::to_string(r.error()).c_str());
                    }
                }
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop.store(true);
    for (auto& t : threads) t.join();
    Outcome total;
    total.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total.cpu_seconds = process_cpu_seconds() - cpu_start;
    for (auto& o : per) {
        total.ok += o.ok;
        total.too_many += o.too_many;
        total.other += o.other;
        total.pairs += o.pairs;
        total.latencies_ms.insert(total.latencies_ms.end(), o.latencies_ms.begin(), o.latencies_ms.end());
    }
    const std::string m = server.metrics_text();
    const double batches = metric_value(m, "winnow_batch_size_count{model=\"rerank\"}");
    if (batches > 0) total.mean_batch = metric_value(m, "winnow_batch_size_sum{model=\"rerank\"}") / batches;
    const double model_s = metric_value(m, "winnow_batch_duration_seconds_sum{model=\"rerank\"}");
    if (model_s > 0) total.model_pairs_per_s = metric_value(m, "winnow_batch_size_sum{model=\"rerank\"}") / model_s;
    server.stop();
    serving.join();
    return total;
}

double load_average() {
    double load = 0;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &load) != 1) load = 0;
        std::fclose(f);
    }
    return load;
}

// `cpu ms/pair`: this process's CPU time (server, model and clients) per answered pair, which
// other processes' load disturbs far less than the wall-clock columns.
void print_row(const char* name, int clients, std::size_t docs, const Outcome& o) {
    const double pairs = double(o.ok * docs);
    std::printf("| %-38s | %3d | %8.1f | %8.1f | %8.1f | %8.1f | %6.1f | %9.1f | %8.2f | %6zu | %5zu | %5.1f |\n", name,
                clients, o.ok / o.seconds, pairs / o.seconds, percentile(o.latencies_ms, 0.5),
                percentile(o.latencies_ms, 0.99), o.mean_batch, o.model_pairs_per_s,
                pairs > 0 ? 1000.0 * o.cpu_seconds / pairs : 0.0, o.too_many, o.other, load_average());
    std::fflush(stdout);
}

// An index of generated documents (same words as the rerank requests) for the /v1/search rows.
std::string make_bench_index(std::mt19937& rng) {
    const fs::path dir = fs::temp_directory_path() / "winnow_bench_server_index";
    fs::remove_all(dir);
    auto index = Index::create(dir.string(), IndexConfig{});
    auto writer = index->writer();
    std::uniform_int_distribution<int> doc_len(30, 150);
    for (int d = 0; d < 2000; ++d) {
        IndexDocument doc;
        doc.id = fmt::format("d{}", d);
        doc.text = words(rng, doc_len(rng));
        writer->upsert(doc);
    }
    writer->finish();
    return dir.string();
}

// Requests of 1-100 documents of 10-200 words each, seeded: nearly every model batch has a row count
// the kernels have not seen before.
int run_varied(std::shared_ptr<Reranker> reranker, int clients, double seconds, std::size_t batch_tokens) {
    std::mt19937 rng(20261204);
    std::uniform_int_distribution<int> n_docs(1, 100), doc_len(10, 200);
    std::vector<std::string> bodies;
    std::size_t total_docs = 0;
    std::vector<std::size_t> docs_of;
    for (int b = 0; b < 512; ++b) {
        Json d = Json::array();
        const int n = n_docs(rng);
        for (int i = 0; i < n; ++i) d.push_back(words(rng, doc_len(rng)));
        total_docs += static_cast<std::size_t>(n);
        docs_of.push_back(static_cast<std::size_t>(n));
        bodies.push_back(Json{{"query", words(rng, 8)}, {"documents", d}, {"return_documents", false}}.dump());
    }
    ServerOptions options;
    options.max_queue_items = 100000;
    options.max_documents = 1000;
    options.batch_token_budget = batch_tokens;
    const double mean_docs = double(total_docs) / double(bodies.size());
    std::printf("varied traffic: %d clients, 1-100 docs of 10-200 words per request (mean %.1f), precision %s, "
                "batch budget %zu tokens, %.0f s per round\n\n",
                clients, mean_docs, std::string(precision_name(reranker->precision())).c_str(), batch_tokens, seconds);
    std::printf("| %-10s | %8s | %8s | %8s | %8s | %6s | %9s | %12s | %5s |\n", "round", "req/s", "pairs/s", "p50 ms",
                "p99 ms", "batch", "model p/s", "prims/1k req", "load");
    std::printf("|------------|----------|----------|----------|----------|--------|-----------|--------------|-------|\n");
    for (int round = 0; round < 3; ++round) {
        const auto before = kernel_stats().primitives_created;
        const Outcome o = run(reranker, options, clients, seconds, bodies, {}, docs_of);
        const auto made = kernel_stats().primitives_created - before;
        const double pairs = double(o.pairs);
        std::printf("| %-10s | %8.1f | %8.1f | %8.1f | %8.1f | %6.1f | %9.1f | %12.2f | %5.1f |\n",
                    round == 0 ? "warm-up" : fmt::format("measured {}", round).c_str(), o.ok / o.seconds,
                    pairs / o.seconds, percentile(o.latencies_ms, 0.5), percentile(o.latencies_ms, 0.99), o.mean_batch,
                    o.model_pairs_per_s, o.ok > 0 ? 1000.0 * double(made) / double(o.ok) : 0.0, load_average());
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // As `winnow serve` runs (OMP_WAIT_POLICY=active or passive in the environment to compare).
    use_bounded_openmp_wait(argv);
    int clients = 16;
    double seconds = 8;
    int docs = 8;
    int repeat = 1;
    std::size_t batch_tokens = 2048;
    bool search = false;
    bool varied = false;
    std::string precision = "auto";
    std::string model;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--clients")
            clients = std::stoi(argv[i + 1]);
        else if (a == "--seconds")
            seconds = std::stod(argv[i + 1]);
        else if (a == "--docs")
            docs = std::stoi(argv[i + 1]);
        else if (a == "--model")
            model = argv[i + 1];
        else if (a == "--repeat")
            repeat = std::stoi(argv[i + 1]);
        else if (a == "--batch-tokens")
            batch_tokens = std::stoul(argv[i + 1]);
        else if (a == "--keep-alive")
            keep_alive = std::string(argv[i + 1]) != "0";
        else if (a == "--search")
            search = std::string(argv[i + 1]) != "0";
        else if (a == "--varied")
            varied = std::string(argv[i + 1]) != "0";
        else if (a == "--precision")
            precision = argv[i + 1];
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (model.empty()) model = make_bench_model();
    ModelOptions model_options;
    model_options.precision = parse_precision(precision);
    auto reranker = Reranker::load(model, model_options);
    if (varied) return run_varied(reranker, clients, seconds, batch_tokens);

    std::mt19937 rng(42);
    std::uniform_int_distribution<int> doc_len(30, 150);
    std::vector<std::string> bodies;
    for (int b = 0; b < 64; ++b) {
        Json d = Json::array();
        for (int i = 0; i < docs; ++i) d.push_back(words(rng, doc_len(rng)));
        bodies.push_back(Json{{"query", words(rng, 10)}, {"documents", d}, {"return_documents", false}}.dump());
    }
    std::printf("model %s, %d docs per request, %.0f s per row, batch budget %zu tokens, %u hardware threads\n\n",
                model.c_str(), docs, seconds, batch_tokens, std::thread::hardware_concurrency());
    std::vector<std::string> search_bodies;
    ServerOptions base;
    if (search) {
        base.index_dir = make_bench_index(rng);
        base.pipeline = fmt::format("bm25(k={}) > rerank > cutoff(top_n=3)", docs);
        for (int b = 0; b < 64; ++b) search_bodies.push_back(Json{{"query", words(rng, 10)}}.dump());
        std::printf("half the clients post /v1/search (bm25 k=%d > rerank > cutoff) over 2000 generated documents\n\n",
                    docs);
    }
    std::printf("| %-38s | %3s | %8s | %8s | %8s | %8s | %6s | %9s | %8s | %6s | %5s | %5s |\n", "mode", "cli", "req/s",
                "pairs/s", "p50 ms", "p99 ms", "batch", "model p/s", "cpu ms/p", "429s", "errors", "load");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(40, '-').c_str(), "-----", "----------",
                "----------", "----------", "----------", "--------", "-----------", "----------", "--------",
                "-------", "-------");
    base.max_queue_items = 100000;
    base.batch_token_budget = batch_tokens;
    ServerOptions single = base;
    single.cross_request_batching = false;
    // Alternate the two modes so that load from elsewhere on the machine hits both alike; the
    // medians over the alternations are the figures to compare.
    std::vector<double> single_rate, batched_rate, single_cpu, batched_cpu;
    auto pairs_per_s = [&](const Outcome& o) { return double(o.ok) * docs / o.seconds; };
    auto cpu_ms = [&](const Outcome& o) { return o.ok > 0 ? 1000.0 * o.cpu_seconds / (double(o.ok) * docs) : 0.0; };
    for (int r = 0; r < repeat; ++r) {
        const Outcome a = run(reranker, single, clients, seconds, bodies, search_bodies);
        print_row("one request per batch", clients, docs, a);
        const Outcome b = run(reranker, base, clients, seconds, bodies, search_bodies);
        print_row("cross-request batching", clients, docs, b);
        single_rate.push_back(pairs_per_s(a));
        batched_rate.push_back(pairs_per_s(b));
        single_cpu.push_back(cpu_ms(a));
        batched_cpu.push_back(cpu_ms(b));
    }
    const double rs = percentile(single_rate, 0.5), rb = percentile(batched_rate, 0.5);
    std::printf(
        "\nmedian over %d alternations: pairs/s %.1f one request per batch, %.1f batching (%.2fx); "
        "cpu ms/pair %.2f vs %.2f\n\n",
        repeat, rs, rb, rs > 0 ? rb / rs : 0.0, percentile(single_cpu, 0.5), percentile(batched_cpu, 0.5));
    ServerOptions small = base;
    small.max_queue_items = static_cast<std::size_t>(docs) * 4;
    print_row("batching, queue 4 requests, 4x clients", clients * 4, docs,
              run(reranker, small, clients * 4, seconds, bodies, search_bodies));
    return 0;
}
