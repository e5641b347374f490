// bench_inference: scores pre-tokenized pairs (the format of pairs-256.jsonl) with a cross-encoder at one
// precision, one warm-up pass then the best of --repeat timed passes (ONNX Runtime's bench does the same).
//   bench_inference --model DIR --pairs FILE [--precision fp32|bf16|fp16|int8|auto] [--device cpu|cuda|auto]
//                   [--threads 2] [--repeat 3] [--token-budget 16384] [--total N] [--latency-pairs 100]
//                   [--scores OUT.jsonl] [--texts 1]
// --total N repeats the file's pairs to N pairs (the GPU workload: 16,384 = pairs-256 x 64).
// --latency-pairs P also times single requests of the first P pairs (p50 and p99 of 50 calls after
// 5 warm-up calls): the latency one API request of P candidates meets.
// --texts 1 scores text instead, as a user's call does (tokenize + score): each pair written back as words of
// the generated vocabulary of common/bench_model.h (the bench model only), scored with score_pairs on a copy
// of the model folder with that tokenizer; the line adds "input":"texts" and "tokenize_one_thread_s", the
// time to tokenize every pair on one thread (what score_pairs did before it tokenized on every core and,
// on a GPU, overlapped tokenizing with scoring).
// Prints one JSON line: {"pairs","tokens","seconds","pairs_per_s","tokens_per_s","precision","device","threads"
// [, "latency_pairs","latency_p50_ms","latency_p99_ms"]}; --scores writes {"raw_score"} lines in input order.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "common/bench_model.h"
#include "core/json.h"
#include "tensor/threads.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace {

std::vector<std::int32_t> ints(const winnow::Json& line, const char* key) {
    std::vector<std::int32_t> out;
    for (const auto& v : line.at(key)) out.push_back(v.get<std::int32_t>());
    return out;
}

// One warm-up call (primitives created, buffers sized), then the best of `repeat` timed calls, in seconds.
template <class Fn>
double best_of(std::size_t repeat, const Fn& fn) {
    fn();
    double best = 1e300;
    for (std::size_t r = 0; r < repeat; ++r) {
        const auto start = std::chrono::steady_clock::now();
        fn();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

// {"raw_score"} lines in input order (nothing without a path).
void write_scores(const std::string& path, const std::vector<winnow::PairScore>& scores) {
    if (path.empty()) return;
    std::ofstream out(path);
    for (const auto& s : scores) out << winnow::Json{{"raw_score", s.raw_score}}.dump() << '\n';
}

// [CLS] q [SEP] d [SEP] as the texts (q, d) in the generated vocabulary's words.
std::pair<std::string, std::string> as_text(const winnow::TokenizedPair& pair) {
    std::string text[2];
    int part = -1;
    for (std::int32_t id : pair.input_ids) {
        if (id == 2 || id == 3) {
            ++part;
            continue;
        }
        WINNOW_CHECK(part >= 0 && part < 2 && id >= 4 && id < 1024, winnow::Errc::InvalidArgument,
                     "--texts: token {} is not a bench-model pair's ([CLS] q [SEP] d [SEP], ids 4..1023)", id);
        if (!text[part].empty()) text[part] += ' ';
        text[part] += winnow::bench::bench_word(id);
    }
    return {text[0], text[1]};
}

int run_texts(const std::string& model, const std::vector<winnow::TokenizedPair>& pairs, std::size_t tokens,
              const winnow::ModelOptions& options, std::size_t repeat, const std::string& scores_path) {
    std::vector<std::pair<std::string, std::string>> text_pairs;
    text_pairs.reserve(pairs.size());
    for (const auto& pair : pairs) text_pairs.push_back(as_text(pair));
    const std::string folder = winnow::bench::make_bench_model(
        model, std::filesystem::temp_directory_path() / "winnow_bench_inference_texts");
    const auto reranker = winnow::Reranker::load(folder, options);
    // One thread, every pair: what tokenizing cost a call before; and a check that the text is the pair.
    const auto start_tokenize = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < text_pairs.size(); ++i) {
        const auto encoding = reranker->tokenizer().encode_pair(text_pairs[i].first, text_pairs[i].second);
        WINNOW_CHECK(i > 0 || encoding.ids == pairs[0].input_ids, winnow::Errc::Internal,
                     "--texts: the first pair does not tokenize back to its ids");
    }
    const double tokenize_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_tokenize).count();
    std::vector<winnow::PairScore> scores;
    const double best = best_of(repeat, [&] { scores = reranker->score_pairs(text_pairs); });
    write_scores(scores_path, scores);
    const winnow::Json stats{{"input", "texts"},
                             {"pairs", pairs.size()},
                             {"tokens", tokens},
                             {"seconds", best},
                             {"pairs_per_s", static_cast<double>(pairs.size()) / best},
                             {"tokens_per_s", static_cast<double>(tokens) / best},
                             {"tokenize_one_thread_s", tokenize_s},
                             {"precision", std::string(winnow::precision_name(reranker->precision()))},
                             {"device", std::string(winnow::device_name(reranker->device()))},
                             {"threads", options.n_threads}};
    std::printf("%s\n", stats.dump().c_str());
    return 0;
}

int run(int argc, char** argv) {
    std::string model, pairs_path, scores_path, precision = "auto", device = "auto";
    std::size_t threads = 2, repeat = 3, budget = 16384, total = 0, latency_pairs = 0;
    bool texts = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        const std::string value = argv[i + 1];
        if (key == "--model")
            model = value;
        else if (key == "--pairs")
            pairs_path = value;
        else if (key == "--precision")
            precision = value;
        else if (key == "--device")
            device = value;
        else if (key == "--total")
            total = std::stoul(value);
        else if (key == "--latency-pairs")
            latency_pairs = std::stoul(value);
        else if (key == "--threads")
            threads = std::stoul(value);
        else if (key == "--repeat")
            repeat = std::max<std::size_t>(1, std::stoul(value));
        else if (key == "--token-budget")
            budget = std::stoul(value);
        else if (key == "--texts")
            texts = value == "1";
        else if (key == "--scores")
            scores_path = value;
        else {
            std::fprintf(stderr, "unknown option %s\n", key.c_str());
            return 2;
        }
    }
    if (model.empty() || pairs_path.empty()) {
        std::fprintf(stderr, "usage: bench_inference --model DIR --pairs FILE [--precision P] [--threads N]\n");
        return 2;
    }
    std::vector<winnow::TokenizedPair> pairs;
    std::ifstream in(pairs_path);
    WINNOW_CHECK(in.good(), winnow::Errc::NotFound, "cannot open {}", pairs_path);
    std::size_t tokens = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        const auto json = winnow::Json::parse(line);
        pairs.push_back({ints(json, "input_ids"), ints(json, "token_type_ids")});
        tokens += pairs.back().input_ids.size();
    }
    if (total > pairs.size() && !pairs.empty()) {
        const std::size_t file_pairs = pairs.size(), file_tokens = tokens;
        for (std::size_t i = file_pairs; i < total; ++i) pairs.push_back(pairs[i % file_pairs]);
        tokens = file_tokens * (total / file_pairs);
        for (std::size_t i = 0; i < total % file_pairs; ++i) tokens += pairs[i].input_ids.size();
    }
    winnow::ModelOptions options;
    options.precision = winnow::parse_precision(precision);
    options.device = winnow::parse_device(device);
    options.n_threads = threads;
    options.token_budget = budget;
    if (texts) return run_texts(model, pairs, tokens, options, repeat, scores_path);
    const auto reranker = winnow::Reranker::load(model, options);
    std::vector<winnow::PairScore> scores;
    const double best = best_of(repeat, [&] { scores = reranker->score_tokenized(pairs); });
    write_scores(scores_path, scores);
    winnow::Json stats{{"pairs", pairs.size()},
                             {"tokens", tokens},
                             {"seconds", best},
                             {"pairs_per_s", static_cast<double>(pairs.size()) / best},
                             {"tokens_per_s", static_cast<double>(tokens) / best},
                             {"precision", std::string(winnow::precision_name(reranker->precision()))},
                             {"device", std::string(winnow::device_name(reranker->device()))},
                             {"threads", threads}};
    if (latency_pairs > 0) {
        const std::span<const winnow::TokenizedPair> request(pairs.data(), std::min(latency_pairs, pairs.size()));
        std::vector<double> ms;
        for (int i = 0; i < 55; ++i) {
            const auto start = std::chrono::steady_clock::now();
            reranker->score_tokenized(request);
            if (i >= 5) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        }
        std::sort(ms.begin(), ms.end());
        stats["latency_pairs"] = request.size();
        stats["latency_p50_ms"] = ms[ms.size() / 2];
        stats["latency_p99_ms"] = ms[ms.size() * 99 / 100];
    }
    std::printf("%s\n", stats.dump().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // What the CLI does (OMP_WAIT_POLICY=active or passive in the environment to compare).
    winnow::use_bounded_openmp_wait(argv);
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_inference: %s\n", e.what());
        return 1;
    }
}
