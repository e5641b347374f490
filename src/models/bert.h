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

// What config.json and the weights say about a BERT-family model, read and checked once for both
// backends (bert.cpp on the CPU, cuda/bert_cuda.cpp on the GPU).
struct BertShape {
    std::size_t hidden = 0;
    std::size_t n_layers = 0;
    std::size_t n_heads = 0;
    std::size_t intermediate = 0;
    std::size_t vocab = 0;
    std::size_t max_positions = 0;
    std::size_t type_vocab = 0;
    float eps = 1e-12f;
    Activation activation = Activation::Gelu;
    std::string prefix;          // where the encoder's tensors are ("bert.", "roberta." or "")
    std::size_t num_labels = 0;  // > 0: a sequence-classification head is present
    std::size_t max_tokens = 0;  // longest sequence the positions allow

    static BertShape read(const ModelConfig& config, const WeightStore& weights, const BertVariant& variant);
    // The tensor names of layer i's query, key and value projections (without ".weight").
    std::vector<std::string> qkv_names(std::size_t layer) const;
    std::string layer_prefix(std::size_t layer) const;
};

// Per-token position ids of a batch: 0, 1, ... per sequence, or RoBERTa's (pads keep padding_idx,
// other tokens count up from padding_idx + 1).
std::vector<std::int32_t> bert_position_ids(const TokenBatch& batch, const std::optional<std::int32_t>& padding_idx);

#ifdef WINNOW_HAVE_CUDA
// The same architectures on the GPU (cuda/bert_cuda.cpp).
std::unique_ptr<Model> create_bert_cuda(const ModelConfig& config, const WeightStore& weights,
                                        const LoadOptions& options, BertVariant variant);
#endif

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
