// A test-time Qwen3 reranker/embedder folder made from the random-weight qwen3-lm fixture: the same
// config and weights, with the fixture tokenizer's unused special tokens renamed to the chat tokens
// Qwen3 uses (<|im_start|>, <|im_end|>, <|endoftext|>) and its [UNK] to "yes", so that the published
// prompt templates tokenize as they do with the real tokenizer (specials split out, "yes"/"no"
// single tokens) while every id stays inside the fixture model's 1500-token vocabulary.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/json.h"

namespace winnow::test {

inline const std::string kQwen3Fixture = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/qwen3-lm";

inline std::string make_qwen3_llm_folder(const std::string& name) {
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("winnow_qwen3_" + name + "_" + std::to_string(static_cast<long>(::getpid())));
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const char* file : {"config.json", "model.safetensors", "tokenizer_config.json", "generation_config.json"}) {
        fs::copy_file(fs::path(kQwen3Fixture) / file, dir / file);
        fs::permissions(dir / file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
    }
    Json tokenizer = load_json_file(kQwen3Fixture + "/tokenizer.json");
    const Json renames = {
        {"[UNK]", "yes"}, {"[CLS]", "<|im_start|>"}, {"[SEP]", "<|im_end|>"}, {"[MASK]", "<|endoftext|>"}};
    for (auto& token : tokenizer["added_tokens"]) {
        const std::string content = token["content"].get<std::string>();
        if (!renames.contains(content)) continue;
        const std::string renamed = renames[content].get<std::string>();
        token["content"] = renamed;
        token["special"] = renamed != "yes";
        auto& vocab = tokenizer["model"]["vocab"];
        vocab[renamed] = vocab[content];
        vocab.erase(content);
    }
    tokenizer["model"]["unk_token"] = nullptr;
    tokenizer["post_processor"] = nullptr;  // Qwen's tokenizers add no special tokens
    std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
    return dir.string();
}

}  // namespace winnow::test
