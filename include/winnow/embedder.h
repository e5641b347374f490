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

class Embedder {
public:
    static std::shared_ptr<Embedder> load(const std::string& model, const ModelOptions& options = {});
    virtual ~Embedder() = default;

    // One vector per text, dimension() floats each (or `dimensions` when > 0: Matryoshka
    // truncation, re-normalized if the model normalizes).
    virtual std::vector<std::vector<float>> embed(std::span<const std::string> texts,
                                                  EmbedKind kind = EmbedKind::Document,
                                                  std::size_t dimensions = 0) const = 0;

    virtual std::size_t dimension() const = 0;
    virtual bool normalized() const = 0;
    virtual const Tokenizer& tokenizer() const = 0;
    virtual std::size_t max_length() const = 0;
    virtual std::string name() const = 0;
};

}  // namespace winnow
