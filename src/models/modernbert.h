// ModernBERT (gte-reranker-modernbert, ModernBERT-base/large): what config.json and the weights say
// about a model, read and checked once for both backends (modernbert.cpp on the CPU,
// cuda/modernbert_cuda.cpp on the GPU), so the two agree on every flag: which norms and linears have
// biases, the activations, the RoPE theta and attention window of each layer, the head's pooling.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "models/layers.h"

namespace winnow {

struct ModernBertShape {
    std::size_t hidden = 0;
    std::size_t n_layers = 0;
    std::size_t n_heads = 0;
    std::size_t intermediate = 0;
    std::size_t vocab = 0;
    std::size_t max_positions = 0;
    float eps = 1e-5f;
    bool norm_bias = false;                    // LayerNorms have a beta
    bool attention_bias = false;               // attn.Wqkv and attn.Wo have biases
    bool mlp_bias = false;                     // mlp.Wi and mlp.Wo have biases
    Activation activation = Activation::Gelu;  // of the GeGLU's input half
    double global_theta = 160000;              // RoPE theta of the global layers
    double local_theta = 10000;                // and of the sliding-window ones
    std::size_t window = 0;                    // local layers: query i sees keys j with |i - j| <= window
    std::vector<bool> global;                  // per layer: global attention (else the sliding window)
    // Sequence-classification head (num_labels > 0): pooled (mean or first token) -> dense -> act -> LN -> classifier.
    std::size_t num_labels = 0;
    bool mean_pooling = false;
    Activation head_activation = Activation::Gelu;
    bool head_dense_bias = false;  // config classifier_bias
    bool classifier_bias = false;  // classifier.bias present

    static ModernBertShape read(const ModelConfig& config, const WeightStore& weights);
    std::size_t head_dim() const noexcept { return hidden / n_heads; }
    std::string layer_prefix(std::size_t layer) const;  // "model.layers.<i>."
};

}  // namespace winnow
