// LlmEmbedder: a decoder LM used as an embedder the way Qwen3-Embedding is published: the text
// (queries prefixed with "Instruct: {task}\nQuery:", documents as they are) is tokenized without
// special tokens, cut to max_length - 1, the end-of-text token (<|endoftext|>) appended, and the
// final hidden state of that last token is the embedding, L2-normalized. Matryoshka truncation to
// fewer dimensions re-normalizes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "winnow/embedder.h"

namespace winnow {

class LlmEmbedder final : public Embedder {
public:
    // `folder` is a local model folder (already resolved). The query instruction is
    // options.instruction, else config_sentence_transformers.json's "query" prompt, else the
    // Qwen3 default task. Errc::Unsupported when no end-of-text token is known.
    LlmEmbedder(const std::string& folder, const ModelOptions& options);

    std::vector<std::vector<float>> embed(std::span<const std::string> texts, EmbedKind kind = EmbedKind::Document,
                                          std::size_t dimensions = 0) const override;
    std::vector<std::vector<float>> embed_with_stats(std::span<const std::string> texts, EmbedKind kind,
                                                     std::size_t dimensions, EmbedStats& stats) const override;
    std::size_t dimension() const override { return model_->info().hidden_size; }
    bool normalized() const override { return true; }
    const Tokenizer& tokenizer() const override { return tokenizer_; }
    std::size_t max_length() const override { return max_length_; }
    std::string name() const override { return folder_; }

    // The text prepended for `kind` ("" for documents unless the folder sets one).
    const std::string& prompt(EmbedKind kind) const noexcept {
        return kind == EmbedKind::Query ? query_prompt_ : document_prompt_;
    }
    std::int32_t eos_id() const noexcept { return eos_id_; }
    // The token ids the model sees for one text.
    std::vector<std::int32_t> tokenize(std::string_view text, EmbedKind kind, bool* truncated = nullptr) const;
    // Pre-tokenized sequences (already ending in the end-of-text token) -> normalized vectors.
    std::vector<std::vector<float>> embed_tokenized(std::span<const std::vector<std::int32_t>> sequences) const;
    const CausalLm& model() const noexcept { return *model_; }

private:
    std::string folder_;
    ModelOptions options_;
    std::unique_ptr<CausalLm> model_;
    Tokenizer tokenizer_;
    std::size_t max_length_ = 0;
    std::string query_prompt_;
    std::string document_prompt_;
    std::int32_t eos_id_ = -1;
};

}  // namespace winnow
