// `winnow ask --index <dir> "question"`: Pipeline::ask (the pipeline, the pack stage, the answer
// stage) with the LLM's answer streamed to the terminal (or, without an LLM, the packed context and
// its sources). --json prints the same object as the server's /v1/ask.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "command.h"
#include "pipeline_output.h"
#include "winnow/pipeline.h"

namespace winnow::cli {
namespace {

struct AskArgs {
    std::string index;
    std::string question;
    std::string pipeline;
    std::string model;
    std::vector<std::string> overrides;
    std::string llm_url;
    std::string llm_model;
    double llm_timeout = 120;
    std::size_t context_tokens = 0;
    bool no_stream = false;
    bool explain = false;
    bool json = false;
};

std::string default_pipeline(const AskArgs& a) {
    const char* env = std::getenv("WINNOW_RERANK_MODEL");
    if (!a.model.empty() || (env && *env)) return "bm25(k=50) > rerank(top_n=5)";
    return "bm25(k=20) > cutoff(top_n=5)";
}

CommandRegistrar registrar("ask", [](CLI::App& app) {
    auto* sub = app.add_subcommand("ask", "Answer a question from an index: first stage > rerank > cutoff > LLM");
    auto a = std::make_shared<AskArgs>();
    sub->add_option("question", a->question, "The question")->required();
    sub->add_option("--index", a->index,
                    "Index directory (not needed when --pipeline starts with xapian(...) or elasticsearch(...))");
    sub->add_option("--pipeline", a->pipeline,
                    "Pipeline spec (default: bm25(k=50) > rerank(top_n=5) with a rerank model, else bm25(k=20) > "
                    "cutoff(top_n=5))");
    sub->add_option("--model", a->model, "Rerank model (folder or hub id) for the rerank stage");
    sub->add_option("--set", a->overrides, "Override a knob: [stage.]key=value (repeatable)");
    sub->add_option("--llm-url", a->llm_url, "OpenAI-compatible API base URL (default $WINNOW_LLM_URL)");
    sub->add_option("--llm-model", a->llm_model, "Model name sent to the API (default $WINNOW_LLM_MODEL)");
    sub->add_option("--llm-timeout", a->llm_timeout, "Seconds for the whole answer (default 120)")->check(CLI::PositiveNumber);
    sub->add_option("--context-tokens", a->context_tokens, "Token window for the prompt (default: pack(tokens) or 4096)");
    sub->add_flag("--no-stream", a->no_stream, "Wait for the whole answer instead of streaming it");
    sub->add_flag("--explain", a->explain, "Show why each chunk was kept or cut");
    sub->add_flag("--json", a->json, "Print one JSON object, as /v1/ask: results, sources, prompt, answer");
    return [a]() {
        PipelineSpec spec = PipelineSpec::parse(a->pipeline.empty() ? default_pipeline(*a) : a->pipeline);
        if (!a->model.empty()) spec.apply_override("rerank.model=" + a->model);
        for (const auto& o : a->overrides) spec.apply_override(o);
        if (a->context_tokens > 0) spec.apply_override("pack.tokens=" + std::to_string(a->context_tokens));
        const Pipeline pipeline = Pipeline::open(a->index, spec);

        AskOptions options;
        options.llm_url = a->llm_url;
        options.llm_model = a->llm_model;
        options.timeout_s = a->llm_timeout;
        const bool stream = !a->no_stream && !a->json && Pipeline::has_llm(options);
        // The pipeline up to the packed context first: with --explain its decisions print before
        // the answer streams.
        options.answer = false;
        PipelineResult result = pipeline.ask(a->question, options);
        if (!a->json && a->explain) print_result(result, true, false);
        options.answer = true;
        if (Pipeline::has_llm(options) && options.llm_model.empty() && std::getenv("WINNOW_LLM_MODEL") == nullptr) {
            std::fprintf(stderr,
                         "winnow: no --llm-model (or WINNOW_LLM_MODEL): the request names no model, so the LLM server "
                         "answers with its default\n");
        }
        if (stream) {
            options.on_delta = [](std::string_view delta) {
                std::fwrite(delta.data(), 1, delta.size(), stdout);
                std::fflush(stdout);
                return true;
            };
        }
        Pipeline::answer(result, options);
        if (a->json) {
            // The same object as the server's /v1/ask.
            write_json_line(retrieval::result_json(result, {.answer = true}));
            return 0;
        }
        const PackedContext& packed = *result.context;
        if (!result.answer) {
            std::printf("No LLM configured (--llm-url or WINNOW_LLM_URL): the packed context (%zu tokens) follows.\n\n",
                        packed.n_tokens);
            std::printf("=== system ===\n%s\n\n=== user ===\n%s\n", packed.system.c_str(), packed.user.c_str());
        } else if (stream) {
            std::printf("\n");
        } else {
            std::printf("%s\n", result.answer->text.c_str());
        }
        if (result.answer && result.answer->finish_reason == "length") {
            std::fprintf(stderr, "winnow: the answer was cut at the model's token limit\n");
        }
        std::printf("\nSources:\n");
        for (const auto& s : packed.sources) {
            std::printf("  [%zu] %s (%s, bytes %u-%u)\n", s.n, s.title.c_str(),
                        s.source.empty() ? s.doc_id.c_str() : s.source.c_str(), s.begin, s.end);
        }
        if (packed.n_dropped > 0) std::printf("  (%zu more chunks did not fit the context window)\n", packed.n_dropped);
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
