// The BERT encoder family: BERT itself (MiniLM, bge, e5, gte-base) and, with its position and head
// variants, RoBERTa / XLM-RoBERTa (xlm_roberta.cpp). Post-norm layers:
//   x = LN(x + Wo·attention(Wqkv·x)); x = LN(x + W2·act(W1·x)).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/layers.h"
#include "models/model.h"
#include "tensor/attention.h"

namespace winnow {

struct BertVariant {
    std::string prefix;                       // tensor name prefix: "bert.", "roberta." or ""
    std::optional<std::int32_t> padding_idx;  // RoBERTa: positions count non-pad tokens from padding_idx + 1
    enum class Head { Pooler, Roberta } head = Head::Pooler;  // BERT pooler+classifier / RoBERTa dense+out_proj
    std::string classifier_weight;            // the tensor whose presence means a classification head
};

class BertModel final : public Model {
public:
    BertModel(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options, BertVariant variant);

private:
    struct Layer {
        Linear qkv;       // query, key, value stacked: [3H x H]
        Linear attn_out;  // attention.output.dense
        LayerNorm attn_norm;
        Linear ffn_up;    // intermediate.dense
        Linear ffn_down;  // output.dense
        LayerNorm ffn_norm;
    };

    Tensor encode(const TokenBatch& batch) const override;
    Tensor classify_hidden(const TokenBatch& batch, const Tensor& hidden) const override;
    Tensor encode_logits(const TokenBatch& batch) const override;
    Tensor encode_first_tokens(const TokenBatch& batch) const override;
    // Every layer over every row (last_layer_first_only: the last layer for each sequence's first row only, the
    // rows [n_sequences x hidden] returned then).
    Tensor run_encoder(const TokenBatch& batch, bool last_layer_first_only) const;
    Tensor run_last_layer_first_only(const Layer& layer, const TokenBatch& batch, const Tensor& x,
                                     const AttentionShape& shape) const;
    // The classification head over the first token's final hidden state of each sequence [n x hidden].
    Tensor classify_first(const Tensor& first) const;
    std::vector<std::int32_t> position_ids(const TokenBatch& batch) const;

    BertVariant variant_;
    std::size_t n_heads_ = 0;
    Activation activation_ = Activation::Gelu;
    Tensor word_embeddings_;
    Tensor position_embeddings_;
    Tensor token_type_embeddings_;
    LayerNorm embeddings_norm_;
    std::vector<Layer> layers_;
    // With a classification head: the last layer's query and key/value projections apart, for logits(), which
    // needs every token's keys and values but only the first token's query (without a head, that layer's fused
    // projection runs for every row instead).
    Linear last_query_;
    Linear last_key_value_;
    Linear head_dense_;  // pooler.dense (tanh) or classifier.dense (tanh)
    Linear head_out_;    // classifier or classifier.out_proj
};

}  // namespace winnow
