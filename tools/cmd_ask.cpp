// `winnow ask --index <dir> "question"`: the pipeline, the packed context, and the LLM's answer
// streamed to the terminal (or, without an LLM, the packed context and its sources).
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "command.h"
#include "llm/chat_client.h"
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
    sub->add_option("--index", a->index, "Index directory")->required();
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
    sub->add_flag("--json", a->json, "Print one JSON object: answer, sources, hits");
    return [a]() {
        PipelineSpec spec = PipelineSpec::parse(a->pipeline.empty() ? default_pipeline(*a) : a->pipeline);
        if (!a->model.empty()) spec.apply_override("rerank.model=" + a->model);
        for (const auto& o : a->overrides) spec.apply_override(o);
        if (a->context_tokens > 0) spec.apply_override("pack.tokens=" + std::to_string(a->context_tokens));
        Pipeline pipeline = Pipeline::open_index(a->index, spec);
        const PipelineResult result = pipeline.run(a->question);
        const PipelineConfig config = PipelineConfig::from_spec(spec);
        const PackedContext packed = pack_context(a->question, result.hits, config.pack, pipeline.token_counter(config));

        llm::ChatOptions options;
        options.url = a->llm_url;
        options.model = a->llm_model;
        options = llm::options_from_env(options);
        options.timeout_s = a->llm_timeout;
        Json out;
        if (a->json) {
            out["question"] = a->question;
            out["pipeline"] = result.spec;
            out["hits"] = Json::array();
            for (const auto& h : result.hits) out["hits"].push_back(hit_json(h));
        }
        if (!a->json && a->explain) print_result(result, true, false);
        auto print_sources = [&] {
            std::printf("\nSources:\n");
            for (const auto& s : packed.sources) {
                std::printf("  [%zu] %s (%s, bytes %u-%u)\n", s.n, s.title.c_str(), s.source.empty() ? s.doc_id.c_str() : s.source.c_str(),
                            s.begin, s.end);
            }
            if (packed.n_dropped > 0) std::printf("  (%zu more chunks did not fit the context window)\n", packed.n_dropped);
        };
        Json sources = Json::array();
        for (const auto& s : packed.sources) {
            sources.push_back({{"n", s.n}, {"doc_id", s.doc_id}, {"title", s.title}, {"source", s.source}, {"span", {s.begin, s.end}}});
        }
        if (options.url.empty()) {
            if (a->json) {
                out["answer"] = nullptr;
                out["system"] = packed.system;
                out["prompt"] = packed.user;
                out["prompt_tokens"] = packed.n_tokens;
                out["sources"] = sources;
                write_json_line(out);
                return 0;
            }
            std::printf("No LLM configured (--llm-url or WINNOW_LLM_URL): the packed context (%zu tokens) follows.\n\n",
                        packed.n_tokens);
            std::printf("=== system ===\n%s\n\n=== user ===\n%s\n", packed.system.c_str(), packed.user.c_str());
            print_sources();
            return 0;
        }
        if (options.model.empty()) {
            std::fprintf(stderr,
                         "winnow: no --llm-model (or WINNOW_LLM_MODEL): the request names no model, so %s "
                         "answers with its default\n",
                         options.url.c_str());
        }
        llm::ChatClient client(options);
        const std::vector<llm::ChatMessage> messages = {{"system", packed.system}, {"user", packed.user}};
        llm::ChatResult answer;
        if (a->no_stream || a->json) {
            answer = client.complete(messages);
            if (!a->json) std::printf("%s\n", answer.content.c_str());
        } else {
            answer = client.stream(messages, [](std::string_view delta) {
                std::fwrite(delta.data(), 1, delta.size(), stdout);
                std::fflush(stdout);
                return true;
            });
            std::printf("\n");
        }
        if (a->json) {
            out["answer"] = answer.content;
            out["finish_reason"] = answer.finish_reason;
            out["sources"] = sources;
            write_json_line(out);
            return 0;
        }
        if (answer.finish_reason == "length") std::fprintf(stderr, "winnow: the answer was cut at the model's token limit\n");
        print_sources();
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
