// Model: a transformer loaded from a Hugging Face folder, run over unpadded batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "winnow/reranker.h"

namespace winnow {

// Sequences of different lengths, concatenated: sequence s is rows cu_seqlens[s]..cu_seqlens[s+1].
struct TokenBatch {
    std::vector<std::int32_t> input_ids;
    std::vector<std::int32_t> token_type_ids;  // empty: all zero
    std::vector<std::uint32_t> cu_seqlens{0};

    // Appends one sequence; type_ids may be empty (zeros) or match ids in length.
    void add(std::span<const std::int32_t> ids, std::span<const std::int32_t> type_ids = {});
    std::size_t n_sequences() const noexcept { return cu_seqlens.size() - 1; }
    std::size_t n_tokens() const noexcept { return input_ids.size(); }
    std::size_t length(std::size_t s) const noexcept { return cu_seqlens[s + 1] - cu_seqlens[s]; }
};

struct LoadOptions {
    Precision precision = Precision::Fp32;  // of the linear layers
    Device device = Device::Cpu;            // registry.cpp resolves Auto before an architecture sees it
};

struct ModelInfo {
    std::string model_type;
    std::string folder;
    std::size_t hidden_size = 0;
    std::size_t vocab_size = 0;
    std::size_t type_vocab_size = 0;  // 0: no token type embeddings
    std::size_t max_tokens = 0;       // longest sequence the position scheme allows
    std::size_t num_labels = 0;       // > 0 when a sequence-classification head was loaded
    Precision precision = Precision::Fp32;
    Device device = Device::Cpu;  // where forward() computes (its results are host tensors either way)
};

class Model {
public:
    virtual ~Model() = default;

    const ModelInfo& info() const noexcept { return info_; }

    // Final hidden states [n_tokens x hidden_size]. Validates the batch (token ids inside the
    // vocabulary, lengths within max_tokens): Errc::InvalidArgument otherwise. Thread-safe.
    Tensor forward(const TokenBatch& batch) const;
    // Sequence-classification logits [n_sequences x num_labels] from forward()'s output.
    // Errc::Unsupported when the model has no classification head.
    Tensor classify(const TokenBatch& batch, const Tensor& hidden) const;
    // The same logits straight from a batch (validated as forward() does). Architectures whose head reads one
    // token (BERT, XLM-R: the first) run their last layer for that token's row only, since no other row of it
    // reaches the head: the same logits for about 1/n_layers less work.
    Tensor logits(const TokenBatch& batch) const;
    // The final hidden state of each sequence's first token [n_sequences x hidden_size] (CLS pooling), validated as
    // forward() is; BERT and XLM-R compute their last layer for those rows only.
    Tensor first_token_states(const TokenBatch& batch) const;

protected:
    explicit Model(ModelInfo info) : info_(std::move(info)) {}
    virtual Tensor encode(const TokenBatch& batch) const = 0;
    virtual Tensor classify_hidden(const TokenBatch& batch, const Tensor& hidden) const;
    // logits() after validation; by default classify_hidden(encode()).
    virtual Tensor encode_logits(const TokenBatch& batch) const;
    // first_token_states() after validation; by default the first rows of encode().
    virtual Tensor encode_first_tokens(const TokenBatch& batch) const;

    ModelInfo info_;

private:
    void validate(const TokenBatch& batch) const;
};

}  // namespace winnow
