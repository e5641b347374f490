// `winnow search`: first-stage search of an index (BM25, dense, hybrid); JSON lines with --json.
// The pipeline (rerank, cutoff) extends this command through --pipeline (see run_search). Every
// first-stage flag is an override of the spec's first stage, so flags and specs share one set of
// keys and one validation.
#include <cstdio>
#include <memory>
#include <string>

#include "cli_io.h"
#include "command.h"
#include "pipeline_output.h"
#include "lexical/bm25.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow::cli {
namespace {

struct SearchArgs {
    std::string index;
    std::string query;
    bool json = false;
    bool explain = false;
    std::string embed_model;
    std::string pipeline;                // --pipeline: first stage > rerank > cutoff
    std::vector<std::string> overrides;  // --set [stage.]key=value
    // First-stage flags: each one given is an override of the spec's first stage under the spec
    // key of the same meaning ("" = not given; the spec validates the value).
    std::string first_stage;  // --first-stage: the first stage's kind
    std::string k, bm25, fusion, rrf_k, weight, k_lexical, k_dense, ef_search;
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

void print_hits(const std::vector<Candidate>& hits, const SearchArgs& a, const Index& index,
                const SearchOptions& options) {
    for (std::size_t i = 0; i < hits.size(); ++i) {
        const Candidate& h = hits[i];
        if (a.json) {
            nlohmann::ordered_json j = {{"rank", i + 1},        {"doc_id", h.doc_id}, {"chunk_id", h.chunk_id},
                                        {"score", h.score},     {"text", h.text}};
            if (a.explain) j["explain"] = index.explain(a.query, h.chunk_id, options.bm25);
            const std::string line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
            std::printf("%s\n", line.c_str());
            continue;
        }
        std::printf("%3zu. %-12s %9.4f  %s\n", i + 1, h.doc_id.c_str(), static_cast<double>(h.score),
                    one_line(h.title, 100).c_str());
        std::printf("     %s\n", one_line(h.text, 160).c_str());
        if (a.explain) {
            const std::string e = index.explain(a.query, h.chunk_id, options.bm25);
            std::printf("%s", e.c_str());
        }
    }
    if (!a.json && hits.empty()) {
        // What a pipeline's result says when it is empty (why, and what to try next).
        const std::string hint = explain_no_candidates(index.chunk_count(), options.first_stage == FirstStageKind::Bm25,
                                                       first_stage_kind_name(options.first_stage))
                                     .second;
        std::printf("no results: %s\n", hint.c_str());
    }
}

// The spec this search runs: --pipeline (or the --first-stage kind with k=10), then the
// first-stage flags as overrides of its first stage, then --set.
PipelineSpec search_spec(const SearchArgs& a) {
    const std::string kind = a.first_stage.empty() ? "bm25" : a.first_stage;
    PipelineSpec spec = PipelineSpec::parse(a.pipeline.empty() ? kind + "(k=10)" : a.pipeline);
    const std::string first = a.first_stage.empty() ? spec.stages.front().name : a.first_stage;
    auto set = [&](const char* key, const std::string& value, const char* flag) {
        if (value.empty()) return;
        try {
            spec.apply_override(first + "." + key + "=" + value);
        } catch (const Error& e) {
            WINNOW_THROW(e.code(), "{} {}: {}", flag, value, e.what());
        }
    };
    if (!a.first_stage.empty() && spec.stages.front().name != first) {
        WINNOW_CHECK(first == "bm25" || first == "dense" || first == "hybrid", Errc::InvalidArgument,
                     "--first-stage {}: expected bm25, dense or hybrid", first);
        spec.stages.front().name = first;
    }
    set("k", a.k, "--k");
    if (!a.bm25.empty()) {
        const lexical::Bm25Params p = lexical::parse_bm25_spec(a.bm25);
        set("k1", fmt::format("{}", p.k1), "--bm25");
        set("b", fmt::format("{}", p.b), "--bm25");
    }
    set("fusion", a.fusion, "--fusion");
    set("rrf_k", a.rrf_k, "--rrf-k");
    set("weight", a.weight, "--weight");
    set("k_lexical", a.k_lexical, "--k-lexical");
    set("k_dense", a.k_dense, "--k-dense");
    set("ef_search", a.ef_search, "--ef-search");
    for (const auto& o : a.overrides) spec.apply_override(o);
    return spec;
}

int run_search(const SearchArgs& a) {
    const PipelineSpec spec = search_spec(a);
    if (!a.pipeline.empty() || spec.stages.size() > 1) {
        // --pipeline: --explain then shows each result's first-stage rank and score, rerank score,
        // and why it was kept or cut (cut candidates listed too). An external first stage (xapian,
        // elasticsearch) needs no --index: the engine returns the chunks' text.
        const PipelineResult result = Pipeline::open(a.index, spec).run(a.query);
        print_result(result, a.explain, a.json);
        return 0;
    }
    const SearchOptions options = PipelineConfig::from_spec(spec).first_stage;
    WINNOW_CHECK(!a.index.empty(), Errc::InvalidArgument,
                 "give --index (or a --pipeline starting with xapian(...) or elasticsearch(...))");
    auto index = Index::open(a.index);
    if (options.first_stage != FirstStageKind::Bm25) {
        const std::string model = a.embed_model.empty() ? index->config().embed_model : a.embed_model;
        WINNOW_CHECK(index->has_dense(), Errc::InvalidArgument,
                     "{}: --first-stage {} needs a dense index (build with `winnow index --embed-model <dir>`)",
                     a.index, first_stage_kind_name(options.first_stage));
        index->set_embedder(Embedder::load(model));
    }
    print_hits(index->search(a.query, options), a, *index, options);
    return 0;
}

CommandRegistrar registrar("search", [](CLI::App& app) {
    auto* sub = app.add_subcommand("search", "Search an index (first stage: bm25, dense or hybrid)");
    auto a = std::make_shared<SearchArgs>();
    sub->add_option("--index", a->index,
                    "Index directory (not needed when --pipeline starts with xapian(...) or elasticsearch(...))");
    sub->add_option("--query", a->query, "Query text")->required();
    // The first-stage flags are the spec's first-stage keys (README: the pipeline spec).
    sub->add_option("--first-stage", a->first_stage, "bm25 (default), dense or hybrid (the spec's first stage)");
    sub->add_option("--k", a->k, "Number of results (default 10; the spec key k, at most 100000)");
    sub->add_flag("--json", a->json, "JSON lines: {rank, doc_id, chunk_id, score, text}");
    sub->add_flag("--explain", a->explain, "Show each query term's BM25 contribution");
    sub->add_option("--bm25", a->bm25, "BM25 parameters, e.g. bm25(k1=1.2,b=0.75) (the keys k1, b; default: the index's)");
    sub->add_option("--fusion", a->fusion, "Hybrid fusion: rrf (default) or weighted (the key fusion)");
    sub->add_option("--rrf-k", a->rrf_k, "RRF constant (default 60; the key rrf_k)");
    sub->add_option("--weight", a->weight, "Weighted fusion: BM25 weight in [0,1] (default 0.5; the key weight)");
    sub->add_option("--k-lexical", a->k_lexical, "Hybrid: BM25 candidates (default max(k,100); the key k_lexical)");
    sub->add_option("--k-dense", a->k_dense, "Hybrid: dense candidates (default max(k,100); the key k_dense)");
    sub->add_option("--ef-search", a->ef_search, "HNSW beam width for dense search (the key ef_search)");
    sub->add_option("--embed-model", a->embed_model, "Embedding model (default: the one the index was built with)");
    sub->add_option("--pipeline", a->pipeline,
                    "Pipeline spec, e.g. 'bm25(k=100) > rerank(model=BAAI/bge-reranker-base, top_n=10)'; with "
                    "--explain, why each result was kept or cut");
    sub->add_option("--set", a->overrides, "Pipeline override: [stage.]key=value (repeatable)");
    return [a]() { return run_search(*a); };
});

}  // namespace
}  // namespace winnow::cli
