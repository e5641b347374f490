// BM25 first-stage benchmark: index build throughput and top-k query latency.
//   bench_bm25                        NPL (11,429 docs, 93 queries): build docs/s (inverted index alone
//                                     and through `Index` with SQLite), top-10/100/1000 p50/p99
//   bench_bm25 --synthetic 1000000    adds a synthetic corpus of N passages drawn from the shared
//                                     collections' vocabulary (unigram frequencies), queried with the
//                                     NPL and SciFact queries (slow: minutes and several GiB)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json.h"
#include "ingest/corpus_reader.h"
#include "lexical/inverted_index.h"
#include "winnow/index.h"

using namespace winnow;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

const std::string kShared = WINNOW_SHARED_DIR;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<std::string> npl_queries() {
    std::ifstream in(kShared + "/data/ir/npl-vaswani/query-text.trec");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> out;
    std::size_t pos = 0;
    while ((pos = all.find("<title>", pos)) != std::string::npos) {
        const auto end = all.find("</title>", pos);
        out.push_back(all.substr(pos + 7, end - pos - 7));
        pos = end;
    }
    return out;
}

std::vector<std::string> scifact_queries() {
    std::ifstream in(kShared + "/data/ir/beir-scifact/queries.jsonl");
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) out.push_back(Json::parse(line).at("text").get<std::string>());
    return out;
}

struct Latency {
    double p50_ms = 0;
    double p99_ms = 0;
    double mean_ms = 0;
};

Latency measure(const lexical::InvertedIndex& index, const std::vector<std::string>& queries, std::size_t k,
                int repeats) {
    std::vector<double> ms;
    std::size_t sink = 0;
    for (const auto& q : queries) sink += index.search(q, k).size();  // warm-up
    for (int r = 0; r < repeats; ++r) {
        for (const auto& q : queries) {
            const auto t = Clock::now();
            sink += index.search(q, k).size();
            ms.push_back(seconds_since(t) * 1e3);
        }
    }
    std::sort(ms.begin(), ms.end());
    Latency l;
    l.p50_ms = ms[ms.size() / 2];
    l.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
    double total = 0;
    for (double v : ms) total += v;
    l.mean_ms = total / static_cast<double>(ms.size());
    if (sink == 0) std::printf("(no results)\n");
    return l;
}

void report(const char* corpus, const lexical::InvertedIndex& index, const std::vector<std::string>& queries,
            int repeats) {
    for (std::size_t k : {10u, 100u, 1000u}) {
        const auto l = measure(index, queries, k, repeats);
        std::printf("%-22s top-%-5zu p50 %8.3f ms  p99 %8.3f ms  mean %8.3f ms  (%zu queries x %d)\n", corpus, k,
                    l.p50_ms, l.p99_ms, l.mean_ms, queries.size(), repeats);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t synthetic = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--synthetic") == 0 && i + 1 < argc) synthetic = std::stoull(argv[++i]);
    }
    // ---- NPL: build throughput and latency.
    std::vector<ingest::CorpusDocument> docs;
    ingest::read_corpus(kShared + "/data/ir/npl-vaswani/corpus/doc-text.trec", ingest::CorpusFormat::Trec,
                        [&](ingest::CorpusDocument&& d) { docs.push_back(std::move(d)); });
    auto t = Clock::now();
    lexical::InvertedIndex::Builder builder;
    for (std::size_t i = 0; i < docs.size(); ++i) builder.add(static_cast<std::int64_t>(i + 1), docs[i].text);
    auto npl = builder.finish(0, "english");
    const double build_s = seconds_since(t);
    std::printf("NPL inverted index build: %zu docs in %.3f s = %.0f docs/s (%zu terms, %zu postings)\n", docs.size(),
                build_s, static_cast<double>(docs.size()) / build_s, npl.term_count(), npl.posting_count());

    const fs::path dir = fs::temp_directory_path() / ("winnow_bench_bm25_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    t = Clock::now();
    {
        auto index = Index::create(dir.string(), IndexConfig{});
        WriteOptions options;
        options.batch_documents = 2000;
        auto writer = index->writer(options);
        for (const auto& d : docs) writer->upsert(IndexDocument{d.id, d.title, d.text, d.metadata_json, d.source_path});
        writer->finish();
    }
    const double full_s = seconds_since(t);
    std::printf("NPL `Index` build (SQLite store + inverted index + save): %.3f s = %.0f docs/s\n", full_s,
                static_cast<double>(docs.size()) / full_s);
    fs::remove_all(dir);
    report("NPL (11,429 docs)", npl, npl_queries(), 20);

    if (synthetic == 0) return 0;
    // ---- Synthetic corpus: unigram model over the vocabulary of the shared collections.
    std::unordered_map<std::string, std::uint64_t> counts;
    auto count_text = [&](const std::string& text) {
        ingest::CorpusDocument d;
        std::string word;
        for (char c : text) {
            if (std::isalnum(static_cast<unsigned char>(c))) {
                word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            } else if (!word.empty()) {
                ++counts[word];
                word.clear();
            }
        }
        if (!word.empty()) ++counts[word];
    };
    for (const auto& d : docs) count_text(d.text);
    ingest::read_corpus(kShared + "/data/ir/beir-scifact", ingest::CorpusFormat::Beir,
                        [&](ingest::CorpusDocument&& d) { count_text(d.title + " " + d.text); });
    for (const char* smart : {"/data/ir/cranfield/cran.all.1400", "/data/ir/cisi/CISI.ALL", "/data/ir/cacm/cacm.all",
                              "/data/ir/medline/MED.ALL"}) {
        ingest::read_corpus(kShared + smart, ingest::CorpusFormat::Smart,
                            [&](ingest::CorpusDocument&& d) { count_text(d.title + " " + d.text); });
    }
    std::vector<std::string> vocab;
    std::vector<double> weights;
    for (const auto& [w, c] : counts) {
        vocab.push_back(w);
        weights.push_back(static_cast<double>(c));
    }
    std::printf("synthetic: vocabulary of %zu words from the shared collections\n", vocab.size());
    std::mt19937_64 rng(7);
    std::discrete_distribution<std::size_t> unigram(weights.begin(), weights.end());
    std::uniform_int_distribution<int> length(20, 100);  // passage lengths, mean 60 words
    t = Clock::now();
    lexical::InvertedIndex::Builder big;
    std::string text;
    for (std::size_t i = 0; i < synthetic; ++i) {
        text.clear();
        for (int n = length(rng); n > 0; --n) {
            text += vocab[unigram(rng)];
            text.push_back(' ');
        }
        big.add(static_cast<std::int64_t>(i + 1), text);
    }
    auto index = big.finish(0, "english");
    const double big_s = seconds_since(t);
    std::printf("synthetic build: %zu passages in %.1f s = %.0f docs/s (generation included; %zu terms, %zu postings)\n",
                synthetic, big_s, static_cast<double>(synthetic) / big_s, index.term_count(), index.posting_count());
    auto queries = npl_queries();
    const auto sf = scifact_queries();
    queries.insert(queries.end(), sf.begin(), sf.begin() + std::min<std::size_t>(sf.size(), 200));
    report("synthetic", index, queries, 3);
    return 0;
}
