// BM25 at scale on the topical synthetic corpus (topical_corpus.h): one command, the size as an
// argument.
//   bench_lexical --chunks 1000000 [--seed 1] [--repeat 1] [--check 50] [--add 1000]
//                 [--save DIR] [--merge] [--write-corpus corpus.jsonl] [--shared ../shared]
//   bench_lexical --keep FILE ...   also keeps the built index in FILE (InvertedIndex::save)
//   bench_lexical --load FILE ...   searches a kept index instead of building one (--chunks is
//                                   then the index's; --add builds the added chunks after it)
//   bench_lexical --k 10,1000 ...   the depths measured (10, 100 and 1000 by default)
//   bench_lexical --pruning max_score,doc_blocks ...  measures (and checks) each pruning method
//                                   named (SegmentSearcher's Pruning; automatic by default)
//   bench_lexical --sources ...     indexes the ~46k real source documents themselves instead
//   bench_lexical --stats ...       also prints the postings' statistics: term frequencies, and how
//                                   close each block's score bound comes to its term's (block-max
//                                   pruning skips a block only when its bound is well below)
// Prints: build rate (the inverted index alone, one thread; the text generation is timed apart),
// index size in memory and on disk (--save), RSS, load time, top-10/100/1000 latency p50/p99/mean
// over every shared query (one thread; with --save, over the index loaded back from disk),
// exactness of the first --check queries against exhaustive scoring, and adding --add chunks as a
// second segment (build time, the two-segment snapshot's latency with as many chunks of the first
// segment deleted, and with --merge the merge time).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "lexical/inverted_index.h"
#include "lexical/live_docs.h"
#include "lexical/segment_searcher.h"
#include "topical_corpus.h"
#include "winnow/error.h"

using namespace winnow;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// VmRSS / VmHWM of this process in MiB.
std::pair<double, double> rss_mib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    double rss = 0, hwm = 0;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024.0;
        if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024.0;
    }
    return {rss, hwm};
}

// CPU time of this thread: on a shared machine it leaves out the time other processes held the core.
double thread_cpu_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Latency {
    double p50 = 0, p99 = 0, mean = 0;
    double cpu_p50 = 0, cpu_mean = 0;
    double mean_hits = 0;
};

// The pruning methods to measure and check (--pruning).
std::vector<lexical::Pruning> g_prunings{lexical::Pruning::automatic};

// "a,b,c" -> {"a", "b", "c"} (the --k and --pruning lists).
std::vector<std::string> split_list(const std::string& list) {
    std::vector<std::string> items;
    for (std::size_t p = 0; p < list.size();) {
        const std::size_t comma = std::min(list.find(',', p), list.size());
        items.push_back(list.substr(p, comma - p));
        p = comma + 1;
    }
    return items;
}

Latency measure(const lexical::SegmentSearcher& s, const std::vector<lexical::Bm25Query>& queries, std::size_t k,
                int repeat, lexical::Pruning pruning) {
    std::vector<double> ms;
    std::vector<double> cpu;
    std::size_t hits = 0;
    for (const auto& q : queries) hits += s.search(q, k, {}, pruning).size();  // warm-up
    for (int r = 0; r < repeat; ++r) {
        for (const auto& q : queries) {
            const auto t = Clock::now();
            const double c = thread_cpu_ms();
            const auto h = s.search(q, k, {}, pruning);
            cpu.push_back(thread_cpu_ms() - c);
            ms.push_back(seconds_since(t) * 1e3);
            hits += h.size();
        }
    }
    std::sort(ms.begin(), ms.end());
    Latency l;
    l.p50 = ms[ms.size() / 2];
    l.p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
    for (const double v : ms) l.mean += v;
    l.mean /= static_cast<double>(ms.size());
    std::sort(cpu.begin(), cpu.end());
    l.cpu_p50 = cpu[cpu.size() / 2];
    for (const double v : cpu) l.cpu_mean += v;
    l.cpu_mean /= static_cast<double>(cpu.size());
    l.mean_hits = static_cast<double>(hits) / static_cast<double>(queries.size() * (repeat + 1));
    return l;
}

void report(const char* what, const lexical::SegmentSearcher& s, const std::vector<lexical::Bm25Query>& queries,
            int repeat, const std::vector<std::size_t>& ks) {
    for (const auto pruning : g_prunings) for (const std::size_t k : ks) {
        const auto l = measure(s, queries, k, repeat, pruning);
        if (g_prunings.size() > 1) std::printf("[%s] ", std::string(lexical::pruning_name(pruning)).c_str());
        std::printf("%-24s top-%-5zu p50 %7.3f ms  p99 %7.3f ms  mean %7.3f ms | cpu p50 %7.3f mean %7.3f ms  "
                    "(%zu queries x %d, %.0f hits)\n",
                    what, k, l.p50, l.p99, l.mean, l.cpu_p50, l.cpu_mean, queries.size(), repeat, l.mean_hits);
        std::fflush(stdout);
    }
}

// The first `n` queries at k = 10 and 1000 against exhaustive scoring; returns the mismatches.
int check(const lexical::SegmentSearcher& s, const std::vector<lexical::Bm25Query>& queries, std::size_t n) {
    int bad = 0;
    for (std::size_t i = 0; i < std::min(n, queries.size()); ++i) {
        for (const auto pruning : g_prunings) for (const std::size_t k : {10u, 1000u}) {
            const auto fast = s.search(queries[i], k, {}, pruning);
            const auto slow = s.search_exhaustive(queries[i], k);
            bool same = fast.size() == slow.size();
            for (std::size_t j = 0; same && j < fast.size(); ++j) {
                same = fast[j].chunk_id == slow[j].chunk_id && fast[j].score == slow[j].score;
            }
            if (!same) {
                ++bad;
                std::printf("MISMATCH query %zu k=%zu\n", i, k);
            }
        }
    }
    return bad;
}

// Term frequencies over every posting, and for the terms of the queries, each block's score
// bound against its term's (BM25 with unit weight, the index's own statistics).
void print_stats(const lexical::InvertedIndex& ix, const std::vector<lexical::Bm25Query>& queries) {
    std::uint64_t postings = 0, tokens = 0, tf_count[4] = {0, 0, 0, 0};
    for (std::uint32_t t = 0; t < ix.term_count(); ++t) {
        for (auto c = ix.postings(t); c.doc() != lexical::InvertedIndex::PostingCursor::kEnd; c.next()) {
            const std::uint32_t tf = c.tf();
            ++postings;
            tokens += tf;
            ++tf_count[std::min<std::uint32_t>(tf, 4) - 1];
        }
    }
    const auto share = [&](std::uint64_t n) { return 100.0 * static_cast<double>(n) / static_cast<double>(postings); };
    std::printf(
        "stats: %.1f terms and %.1f distinct terms per chunk; tf 1 / 2 / 3 / 4+: %.1f / %.1f / %.1f / %.1f%% "
        "of postings, mean tf %.3f\n",
        static_cast<double>(tokens) / static_cast<double>(ix.doc_count()),
        static_cast<double>(postings) / static_cast<double>(ix.doc_count()), share(tf_count[0]), share(tf_count[1]),
        share(tf_count[2]), share(tf_count[3]), static_cast<double>(tokens) / static_cast<double>(postings));
    const auto& sim = ix.similarity(Bm25Params{});
    std::unordered_set<std::uint32_t> seen;
    std::vector<double> ratios;
    std::vector<double> term_ratios;  // the term's bound against a tf-1 posting of average length
    const float average = sim.norm_inverse(lexical::int_to_byte4(static_cast<std::uint32_t>(sim.avgdl())));
    for (const auto& q : queries) {
        for (const auto& term : q.terms) {
            const auto id = ix.term_id(term.term);
            if (id < 0 || !seen.insert(static_cast<std::uint32_t>(id)).second) continue;
            const auto tid = static_cast<std::uint32_t>(id);
            float bound = 0;
            for (auto i = ix.term_impacts_begin(tid); i < ix.term_impacts_end(tid); ++i) {
                bound = std::max(bound, lexical::Bm25Similarity::score(1.0f, static_cast<float>(ix.term_impact_tf(i)),
                                                                       sim.norm_inverse(ix.term_impact_norm(i))));
            }
            term_ratios.push_back(lexical::Bm25Similarity::score(1.0f, 1.0f, average) / bound);
            auto c = ix.postings(tid);
            for (auto b = c.shallow(0); b < c.end_block(); ++b) {
                float block = 0;
                for (auto i = c.impacts_begin(b); i < c.impacts_end(b); ++i) {
                    block = std::max(block, lexical::Bm25Similarity::score(1.0f, static_cast<float>(ix.impact_tf(i)),
                                                                           sim.norm_inverse(ix.impact_norm(i))));
                }
                ratios.push_back(block / bound);
            }
        }
    }
    if (ratios.empty()) return;
    std::sort(ratios.begin(), ratios.end());
    std::sort(term_ratios.begin(), term_ratios.end());
    const auto at_least = [&](double x) {
        const auto n = ratios.end() - std::lower_bound(ratios.begin(), ratios.end(), x);
        return 100.0 * static_cast<double>(n) / static_cast<double>(ratios.size());
    };
    std::printf(
        "stats: %zu query terms, %zu blocks; block bound / term bound: median %.2f, >= 0.9 in %.1f%%, "
        ">= 0.8 in %.1f%% of blocks; a tf-1 posting of average length scores %.2f of its term's bound "
        "(median term)\n",
        seen.size(), ratios.size(), ratios[ratios.size() / 2], at_least(0.9), at_least(0.8),
        term_ratios[term_ratios.size() / 2]);
}

std::shared_ptr<const lexical::InvertedIndex> build(const bench::TopicalCorpus& corpus, bool sources,
                                                    std::uint64_t seed, std::uint64_t first, std::uint64_t count,
                                                    double* build_s, double* generate_s, std::ofstream* corpus_out) {
    lexical::InvertedIndex::Builder builder;
    std::vector<std::string> batch(10000);
    double gen = 0, add = 0;
    for (std::uint64_t i = 0; i < count; i += batch.size()) {
        const std::uint64_t n = std::min<std::uint64_t>(batch.size(), count - i);
        auto t = Clock::now();
        for (std::uint64_t j = 0; j < n; ++j) {
            if (sources) {
                corpus.source(first + i + j, batch[j]);
            } else {
                corpus.passage(seed, first + i + j, batch[j]);
            }
        }
        if (corpus_out != nullptr) {
            for (std::uint64_t j = 0; j < n; ++j) {
                *corpus_out << "{\"_id\": \"p" << (first + i + j) << "\", \"title\": \"\", \"text\": \"" << batch[j]
                            << "\"}\n";
            }
        }
        gen += seconds_since(t);
        t = Clock::now();
        for (std::uint64_t j = 0; j < n; ++j) builder.add(static_cast<std::int64_t>(first + i + j + 1), batch[j]);
        add += seconds_since(t);
        if ((i / batch.size()) % 100 == 99) {
            std::printf("  ... %llu chunks (%.0f chunks/s)\n", static_cast<unsigned long long>(i + n),
                        static_cast<double>(i + n) / add);
            std::fflush(stdout);
        }
    }
    const auto t = Clock::now();
    auto index = std::make_shared<const lexical::InvertedIndex>(builder.finish(1, "english"));
    add += seconds_since(t);
    *build_s = add;
    *generate_s = gen;
    return index;
}

}  // namespace

int main(int argc, char** argv) try {
    std::uint64_t chunks = 100000, seed = 1, add_count = 1000;
    std::size_t check_n = 50;
    int repeat = 1;
    bool do_merge = false, stats = false, sources = false;
    std::vector<std::size_t> ks{10, 100, 1000};
    std::string save_dir, corpus_path, keep_path, load_path, shared = WINNOW_SHARED_DIR;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            WINNOW_CHECK(i + 1 < argc, Errc::InvalidArgument, "{} needs a value", a);
            return argv[++i];
        };
        if (a == "--chunks") {
            chunks = std::stoull(next());
        } else if (a == "--seed") {
            seed = std::stoull(next());
        } else if (a == "--repeat") {
            repeat = std::stoi(next());
            WINNOW_CHECK(repeat >= 1, Errc::InvalidArgument, "--repeat {}: at least 1", repeat);
        } else if (a == "--check") {
            check_n = std::stoull(next());
        } else if (a == "--add") {
            add_count = std::stoull(next());
        } else if (a == "--save") {
            save_dir = next();
        } else if (a == "--merge") {
            do_merge = true;
        } else if (a == "--write-corpus") {
            corpus_path = next();
        } else if (a == "--shared") {
            shared = next();
        } else if (a == "--keep") {
            keep_path = next();
        } else if (a == "--load") {
            load_path = next();
        } else if (a == "--k") {
            ks.clear();
            for (const auto& item : split_list(next())) ks.push_back(std::stoull(item));
        } else if (a == "--pruning") {
            g_prunings.clear();
            for (const auto& name : split_list(next())) {
                const auto all = {lexical::Pruning::automatic, lexical::Pruning::max_score, lexical::Pruning::doc_blocks,
                                  lexical::Pruning::doc_blocks_blockwise, lexical::Pruning::doc_blocks_termwise,
                                  lexical::Pruning::doc_blocks_banded};
                const auto it = std::find_if(all.begin(), all.end(), [&](auto p) { return name == lexical::pruning_name(p); });
                WINNOW_CHECK(it != all.end(), Errc::InvalidArgument,
                             "--pruning {}: automatic, max_score, doc_blocks, doc_blocks_blockwise, doc_blocks_termwise "
                             "or doc_blocks_banded",
                             name);
                g_prunings.push_back(*it);
            }
        } else if (a == "--sources") {
            sources = true;
        } else if (a == "--stats") {
            stats = true;
        } else {
            std::fprintf(stderr,
                         "usage: bench_lexical [--chunks N] [--seed S] [--repeat R] [--check Q] [--add N] "
                         "[--save DIR] [--merge] [--write-corpus FILE] [--shared DIR] [--keep FILE | --load FILE] "
                         "[--sources] [--stats] [--k 10,100,1000] [--pruning automatic,max_score,doc_blocks]\n");
            return 2;
        }
    }
    auto t = Clock::now();
    const bench::TopicalCorpus corpus(shared);
    std::printf("sources: %zu documents, %zu words, %zu queries from %zu collections (%.1f s)\n", corpus.source_count(),
                corpus.vocabulary_size(), corpus.queries().size(), corpus.collections().size(), seconds_since(t));

    std::shared_ptr<const lexical::InvertedIndex> index;
    if (!load_path.empty()) {
        t = Clock::now();
        auto loaded = lexical::InvertedIndex::load(load_path, 1, "english");
        WINNOW_CHECK(loaded.has_value(), Errc::NotFound, "{}: no index to load", load_path);
        index = std::make_shared<const lexical::InvertedIndex>(std::move(*loaded));
        chunks = index->doc_count();
        std::printf("loaded %s: %llu chunks, %zu postings in %.1f s\n", load_path.c_str(),
                    static_cast<unsigned long long>(chunks), index->posting_count(), seconds_since(t));
    } else {
        std::unique_ptr<std::ofstream> corpus_out;
        if (!corpus_path.empty()) corpus_out = std::make_unique<std::ofstream>(corpus_path);
        double build_s = 0, gen_s = 0;
        if (sources) chunks = corpus.source_count();
        index = build(corpus, sources, seed, 0, chunks, &build_s, &gen_s, corpus_out.get());
        const auto [rss, hwm] = rss_mib();
        std::printf(
            "build: %llu chunks in %.1f s = %.0f chunks/s (inverted index alone, one thread; generating the "
            "text took %.1f s apart)\n",
            static_cast<unsigned long long>(chunks), build_s, static_cast<double>(chunks) / build_s, gen_s);
        std::printf(
            "index: %zu terms, %zu postings, %.1f MiB in memory (%.2f bytes/posting); RSS %.0f MiB, peak %.0f MiB\n",
            index->term_count(), index->posting_count(), static_cast<double>(index->memory_bytes()) / (1 << 20),
            static_cast<double>(index->memory_bytes()) / static_cast<double>(index->posting_count()), rss, hwm);
        std::fflush(stdout);
        if (!save_dir.empty()) {
            fs::create_directories(save_dir);
            const std::string path = (fs::path(save_dir) / "bench_lexical.idx").string();
            t = Clock::now();
            index->save(path);
            const double save_s = seconds_since(t);
            t = Clock::now();
            auto loaded = lexical::InvertedIndex::load(path, 1, "english");
            WINNOW_CHECK(loaded.has_value(), Errc::Corrupt, "{}: did not load back", path);
            std::printf("disk: %.1f MiB (%s), save %.1f s, load (checks every block) %.1f s\n",
                        static_cast<double>(fs::file_size(path)) / (1 << 20), path.c_str(), save_s, seconds_since(t));
            fs::remove(path);
            // Searched as the CLI and the server search it: loaded from disk (the arrays of the
            // index just built lie where the builder's growth left them, and search slower).
            index = std::make_shared<const lexical::InvertedIndex>(std::move(*loaded));
        }
        if (!keep_path.empty()) index->save(keep_path);
    }

    const lexical::SegmentSearcher one({lexical::Segment{index, nullptr}});
    std::vector<lexical::Bm25Query> queries;
    for (const auto& q : corpus.queries()) {
        auto parsed = one.parse(q);
        if (!parsed.terms.empty()) queries.push_back(std::move(parsed));
    }
    double terms = 0;
    for (const auto& q : queries) terms += static_cast<double>(q.terms.size());
    std::printf("queries: %zu (mean %.1f unique terms)\n", queries.size(), terms / static_cast<double>(queries.size()));
    if (stats) print_stats(*index, queries);
    const std::string label = std::to_string(chunks) + " chunks";
    report(label.c_str(), one, queries, repeat, ks);
    if (check_n > 0) {
        t = Clock::now();
        const int bad = check(one, queries, check_n);
        std::printf("exact: %zu queries x k=10,1000 against exhaustive scoring: %s (%.1f s)\n",
                    std::min(check_n, queries.size()), bad == 0 ? "identical" : "MISMATCH", seconds_since(t));
        if (bad != 0) return 1;
    }

    if (add_count > 0) {
        // A second segment of new chunks, and as many chunks of the first deleted (replaced).
        double add_s = 0, add_gen = 0;
        const auto extra = build(corpus, false, seed, chunks, add_count, &add_s, &add_gen, nullptr);
        std::mt19937_64 rng(seed);
        std::vector<std::uint32_t> del;
        for (std::uint64_t i = 0; i < add_count && chunks > 0; ++i) del.push_back(static_cast<std::uint32_t>(rng() % chunks));
        t = Clock::now();
        const auto live = lexical::LiveDocs(static_cast<std::uint32_t>(index->doc_count())).with_deleted(del);
        const double del_s = seconds_since(t);
        std::printf("add: a segment of %llu chunks built in %.3f s; %u deletes in the first as a new LiveDocs in %.3f s\n",
                    static_cast<unsigned long long>(add_count), add_s, live->deleted_count(), del_s);
        const std::vector<lexical::Segment> segs{{index, live}, {extra, nullptr}};
        const lexical::SegmentSearcher two(segs);
        report("two segments + deletes", two, queries, repeat, ks);
        if (check_n > 0) {
            const int bad = check(two, queries, check_n);
            std::printf("exact (two segments, deletes): %s\n", bad == 0 ? "identical" : "MISMATCH");
            if (bad != 0) return 1;
        }
        if (do_merge) {
            t = Clock::now();
            const auto merged = lexical::merge(segs, 2);
            std::printf("merge: %zu live chunks into one segment in %.1f s\n", merged.doc_count(), seconds_since(t));
        }
    }
    const auto [rss2, hwm2] = rss_mib();
    std::printf("end: RSS %.0f MiB, peak %.0f MiB\n", rss2, hwm2);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_lexical: %s\n", e.what());
    return 1;
}
