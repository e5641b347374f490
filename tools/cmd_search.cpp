// `winnow search`: first-stage search of an index (BM25, dense, hybrid); JSON lines with --json.
// The pipeline (rerank, cutoff) extends this command through --pipeline (see run_search).
#include <cstdio>
#include <memory>
#include <string>

#include "cli_io.h"
#include "command.h"
#include "pipeline_output.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow::cli {
namespace {

struct SearchArgs {
    std::string index;
    std::string query;
    std::string first_stage = "bm25";
    std::size_t k = 10;
    bool json = false;
    bool explain = false;
    std::string bm25;
    std::string fusion = "rrf";
    double rrf_k = 60.0;
    double weight = 0.5;
    std::size_t k_lexical = 0;
    std::size_t k_dense = 0;
    std::string embed_model;
    std::string pipeline;                // --pipeline: first stage > rerank > cutoff (issue 7)
    std::vector<std::string> overrides;  // --set [stage.]key=value
};

std::string one_line(std::string_view text, std::size_t max_chars) {
    std::string out;
    for (char c : text) {
        if (out.size() >= max_chars) {
            out += "...";
            break;
        }
        out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    }
    return out;
}

void print_hits(const std::vector<SearchHit>& hits, const SearchArgs& a, const Index& index) {
    for (const auto& h : hits) {
        if (a.json) {
            nlohmann::ordered_json j = {{"rank", h.rank},         {"doc_id", h.doc_id}, {"chunk_id", h.chunk_id},
                                        {"score", h.score},       {"text", h.text}};
            if (a.explain) j["explain"] = index.explain(a.query, h.chunk_id, a.bm25);
            const std::string line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
            std::printf("%s\n", line.c_str());
            continue;
        }
        std::printf("%3zu. %-12s %9.4f  %s\n", h.rank, h.doc_id.c_str(), static_cast<double>(h.score),
                    one_line(h.title, 100).c_str());
        std::printf("     %s\n", one_line(h.text, 160).c_str());
        if (a.explain) {
            const std::string e = index.explain(a.query, h.chunk_id, a.bm25);
            std::printf("%s", e.c_str());
        }
    }
    if (!a.json && hits.empty()) std::printf("no results\n");
}

// --pipeline: the two-stage pipeline; --explain then shows each result's first-stage rank and
// score, rerank score, and why it was kept or cut (cut candidates listed too).
int run_pipeline_search(const SearchArgs& a) {
    PipelineSpec spec = PipelineSpec::parse(a.pipeline);
    for (const auto& o : a.overrides) spec.apply_override(o);
    const PipelineResult result = Pipeline::open_index(a.index, spec).run(a.query);
    print_result(result, a.explain, a.json);
    return 0;
}

int run_search(const SearchArgs& a) {
    if (!a.pipeline.empty()) return run_pipeline_search(a);
    SearchOptions options;
    options.first_stage = parse_first_stage_kind(a.first_stage);
    options.k = a.k;
    options.bm25 = a.bm25;
    options.fusion = a.fusion;
    options.rrf_k = a.rrf_k;
    options.lexical_weight = a.weight;
    options.k_lexical = a.k_lexical;
    options.k_dense = a.k_dense;
    auto index = Index::open(a.index);
    if (options.first_stage != FirstStageKind::Bm25) {
        const std::string model = a.embed_model.empty() ? index->config().embed_model : a.embed_model;
        WINNOW_CHECK(index->has_dense(), Errc::InvalidArgument,
                     "{}: --first-stage {} needs a dense index (build with `winnow index --embed-model <dir>`)",
                     a.index, a.first_stage);
        index->set_embedder(Embedder::load(model));
    }
    // The pipeline stages (issue 7) take the first stage's hits from here.
    const auto hits = index->search(a.query, options);
    print_hits(hits, a, *index);
    return 0;
}

CommandRegistrar registrar("search", [](CLI::App& app) {
    auto* sub = app.add_subcommand("search", "Search an index (first stage: bm25, dense or hybrid)");
    auto a = std::make_shared<SearchArgs>();
    sub->add_option("--index", a->index, "Index directory")->required();
    sub->add_option("--query", a->query, "Query text")->required();
    sub->add_option("--first-stage", a->first_stage, "bm25 (default), dense or hybrid")
        ->check(CLI::IsMember({"bm25", "dense", "hybrid"}));
    sub->add_option("--k", a->k, "Number of results (default 10)")->check(CLI::PositiveNumber);
    sub->add_flag("--json", a->json, "JSON lines: {rank, doc_id, chunk_id, score, text}");
    sub->add_flag("--explain", a->explain, "Show each query term's BM25 contribution");
    sub->add_option("--bm25", a->bm25, "BM25 parameters, e.g. bm25(k1=1.2,b=0.75) (default: the index's)");
    sub->add_option("--fusion", a->fusion, "Hybrid fusion: rrf (default) or weighted")
        ->check(CLI::IsMember({"rrf", "weighted"}));
    sub->add_option("--rrf-k", a->rrf_k, "RRF constant (default 60)")->check(CLI::NonNegativeNumber);
    sub->add_option("--weight", a->weight, "Weighted fusion: BM25 weight in [0,1] (default 0.5)")
        ->check(CLI::Range(0.0, 1.0));
    sub->add_option("--k-lexical", a->k_lexical, "Hybrid: BM25 candidates (default max(k,100))");
    sub->add_option("--k-dense", a->k_dense, "Hybrid: dense candidates (default max(k,100))");
    sub->add_option("--embed-model", a->embed_model, "Embedding model (default: the one the index was built with)");
    sub->add_option("--pipeline", a->pipeline,
                    "Pipeline spec, e.g. 'bm25(k=100) > rerank(model=BAAI/bge-reranker-base, top_n=10)'; with "
                    "--explain, why each result was kept or cut");
    sub->add_option("--set", a->overrides, "Pipeline override: [stage.]key=value (repeatable)");
    return [a]() { return run_search(*a); };
});

}  // namespace
}  // namespace winnow::cli
