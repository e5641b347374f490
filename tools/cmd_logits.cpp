// `winnow logits --model <dir>`: runs a causal LM (qwen3) over token ids and prints the last
// position's numbers, for checking any causal model against a reference implementation.
//   stdin:  {"input_ids": [...]} per line
//   stdout: {"last_logits": [vocab floats], "last_hidden": [hidden floats]} per line, in order
#include <iostream>

#include "cli_io.h"
#include "command.h"
#include "models/causal_lm.h"
#include "models/model_path.h"
#include "tensor/kernels.h"
#include "winnow/error.h"

namespace winnow::cli {
namespace {

struct LogitsArgs {
    std::string model;
    std::string precision = "fp32";
    std::size_t threads = 0;
};

int run_logits(const LogitsArgs& args) {
    LoadOptions load;
    load.precision = parse_precision(args.precision);
    const auto model = load_causal_lm(resolve_model_path(args.model), load);
    const ScopedThreads threads(args.threads);
    for_each_jsonl(std::cin, [&](const Json& line, std::size_t line_no) {
        auto it = line.is_object() ? line.find("input_ids") : line.end();
        WINNOW_CHECK(line.is_object() && it != line.end() && it->is_array() && !it->empty(), Errc::InvalidArgument,
                     "stdin line {}: expected a non-empty array 'input_ids'", line_no);
        std::vector<std::int32_t> ids;
        ids.reserve(it->size());
        for (const auto& v : *it) {
            WINNOW_CHECK(v.is_number_integer(), Errc::InvalidArgument, "stdin line {}: 'input_ids' must hold integers",
                         line_no);
            ids.push_back(
                json_value_as<std::int32_t>(v, "input_ids", fmt::format("stdin line {}", line_no), Errc::InvalidArgument));
        }
        TokenBatch batch;
        batch.add(ids);
        const Tensor hidden = model->forward(batch);
        const float* last = hidden.row(hidden.rows() - 1);
        write_json_line(Json{{"last_logits", model->logits(last)},
                             {"last_hidden", std::vector<float>(last, last + hidden.cols())}});
    });
    return 0;
}

CommandRegistrar registrar("logits", [](CLI::App& app) {
    auto* sub = app.add_subcommand("logits", "Last-position logits and hidden state of a causal LM for token ids");
    auto args = std::make_shared<LogitsArgs>();
    sub->add_option("--model", args->model, "Model folder (or hub id) of a causal LM (qwen3)")->required();
    sub->add_option("--precision", args->precision, "fp32|bf16|int8|auto")
        ->check(CLI::IsMember({"auto", "fp32", "bf16", "int8"}));
    sub->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
    return [args] { return run_logits(*args); };
});

}  // namespace
}  // namespace winnow::cli
