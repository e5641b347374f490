// `winnow tokenize`: JSONL in ({"text": ...} or {"text": ..., "text_pair": ...}), one JSON line out
// per input with ids, type_ids, tokens and offsets, as HF's Tokenizer.from_file(path).encode gives.
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_io.h"
#include "command.h"
#include "core/thread_pool.h"
#include "winnow/error.h"
#include "winnow/tokenizer.h"

namespace winnow::cli {
namespace {

struct TokenizeArgs {
    std::string tokenizer;
    std::size_t max_length = 0;
    bool no_special = false;
    bool no_truncation = false;
    bool no_padding = false;
};

struct Input {
    std::size_t line = 0;
    std::string text;
    std::optional<std::string> pair;
};

std::string encoding_json(const Encoding& e) {
    Json out = Json::object();
    out["ids"] = e.ids;
    out["type_ids"] = e.type_ids;
    out["tokens"] = e.tokens;
    Json offsets = Json::array();
    for (const auto& [s, t] : e.offsets) offsets.push_back(Json::array({s, t}));
    out["offsets"] = std::move(offsets);
    return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void read_inputs(std::vector<Input>& inputs, const std::function<void()>& flush, std::size_t chunk);

int run(const TokenizeArgs& args) {
    Tokenizer tok = Tokenizer::from_file(args.tokenizer);
    if (args.no_truncation) tok.set_truncation(std::nullopt);
    if (args.max_length > 0) {
        TruncationOptions t;
        t.max_length = args.max_length;
        t.strategy = TruncationStrategy::LongestFirst;
        tok.set_truncation(t);
    }
    if (args.no_padding) tok.set_padding(std::nullopt);
    const bool special = !args.no_special;

    constexpr std::size_t kChunk = 512;
    std::vector<Input> inputs;
    std::vector<std::string> outputs;
    std::vector<std::exception_ptr> errors;
    // Prints the chunk's lines in order; a line that failed stops the output there (the lines
    // before it are printed) and its error is thrown.
    auto flush = [&] {
        outputs.assign(inputs.size(), std::string());
        errors.assign(inputs.size(), nullptr);
        ThreadPool::global().parallel_for(inputs.size(), [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                const Input& in = inputs[i];
                try {
                    const Encoding e =
                        in.pair ? tok.encode_pair(in.text, *in.pair, special) : tok.encode(in.text, special);
                    outputs[i] = encoding_json(e);
                } catch (...) {
                    errors[i] = std::current_exception();
                }
            }
        });
        for (std::size_t i = 0; i < outputs.size(); ++i) {
            if (errors[i]) {
                std::fflush(stdout);
                inputs.clear();
                std::rethrow_exception(errors[i]);
            }
            std::fwrite(outputs[i].data(), 1, outputs[i].size(), stdout);
            std::fputc('\n', stdout);
        }
        inputs.clear();
    };
    // A bad line ends the run after the lines before it are printed.
    try {
        read_inputs(inputs, flush, kChunk);
    } catch (...) {
        flush();
        std::fflush(stdout);  // the lines before the bad one come out before its error
        throw;
    }
    flush();
    std::fflush(stdout);
    return 0;
}

void read_inputs(std::vector<Input>& inputs, const std::function<void()>& flush, std::size_t chunk) {
    for_each_jsonl(std::cin, [&](const Json& j, std::size_t line) {
        WINNOW_CHECK(j.is_object(), Errc::InvalidArgument, "stdin line {}: expected a JSON object", line);
        auto t = j.find("text");
        WINNOW_CHECK(t != j.end() && t->is_string(), Errc::InvalidArgument,
                     "stdin line {}: field 'text' must be a string", line);
        Input in;
        in.line = line;
        in.text = t->get<std::string>();
        if (auto p = j.find("text_pair"); p != j.end() && !p->is_null()) {
            WINNOW_CHECK(p->is_string(), Errc::InvalidArgument, "stdin line {}: field 'text_pair' must be a string",
                         line);
            in.pair = p->get<std::string>();
        }
        inputs.push_back(std::move(in));
        if (inputs.size() >= chunk) flush();
    });
}

CommandRegistrar registrar("tokenize", [](CLI::App& app) {
    auto* sub = app.add_subcommand("tokenize",
                                   "Tokenize JSONL from stdin ({\"text\": ..., \"text_pair\": ...}) with a "
                                   "tokenizer.json; prints ids, type_ids, tokens, offsets per line");
    auto args = std::make_shared<TokenizeArgs>();
    sub->add_option("--tokenizer", args->tokenizer, "tokenizer.json file or model folder")->required();
    sub->add_option("--max-length", args->max_length, "Truncate (longest_first) to N tokens")
        ->check(CLI::PositiveNumber);
    sub->add_flag("--no-special-tokens", args->no_special, "Do not add special tokens ([CLS], [SEP], <s>, ...)");
    sub->add_flag("--no-truncation", args->no_truncation, "Ignore the truncation configured in tokenizer.json");
    sub->add_flag("--no-padding", args->no_padding, "Ignore the padding configured in tokenizer.json");
    return [args]() { return run(*args); };
});

}  // namespace
}  // namespace winnow::cli
