// The shared benchmark cross-encoder (../shared/bench/minilm-l6-v1024: MiniLM-L6 shape, 1024-token
// vocabulary, no tokenizer) made usable on text: a folder with its config and weights linked and a
// generated WordPiece tokenizer whose vocabulary is [PAD] [UNK] [CLS] [SEP] then the words w0..w1019
// (id i + 4 for "w<i>"), so that text written with bench_word() tokenizes back to the same ids.
// Header-only, for the benchmark drivers (bench_server_load, bench_inference --texts).
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/json.h"

namespace winnow::bench {

// The word of token id `id` (>= 4) in the generated vocabulary.
inline std::string bench_word(int id) {
    return fmt::format("w{}", id - 4);
}

// Writes the folder `dir` (created; its config.json and model.safetensors link to `model`'s) and returns it.
inline std::string make_bench_model(const std::filesystem::path& model, const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    for (const char* f : {"config.json", "model.safetensors"}) {
        fs::remove(dir / f);
        fs::create_symlink(fs::absolute(model / f), dir / f);
    }
    Json vocab = Json::object();
    const char* specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"};
    Json added = Json::array();
    for (int i = 0; i < 4; ++i) {
        vocab[specials[i]] = i;
        added.push_back({{"id", i},
                         {"content", specials[i]},
                         {"single_word", false},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", false},
                         {"special", true}});
    }
    for (int i = 4; i < 1024; ++i) vocab[bench_word(i)] = i;
    Json tok{{"version", "1.0"},
             {"truncation", nullptr},
             {"padding", nullptr},
             {"added_tokens", added},
             {"normalizer",
              {{"type", "BertNormalizer"},
               {"clean_text", true},
               {"handle_chinese_chars", true},
               {"strip_accents", nullptr},
               {"lowercase", true}}},
             {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
             {"post_processor", {{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}}},
             {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
             {"model",
              {{"type", "WordPiece"},
               {"unk_token", "[UNK]"},
               {"continuing_subword_prefix", "##"},
               {"max_input_chars_per_word", 100},
               {"vocab", vocab}}}};
    std::ofstream(dir / "tokenizer.json") << tok.dump();
    std::ofstream(dir / "tokenizer_config.json") << Json{{"model_max_length", 512}}.dump();
    return dir.string();
}

}  // namespace winnow::bench
