// `winnow eval`: the k sweep (first stage -> rerank -> cutoff for each k) on a test collection or
// on a person's labels, with significance tests and terminal / JSON / HTML / TREC run reports.
// With --run it evaluates a TREC run file the way trec_eval does instead.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "command.h"
#include "core/progress.h"
#include "eval/harness.h"
#include "eval/report.h"
#include "winnow/error.h"
#include "winnow/eval.h"

namespace winnow::cli {
namespace {

struct EvalArgs {
    eval::EvalRequest request;
    std::string k_list = "10,50,100,200";
    std::string json_out;
    std::string report_out;
    std::string run_out;
    std::string run_in;  // trec_eval mode
    std::string qrels_out;
    std::string measures = "official";
    bool per_query = false;
    bool quiet = false;
};

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    WINNOW_CHECK(out.good(), Errc::Io, "{}: cannot open for writing", path);
    out << text;
    out.close();
    WINNOW_CHECK(out.good(), Errc::Io, "{}: write failed", path);
}

int run_trec_eval_mode(const EvalArgs& a) {
    WINNOW_CHECK(!a.request.qrels.empty(), Errc::InvalidArgument, "--run needs --qrels");
    const eval::Qrels qrels = eval::read_trec_qrels(a.request.qrels);
    const eval::Run run = eval::read_trec_run(a.run_in);
    const auto result = eval::evaluate(run, qrels, eval::parse_measures(a.measures), a.request.eval);
    WINNOW_CHECK(result.n_queries > 0, Errc::InvalidArgument, "{}: no query has both results and judgments in {}",
                 a.run_in, a.request.qrels);
    eval::print_trec_eval(result, std::cout, a.per_query);
    return 0;
}

int run_eval(EvalArgs& a) {
    if (!a.run_in.empty()) return run_trec_eval_mode(a);
    if (!a.qrels_out.empty()) {
        // Export the dataset's judgments (ids normalised, grades mapped) for trec_eval.
        WINNOW_CHECK(!a.request.dataset.empty(), Errc::InvalidArgument, "--qrels-out needs --dataset");
        const auto ds = eval::load_dataset(a.request.dataset);
        const eval::Qrels& qrels = ds.qrels(a.request.split.empty() ? ds.default_split() : a.request.split);
        eval::write_trec_qrels(qrels, a.qrels_out);
        if (!a.quiet) {
            std::printf("wrote %s (TREC qrels: %zu queries, %zu judgments)\n", a.qrels_out.c_str(), qrels.n_queries(),
                        qrels.n_judgments());
        }
        if (a.json_out.empty() && a.report_out.empty() && a.run_out.empty()) return 0;
    }
    a.request.ks = eval::parse_k_list(a.k_list);
    a.request.progress = progress_mode(a.quiet);
    auto outcome = eval::run_eval(a.request);
    const auto& report = outcome.report;
    if (!a.quiet) eval::print_table(report, std::cout);
    if (!a.json_out.empty()) {
        write_file(a.json_out, eval::report_json(report).dump(2) + "\n");
        if (!a.quiet) std::printf("wrote %s (JSON results)\n", a.json_out.c_str());
    }
    if (!a.report_out.empty()) {
        write_file(a.report_out, eval::report_html(report));
        if (!a.quiet) std::printf("wrote %s (HTML report)\n", a.report_out.c_str());
    }
    if (!a.run_out.empty()) {
        for (const auto& p : eval::write_runs(report.sweep, a.run_out)) {
            if (!a.quiet) std::printf("wrote %s\n", p.c_str());
        }
    }
    return 0;
}

CommandRegistrar registrar("eval", [](CLI::App& app) {
    auto* sub = app.add_subcommand(
        "eval",
        "Measure how first-stage k trades recall for final precision (k sweep over a test collection or labels);\n"
        "with --run, evaluate a TREC run file like trec_eval");
    auto a = std::make_shared<EvalArgs>();
    auto& r = a->request;
    sub->add_option("--dataset", r.dataset,
                    "Collection folder: BEIR, TREC (topics + qrels + <DOC> files), SMART, Cranfield, LISA, WikiQA");
    sub->add_option("--split", r.split, "Judgment split (default: test)");
    sub->add_option("--index", r.index, "Index directory (default: build one for the dataset in the cache)");
    sub->add_option("--pipeline", r.pipeline,
                    "Pipeline spec, e.g. bm25 | bm25(k1=1.2,b=0.75) | bm25 > rerank(model=DIR) > cutoff(top_n=10); "
                    "the first stage's k is swept")
        ->capture_default_str();
    sub->add_option("--k", a->k_list, "First-stage k values to sweep")->capture_default_str();
    sub->add_option("--compare", r.compare, "A second pipeline spec to compare against (significance per k)");
    sub->add_option("--queries", r.queries, "Queries file (JSONL, TREC topics, TSV id<TAB>text, or one per line)");
    sub->add_option("--qrels", r.qrels, "TREC qrels to judge with (e.g. `winnow label` output)");
    sub->add_option("--json", a->json_out, "Write the results as JSON");
    sub->add_option("--report", a->report_out, "Write a self-contained HTML report with charts");
    sub->add_option("--run-out", a->run_out, "Write the final ranking of each k as TREC runs (run.k10.trec, ...)");
    sub->add_option("--cache-dir", r.cache_dir, "Where dataset indexes are cached (default: ~/.cache/winnow/eval)");
    sub->add_flag("--rebuild-index", r.rebuild_index, "Rebuild the cached dataset index");
    sub->add_option("--max-queries", r.max_queries, "Run only the first N judged queries");
    sub->add_flag("-c,--complete", r.eval.complete,
                  "Average over every judged query, a query without results scoring 0 (trec_eval -c)");
    sub->add_option("-l,--relevance-level", r.eval.relevance_level, "Lowest grade that counts as relevant (trec_eval -l)")
        ->capture_default_str();
    sub->add_option("--permutations", r.permutation.rounds, "Rounds of the permutation test")->capture_default_str();
    sub->add_option("--seed", r.permutation.seed, "Seed of the permutation test")->capture_default_str();
    sub->add_option("--qrels-out", a->qrels_out, "Write the dataset's judgments as TREC qrels (for trec_eval)");
    sub->add_option("--run", a->run_in, "trec_eval mode: evaluate this TREC run file against --qrels");
    sub->add_option("-m,--measures", a->measures,
                    "trec_eval mode: measures (official | P_5,ndcg_cut_10,... | P.5,10;map)")
        ->capture_default_str();
    sub->add_flag("-q,--per-query", a->per_query, "trec_eval mode: print each query's values too");
    sub->add_flag("--quiet", a->quiet,
                  "Print nothing but errors (files are still written); without it, progress goes to stderr (a bar "
                  "on a terminal, else a line per tenth)");
    return [a]() { return run_eval(*a); };
});

}  // namespace
}  // namespace winnow::cli
