// Tokenizer throughput: encodes every document of a JSONL file ({"title", "text"} or {"text"}) with
// 1 or N threads and prints one JSON line with tokens/s and MB/s (best of --repeat runs).
//   bench_tokenizer --tokenizer <tokenizer.json> --input <docs.jsonl> [--threads N] [--repeat R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "winnow/tokenizer.h"

int main(int argc, char** argv) {
    std::string tokenizer_path;
    std::string input;
    int threads = 1;
    int repeat = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--tokenizer") tokenizer_path = argv[i + 1];
        else if (a == "--input") input = argv[i + 1];
        else if (a == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
        else if (a == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
    }
    if (tokenizer_path.empty() || input.empty()) {
        std::fprintf(stderr, "usage: bench_tokenizer --tokenizer <tokenizer.json> --input <docs.jsonl> [--threads N] [--repeat R]\n");
        return 2;
    }
    std::vector<std::string> docs;
    std::ifstream in(input);
    std::string line;
    std::size_t bytes = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const winnow::Json j = winnow::Json::parse(line);
        std::string text = j.value("title", std::string());
        if (!text.empty()) text += ' ';
        text += j.value("text", std::string());
        bytes += text.size();
        docs.push_back(std::move(text));
    }
    const winnow::Tokenizer tok = winnow::Tokenizer::from_file(tokenizer_path);
    double best = 1e30;
    std::size_t tokens = 0;
    for (int r = 0; r < repeat; ++r) {
        std::vector<std::size_t> counts(static_cast<std::size_t>(threads), 0);
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back([&, t] {
                std::size_t n = 0;
                for (std::size_t i = static_cast<std::size_t>(t); i < docs.size(); i += static_cast<std::size_t>(threads)) {
                    n += tok.encode(docs[i]).ids.size();
                }
                counts[static_cast<std::size_t>(t)] = n;
            });
        }
        for (auto& th : pool) th.join();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::min(best, s);
        tokens = 0;
        for (std::size_t c : counts) tokens += c;
    }
    std::printf("{\"impl\": \"winnow\", \"tokenizer\": \"%s\", \"threads\": %d, \"docs\": %zu, \"bytes\": %zu, "
                "\"tokens\": %zu, \"seconds\": %.4f, \"tokens_per_s\": %.0f, \"mb_per_s\": %.2f}\n",
                tokenizer_path.c_str(), threads, docs.size(), bytes, tokens, best, tokens / best, bytes / best / 1e6);
    return 0;
}
