// A sentence-transformers model folder: modules.json (Transformer -> Pooling -> [Normalize]),
// 1_Pooling/config.json, sentence_bert_config.json (max_seq_length) and
// config_sentence_transformers.json (prompts). A plain HF folder without modules.json gets
// sentence-transformers' defaults: mean pooling, no normalisation.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "models/pooling.h"

namespace winnow {

struct SentenceTransformersConfig {
    bool from_modules = false;       // modules.json was found
    std::string transformer_folder;  // where config.json and the weights live
    Pooling pooling;
    bool normalize = false;
    std::size_t max_seq_length = 0;  // 0: not set (use the tokenizer's model_max_length)
    std::map<std::string, std::string> prompts;
    std::string default_prompt_name;

    // The prompt for a prompt name, or "" when absent.
    std::string prompt(const std::string& name) const;
};

// Errc::Unsupported for a module winnow cannot run (e.g. Dense), naming modules.json and the type.
SentenceTransformersConfig load_sentence_transformers_config(const std::string& folder);

}  // namespace winnow
