// `winnow label`: judge the top results of several k values by hand (terminal UI, answers on
// stdin), saved incrementally as TREC qrels; `winnow eval --qrels` then measures each k with them.
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "command.h"
#include "eval/harness.h"
#include "eval/labeling.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow::cli {
namespace {

struct LabelArgs {
    std::string index;
    std::string dataset;
    std::string queries;
    std::string pipeline = "bm25";
    std::string k_list = "10,50,200";
    std::size_t top = 5;
    std::string out;
    std::uint64_t seed = 42;
    std::size_t max_queries = 0;
    std::size_t max_chars = 1200;
    std::string cache_dir;
};

int run_label(const LabelArgs& a) {
    WINNOW_CHECK(!a.queries.empty() || !a.dataset.empty(), Errc::InvalidArgument, "give --queries (or --dataset)");
    WINNOW_CHECK(!a.index.empty() || !a.dataset.empty(), Errc::InvalidArgument, "give --index (or --dataset)");
    const auto ks = eval::parse_k_list(a.k_list);
    std::vector<eval::Query> queries;
    std::shared_ptr<Index> index;
    std::optional<eval::Dataset> dataset;
    if (!a.dataset.empty()) dataset = eval::load_dataset(a.dataset);
    queries = a.queries.empty() ? dataset->queries : eval::load_queries(a.queries);
    if (a.max_queries > 0 && queries.size() > a.max_queries) queries.resize(a.max_queries);
    if (!a.index.empty()) {
        index = Index::open(a.index);
    } else {
        index = eval::open_dataset_index(*dataset, a.cache_dir.empty() ? eval::default_eval_cache_dir() : a.cache_dir,
                                         false);
    }
    auto ranker = eval::make_ranker(a.pipeline, index, /*with_text=*/true);
    const auto tasks = eval::build_label_tasks(*ranker, queries, ks, a.top, a.seed);
    const auto stats = eval::run_labeling(tasks, a.out, std::cin, std::cout, a.max_chars);
    if (stats.remaining == 0 && stats.skipped == 0) {
        std::printf("All pairs labelled. Measure each k with:\n  winnow eval --qrels %s --pipeline '%s' --k %s %s\n",
                    a.out.c_str(), a.pipeline.c_str(), a.k_list.c_str(),
                    a.dataset.empty() ? ("--index " + a.index + " --queries " + a.queries).c_str()
                                      : ("--dataset " + a.dataset).c_str());
    }
    return 0;
}

CommandRegistrar registrar("label", [](CLI::App& app) {
    auto* sub = app.add_subcommand(
        "label", "Label the top results of several k values as relevant or not (saved as TREC qrels, resumable)");
    auto a = std::make_shared<LabelArgs>();
    sub->add_option("--index", a->index, "Index directory");
    sub->add_option("--queries", a->queries, "Queries file (JSONL, TREC topics, TSV id<TAB>text, or one per line)");
    sub->add_option("--dataset", a->dataset, "A collection folder instead of --index/--queries (its cached index)");
    sub->add_option("--pipeline", a->pipeline, "Pipeline spec (its first-stage k is set to each --k)")
        ->capture_default_str();
    sub->add_option("--k", a->k_list, "First-stage k values whose top results are pooled")->capture_default_str();
    sub->add_option("--top", a->top, "Top results of each k to label")->capture_default_str();
    sub->add_option("--out", a->out, "TREC qrels file the labels are appended to (resumed when it exists)")
        ->required();
    sub->add_option("--seed", a->seed, "Shuffle seed")->capture_default_str();
    sub->add_option("--max-queries", a->max_queries, "Label only the first N queries");
    sub->add_option("--max-chars", a->max_chars, "Characters of each document shown")->capture_default_str();
    sub->add_option("--cache-dir", a->cache_dir, "Where dataset indexes are cached");
    return [a]() { return run_label(*a); };
});

}  // namespace
}  // namespace winnow::cli
