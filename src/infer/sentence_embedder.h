// SentenceEmbedder: a sentence-transformers model (or a plain HF encoder with the defaults):
// tokenize (truncating at max_seq_length) -> encoder -> pooling -> optional L2 normalisation,
// with the folder's query/document prompts prepended.
#pragma once

#include <memory>
#include <string>

#include "models/model.h"
#include "models/sentence_transformers.h"
#include "winnow/embedder.h"

namespace winnow {

class SentenceEmbedder final : public Embedder {
public:
    SentenceEmbedder(const std::string& folder, const ModelOptions& options);

    std::vector<std::vector<float>> embed(std::span<const std::string> texts, EmbedKind kind = EmbedKind::Document,
                                          std::size_t dimensions = 0) const override;
    std::vector<std::vector<float>> embed_with_stats(std::span<const std::string> texts, EmbedKind kind,
                                                     std::size_t dimensions, EmbedStats& stats) const override;
    std::size_t dimension() const override { return dimension_; }
    bool normalized() const override { return config_.normalize; }
    const Tokenizer& tokenizer() const override { return tokenizer_; }
    std::size_t max_length() const override { return max_length_; }
    std::string name() const override { return folder_; }

    // The prompt prepended for `kind` ("" when the model has none).
    std::string prompt(EmbedKind kind) const;
    const SentenceTransformersConfig& config() const noexcept { return config_; }
    // Pre-tokenized sequences (special tokens included) -> pooled, normalized vectors.
    std::vector<std::vector<float>> embed_tokenized(std::span<const std::vector<std::int32_t>> sequences,
                                                    std::span<const std::uint32_t> prompt_lengths = {}) const;

private:
    std::string folder_;
    ModelOptions options_;
    SentenceTransformersConfig config_;
    std::unique_ptr<Model> model_;
    Tokenizer tokenizer_;
    std::size_t max_length_ = 0;
    std::size_t dimension_ = 0;
};

}  // namespace winnow
