// `winnow embed`: {"text"} lines on stdin -> {"embedding": [...]} lines, with a sentence-transformers
// model (pooling, normalisation and prompts as the folder configures them).
#include <cstdio>
#include <iostream>

#include "cli_io.h"
#include "command.h"
#include "winnow/embedder.h"
#include "winnow/error.h"

namespace winnow::cli {
namespace {

struct EmbedArgs {
    std::string model;
    bool query = false;
    std::size_t dimensions = 0;
    std::size_t max_length = 0;
    std::size_t threads = 0;
    std::size_t batch = 256;
    std::string instruction;
    std::string precision = "auto";
    std::string device = "auto";
};

int run_embed(const EmbedArgs& args) {
    ModelOptions options;
    options.precision = parse_precision(args.precision);
    options.device = parse_device(args.device);
    options.n_threads = args.threads;
    options.max_length = args.max_length;
    options.instruction = args.instruction;
    const auto embedder = Embedder::load(args.model, options);
    const EmbedKind kind = args.query ? EmbedKind::Query : EmbedKind::Document;
    EmbedStats stats;
    std::vector<std::string> texts;
    auto flush = [&] {
        for (const auto& v : embedder->embed_with_stats(texts, kind, args.dimensions, stats)) {
            write_json_line(Json{{"embedding", v}});
        }
        texts.clear();
    };
    for_each_jsonl(std::cin, [&](const Json& line, std::size_t line_no) {
        auto it = line.is_object() ? line.find("text") : line.end();
        WINNOW_CHECK(line.is_object() && it != line.end() && it->is_string(), Errc::InvalidArgument,
                     "stdin line {}: missing string field 'text'", line_no);
        texts.push_back(it->get<std::string>());
        if (texts.size() >= args.batch) flush();  // stream: bounded memory, output as it goes
    });
    flush();
    std::fflush(stdout);
    const Json summary{{"texts", stats.n_texts}, {"truncated", stats.n_truncated}, {"max_length", embedder->max_length()}};
    std::fprintf(stderr, "%s\n", summary.dump().c_str());
    return 0;
}

CommandRegistrar registrar("embed", [](CLI::App& app) {
    auto* sub = app.add_subcommand("embed", "Embed {\"text\"} lines with a sentence-transformers model");
    auto args = std::make_shared<EmbedArgs>();
    sub->add_option("--model", args->model, "Model folder (or hub id)")->required();
    sub->add_flag("--query", args->query, "Use the model's query prompt (default: the document prompt)");
    sub->add_option("--dimensions", args->dimensions, "Keep the first N dimensions (Matryoshka), re-normalized");
    sub->add_option("--max-length", args->max_length, "Truncate texts to N tokens (default: max_seq_length)");
    sub->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
    sub->add_option("--precision", args->precision,
                    "fp32|bf16|fp16|int8|auto (auto: bf16 on CPUs with AVX512-BF16 and on CUDA; fp16: cuda only)")
        ->check(CLI::IsMember({"fp32", "bf16", "fp16", "int8", "auto"}));
    sub->add_option("--device", args->device, "cpu|cuda|auto (auto: cuda when a GPU and a CUDA implementation exist)")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    sub->add_option("--batch", args->batch, "Texts per embed call")->check(CLI::PositiveNumber);
    sub->add_option("--instruction", args->instruction,
                    "LLM embedders (Qwen3-Embedding): the query task instruction (default: the model's)");
    return [args] { return run_embed(*args); };
});

}  // namespace
}  // namespace winnow::cli
