// `winnow demo`: index the embedded handbook (data/demo) and run the four classic questions through
// the pipeline with the best reranker available, showing each result's explanation and whether the
// judgments call it relevant.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>

#include "command.h"
#include "ingest/file_ingest.h"
#include "pipeline_output.h"
#include "retrieval/demo.h"
#include "winnow/error.h"
#include "winnow/index.h"
#include "winnow/pipeline.h"

namespace fs = std::filesystem;

namespace winnow::cli {
namespace {

struct DemoArgs {
    std::string model;
    std::string data;
    std::string index_dir;
    std::string pipeline;
    std::size_t chunk_tokens = 200;
    std::size_t overlap_tokens = 24;
    bool json = false;
    bool no_explain = false;
};

std::string default_index_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/winnow/demo-index";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/winnow/demo-index";
    return "/tmp/winnow-demo-index";
}

CommandRegistrar registrar("demo", [](CLI::App& app) {
    // The ingest plug-ins (HTML/PDF readers for `winnow index --format files`, the token-aware
    // "structured" chunker for `--chunker`) are registered here, at CLI start-up, for every command.
    ingest::register_ingest_plugins();
    auto* sub = app.add_subcommand("demo", "Index the embedded demo handbook and run the four classic questions "
                                           "through the pipeline, with explanations");
    auto a = std::make_shared<DemoArgs>();
    sub->add_option("--model", a->model, "Cross-encoder (folder or hub id); default: $WINNOW_RERANK_MODEL, a cached "
                                         "cross-encoder, the LTR model, or BM25 order");
    sub->add_option("--data", a->data, "Demo folder (default: data/demo of the source tree)");
    sub->add_option("--index-dir", a->index_dir, "Where to build the demo index (default ~/.cache/winnow/demo-index)");
    sub->add_option("--pipeline", a->pipeline, "Pipeline spec instead of the demo's");
    sub->add_option("--chunk-tokens", a->chunk_tokens, "Chunk size in tokens (default 200)")->check(CLI::Range(16, 4096));
    sub->add_option("--overlap-tokens", a->overlap_tokens, "Chunk overlap in tokens (default 24)");
    sub->add_flag("--json", a->json, "One JSON object per query");
    sub->add_flag("--no-explain", a->no_explain, "Results only, without explanations");
    return [a]() {
        const std::string demo_dir = a->data.empty() ? retrieval::find_demo_dir() : a->data;
        const auto queries = retrieval::load_queries_tsv(demo_dir + "/queries.tsv");
        const auto qrels = retrieval::load_qrels(demo_dir + "/qrels.trec");
        retrieval::RerankerChoice choice = retrieval::choose_reranker(a->model, demo_dir);
        if (!a->pipeline.empty()) choice.description = "as in --pipeline";
        const std::string spec_text = a->pipeline.empty() ? retrieval::demo_pipeline(choice) : a->pipeline;
        PipelineSpec spec = PipelineSpec::parse(spec_text);
        const PipelineConfig config = PipelineConfig::from_spec(spec);

        // 1. Index the handbook (unchanged files are skipped on later runs).
        const std::string index_dir = a->index_dir.empty() ? default_index_dir() : a->index_dir;
        fs::create_directories(index_dir);
        ingest::FileIngestOptions fo;
        fo.chunk.size_tokens = a->chunk_tokens;
        fo.chunk.overlap_tokens = std::min(a->overlap_tokens, a->chunk_tokens / 2);
        if (config.rerank.enabled && config.rerank.kind == "rerank" && !config.rerank.model.empty()) {
            fo.tokenizer_model = config.rerank.model;
        }
        {
            auto index = Index::create(index_dir, IndexConfig{});
            const auto ing = ingest::ingest_files(*index, {demo_dir}, fo);
            std::fprintf(stderr, "indexed %s: %s; %zu added, %zu replaced, %zu unchanged; %zu chunks (%s tokens)\n",
                         demo_dir.c_str(), ing.read.to_string().c_str(), ing.index.added, ing.index.replaced,
                         ing.index.unchanged, ing.chunks, fo.tokenizer_model.empty() ? "approximate" : "model");
        }
        // 2. The pipeline. A reranker that was picked automatically (not asked for) and fails to
        // load, e.g. an LTR model from another build, falls back to first-stage order.
        Pipeline pipeline = Pipeline::open_index(index_dir, spec);
        const bool automatic = a->model.empty() && a->pipeline.empty() && !std::getenv("WINNOW_RERANK_MODEL");
        if (automatic && config.rerank.enabled && !queries.empty()) {
            try {
                (void)pipeline.run(queries.front().text);
            } catch (const Error& e) {
                std::fprintf(stderr, "winnow demo: the %s cannot be used (%s); using BM25 order\n",
                             choice.description.c_str(), e.what());
                choice = retrieval::RerankerChoice{"", "none (the automatic choice failed to load: BM25 order)"};
                spec = PipelineSpec::parse(retrieval::demo_pipeline(choice));
                pipeline = Pipeline::open_index(index_dir, spec);
            }
        }
        if (!a->json) {
            std::printf("winnow demo: %zu questions over the Brightwater handbook (%s)\n", queries.size(), demo_dir.c_str());
            std::printf("reranker: %s\npipeline: %s\n", choice.description.c_str(), spec.to_string().c_str());
        }

        // 3. The questions.
        double sum_precision = 0, sum_recall = 0;
        for (const auto& q : queries) {
            const PipelineResult r = pipeline.run(q.text);
            const auto qit = qrels.find(q.id);
            auto grade_of = [&](const Candidate& c) {
                if (qit == qrels.end()) return 0;
                auto it = qit->second.find(retrieval::hit_file_name(c));
                return it == qit->second.end() ? 0 : it->second;
            };
            std::set<std::string> found;
            std::size_t relevant_kept = 0;
            for (const auto& h : r.hits) {
                if (grade_of(h.candidate) > 0) {
                    ++relevant_kept;
                    found.insert(retrieval::hit_file_name(h.candidate));
                }
            }
            std::size_t n_relevant = 0, n_found = 0;
            if (qit != qrels.end()) {
                for (const auto& [doc, g] : qit->second) {
                    if (g >= 2) {
                        ++n_relevant;
                        if (found.count(doc)) ++n_found;
                    }
                }
            }
            const double precision = r.hits.empty() ? 0.0 : static_cast<double>(relevant_kept) / r.hits.size();
            const double recall = n_relevant ? static_cast<double>(n_found) / n_relevant : 0.0;
            sum_precision += precision;
            sum_recall += recall;
            if (a->json) {
                Json j = {{"query_id", q.id}, {"query", q.text}, {"pipeline", r.spec}, {"reranker", r.scorer},
                          {"precision", precision}, {"recall", recall}, {"hits", Json::array()}, {"cut", Json::array()}};
                for (const auto& h : r.hits) {
                    Json hj = hit_json(h);
                    hj["grade"] = grade_of(h.candidate);
                    j["hits"].push_back(hj);
                }
                for (const auto& h : r.cut) {
                    Json hj = hit_json(h);
                    hj["grade"] = grade_of(h.candidate);
                    j["cut"].push_back(hj);
                }
                write_json_line(j);
                continue;
            }
            std::printf("\n%s: %s\n", q.id.c_str(), q.text.c_str());
            print_result(r, !a->no_explain, false, [&](const PipelineHit& h) {
                const int g = grade_of(h.candidate);
                return g >= 2 ? std::string("relevant") : g == 1 ? std::string("related") : std::string();
            });
            std::printf("  judged: %zu of %zu kept are relevant or related; %zu of %zu key documents found\n",
                        relevant_kept, r.hits.size(), n_found, n_relevant);
        }
        if (!a->json && !queries.empty()) {
            std::printf("\nmean precision of the kept results %.2f, mean recall of key documents %.2f\n",
                        sum_precision / queries.size(), sum_recall / queries.size());
        }
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
