// winnow::Embedder: text -> vector with a sentence-transformers model (pooling, normalize) or an
// LLM embedder (last-token pooling). Thread-safe; one loaded model shared by all threads.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "winnow/reranker.h"

namespace winnow {

enum class EmbedKind { Document, Query };  // selects the prompt/instruction prefix, if the model has one

// What an embed call did (accumulated by embed_with_stats).
struct EmbedStats {
    std::size_t n_texts = 0;
    std::size_t n_tokens = 0;     // tokens fed to the model (0 when the implementation does not count)
    std::size_t n_truncated = 0;  // texts cut to max_length()
};

class Embedder {
public:
    static std::shared_ptr<Embedder> load(const std::string& model, const ModelOptions& options = {});
    virtual ~Embedder() = default;

    // One vector per text, dimension() floats each (or `dimensions` when > 0: Matryoshka
    // truncation, re-normalized if the model normalizes).
    virtual std::vector<std::vector<float>> embed(std::span<const std::string> texts,
                                                  EmbedKind kind = EmbedKind::Document,
                                                  std::size_t dimensions = 0) const = 0;
    // embed(), also adding to `stats` (the CLI reports truncated inputs). The default counts texts
    // only; implementations that tokenize override it.
    virtual std::vector<std::vector<float>> embed_with_stats(std::span<const std::string> texts, EmbedKind kind,
                                                             std::size_t dimensions, EmbedStats& stats) const;

    virtual std::size_t dimension() const = 0;
    virtual bool normalized() const = 0;
    virtual const Tokenizer& tokenizer() const = 0;
    virtual std::size_t max_length() const = 0;
    virtual std::string name() const = 0;
};

}  // namespace winnow
