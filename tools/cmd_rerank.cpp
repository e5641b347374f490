// `winnow rerank`: score (query, document) pairs with a cross-encoder.
//   --query Q        documents as JSONL {"text"} on stdin -> {"index","score","raw_score"} sorted by score
//   --pairs          {"query","text"} lines -> {"score","raw_score"} in input order
//   --pairs --pretokenized   {"input_ids","token_type_ids"} lines (bench format), same output, plus one
//                    JSON stats line on stderr: {"pairs","tokens","seconds","pairs_per_s","precision","threads",
//                    "load_seconds","primitives_created","primitive_seconds"} (primitives: GEMM kernels JIT-compiled
//                    while loading and scoring, tensor/kernel_stats.h)
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli_io.h"
#include "command.h"
#include "tensor/kernel_stats.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow::cli {
namespace {

struct RerankArgs {
    std::string model;
    std::string query;
    bool pairs = false;
    bool pretokenized = false;
    std::size_t top_n = 0;
    std::size_t max_length = 0;
    std::string precision = "auto";
    std::string device = "auto";
    std::size_t threads = 0;
    std::size_t token_budget = 4096;
    std::string instruction;
};

std::vector<std::int32_t> int_array(const Json& line, const char* key, std::size_t line_no) {
    auto it = line.find(key);
    WINNOW_CHECK(it != line.end() && it->is_array(), Errc::InvalidArgument, "stdin line {}: missing array '{}'", line_no,
                 key);
    std::vector<std::int32_t> out;
    out.reserve(it->size());
    for (const auto& v : *it) {
        WINNOW_CHECK(v.is_number_integer(), Errc::InvalidArgument, "stdin line {}: '{}' must hold integers", line_no,
                     key);
        out.push_back(json_value_as<std::int32_t>(v, key, fmt::format("stdin line {}", line_no), Errc::InvalidArgument));
    }
    return out;
}

std::string text_field(const Json& line, const char* key, std::size_t line_no) {
    auto it = line.find(key);
    WINNOW_CHECK(line.is_object() && it != line.end() && it->is_string(), Errc::InvalidArgument,
                 "stdin line {}: missing string field '{}'", line_no, key);
    return it->get<std::string>();
}

void print_summary(std::size_t n, std::size_t truncated, std::size_t max_length) {
    Json summary{{"pairs", n}, {"truncated", truncated}, {"max_length", max_length}};
    std::fprintf(stderr, "%s\n", summary.dump().c_str());
}

int run_rerank(const RerankArgs& args) {
    WINNOW_CHECK(args.pairs != !args.query.empty(), Errc::InvalidArgument, "give either --query or --pairs");
    WINNOW_CHECK(!args.pretokenized || args.pairs, Errc::InvalidArgument, "--pretokenized needs --pairs");
    ModelOptions options;
    options.precision = parse_precision(args.precision);
    options.device = parse_device(args.device);
    options.n_threads = args.threads;
    options.max_length = args.max_length;
    options.token_budget = args.token_budget;
    options.instruction = args.instruction;
    const auto load_start = std::chrono::steady_clock::now();
    const auto reranker = Reranker::load(args.model, options);
    const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

    if (args.pretokenized) {
        std::vector<TokenizedPair> pairs;
        for_each_jsonl(std::cin, [&](const Json& line, std::size_t line_no) {
            WINNOW_CHECK(line.is_object(), Errc::InvalidArgument, "stdin line {}: expected an object", line_no);
            TokenizedPair pair;
            pair.input_ids = int_array(line, "input_ids", line_no);
            if (line.contains("token_type_ids")) pair.token_type_ids = int_array(line, "token_type_ids", line_no);
            pairs.push_back(std::move(pair));
        });
        const auto start = std::chrono::steady_clock::now();
        const auto scores = reranker->score_tokenized(pairs);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::size_t tokens = 0;
        for (const auto& s : scores) {
            tokens += s.n_tokens;
            write_json_line(Json{{"score", s.score}, {"raw_score", s.raw_score}});
        }
        const std::size_t threads = args.threads > 0 ? args.threads : std::thread::hardware_concurrency();
        Json stats{{"pairs", scores.size()},
                   {"tokens", tokens},
                   {"seconds", seconds},
                   {"pairs_per_s", seconds > 0 ? static_cast<double>(scores.size()) / seconds : 0.0},
                   {"precision", std::string(precision_name(reranker->precision()))},
                   {"device", std::string(device_name(reranker->device()))},
                   {"threads", threads},
                   {"load_seconds", load_seconds},
                   {"primitives_created", kernel_stats().primitives_created},
                   {"primitive_seconds", kernel_stats().creation_seconds}};
        std::fflush(stdout);
        std::fprintf(stderr, "%s\n", stats.dump().c_str());
        return 0;
    }

    if (args.pairs) {
        std::vector<std::pair<std::string, std::string>> pairs;
        for_each_jsonl(std::cin, [&](const Json& line, std::size_t line_no) {
            pairs.emplace_back(text_field(line, "query", line_no), text_field(line, "text", line_no));
        });
        const auto scores = reranker->score_pairs(pairs);
        std::size_t truncated = 0;
        for (const auto& s : scores) {
            truncated += s.truncated ? 1 : 0;
            write_json_line(Json{{"score", s.score}, {"raw_score", s.raw_score}});
        }
        std::fflush(stdout);
        print_summary(scores.size(), truncated, reranker->max_length());
        return 0;
    }

    std::vector<std::string> docs;
    for_each_jsonl(std::cin, [&](const Json& line, std::size_t line_no) { docs.push_back(text_field(line, "text", line_no)); });
    const auto scores = reranker->score(args.query, docs);
    std::vector<RankedDocument> ranked(scores.size());
    std::size_t truncated = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        ranked[i] = {i, scores[i].score, scores[i].raw_score};
        truncated += scores[i].truncated ? 1 : 0;
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const RankedDocument& a, const RankedDocument& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.index < b.index;
    });
    if (args.top_n > 0 && ranked.size() > args.top_n) ranked.resize(args.top_n);
    for (const auto& r : ranked) write_json_line(Json{{"index", r.index}, {"score", r.score}, {"raw_score", r.raw_score}});
    std::fflush(stdout);
    print_summary(scores.size(), truncated, reranker->max_length());
    return 0;
}

CommandRegistrar registrar("rerank", [](CLI::App& app) {
    auto* sub = app.add_subcommand("rerank", "Score (query, document) pairs with a cross-encoder");
    auto args = std::make_shared<RerankArgs>();
    sub->add_option("--model", args->model, "Model folder (or hub id)")->required();
    auto* query = sub->add_option("--query", args->query, "Query; documents as JSONL {\"text\"} on stdin");
    auto* pairs = sub->add_flag("--pairs", args->pairs, "Read {\"query\",\"text\"} pairs on stdin, output in order");
    query->excludes(pairs);
    sub->add_flag("--pretokenized", args->pretokenized,
                  "With --pairs: read {\"input_ids\",\"token_type_ids\"} lines; print timing stats to stderr")
        ->needs(pairs);
    sub->add_option("--top-n", args->top_n, "Keep the N best documents (0 = all)");
    sub->add_option("--max-length", args->max_length, "Truncate pairs to N tokens (default: the model's limit)");
    sub->add_option("--precision", args->precision, "fp32|bf16|fp16|int8|auto (fp16: cuda only; int8: cpu only)")
        ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "int8"}));
    sub->add_option("--device", args->device, "cpu|cuda|auto (auto: cuda when a GPU and a CUDA implementation exist)")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    sub->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
    sub->add_option("--token-budget", args->token_budget, "Tokens per forward batch")->check(CLI::PositiveNumber);
    sub->add_option("--instruction", args->instruction,
                    "LLM rerankers (Qwen3-Reranker): the task instruction (default: the model's web-search one)");
    sub->callback([sub, args] {
        if (args->query.empty() && !args->pairs) throw CLI::RequiredError("--query or --pairs");
    });
    return [args] { return run_rerank(*args); };
});

}  // namespace
}  // namespace winnow::cli
