// Qwen3 decoder (Qwen3-Reranker, Qwen3-Embedding, Qwen3 base/instruct), pre-norm layers:
//   h = RMSNorm(x);  q, k, v = Wq h, Wk h, Wv h;  q, k = RoPE(RMSNorm_head(q)), RoPE(RMSNorm_head(k))
//   x += Wo · causal_attention(q, k, v)      (grouped-query: n_kv_heads <= n_heads, head_dim from config)
//   x += Wdown · (silu(Wgate RMSNorm(x)) * Wup RMSNorm(x))   (SwiGLU)
// then a final RMSNorm; the LM head is the embedding matrix (tie_word_embeddings) or lm_head.weight.
// Tensors are read with or without the "model." prefix (Qwen3ForCausalLM vs bare Qwen3Model
// checkpoints). Every sequence of a batch may continue a shared KV-cached prefix.
#include "models/qwen3.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "models/causal_lm.h"
#include "models/layers.h"
#include "tensor/decoder_kernels.h"
#include "winnow/error.h"

namespace winnow {

namespace {

class Qwen3Model final : public CausalLm {
public:
    Qwen3Model(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options);

private:
    struct Layer {
        Tensor input_norm;  // [hidden]
        Linear qkv;         // q_proj, k_proj, v_proj stacked: [(n_heads + 2 n_kv_heads) * head_dim x hidden]
        Tensor q_norm;      // [head_dim]
        Tensor k_norm;      // [head_dim]
        Linear o_proj;      // [hidden x n_heads * head_dim]
        Tensor post_norm;   // [hidden]
        Linear gate_up;     // gate_proj, up_proj stacked: [2 intermediate x hidden]
        Linear down;        // [hidden x intermediate]
    };

    Tensor decode(const TokenBatch& batch, const KvCache* prefix, KvCache* cache_out) const override;
    KvCache make_cache(std::size_t length) const override { return KvCache(layers_.size(), length, kv_dim()); }
    std::size_t q_dim() const noexcept { return n_heads_ * head_dim_; }
    std::size_t kv_dim() const noexcept { return n_kv_heads_ * head_dim_; }

    std::size_t n_heads_ = 0;
    std::size_t n_kv_heads_ = 0;
    std::size_t head_dim_ = 0;
    std::size_t intermediate_ = 0;
    float eps_ = 1e-6f;
    double rope_theta_ = 10000.0;
    Activation activation_ = Activation::Silu;
    Tensor embed_tokens_;  // [vocab x hidden]
    std::vector<Layer> layers_;
    Tensor final_norm_;
    Tensor lm_head_weight_;  // untied checkpoints only
};

// rope_parameters.rope_theta (transformers 5) or rope_theta (4.x); only the default rotary scheme.
double qwen3_rope_theta(const ModelConfig& config) {
    const Json& json = config.json();
    auto params = json.find("rope_parameters");
    if (params == json.end() || !params->is_object()) params = json.find("rope_scaling");
    if (params != json.end() && params->is_object()) {
        const auto type = json_get_or<std::string>(*params, "rope_type", "default", config.where());
        WINNOW_CHECK(type == "default", Errc::Unsupported, "{}: unsupported rope_type '{}' (only 'default')",
                     config.where(), type);
        if (params->contains("rope_theta")) return json_get<double>(*params, "rope_theta", config.where());
    }
    return config.get_or<double>("rope_theta", 10000.0);
}

Linear load_stacked(const WeightStore& weights, const std::vector<std::pair<std::string, std::size_t>>& parts,
                    std::size_t in, bool bias, Precision precision) {
    std::size_t out = 0;
    for (const auto& part : parts) out += part.second;
    Tensor weight(out, in);
    Tensor b = bias ? Tensor(1, out) : Tensor();
    std::size_t row = 0;
    for (const auto& [name, rows] : parts) {
        const Tensor w = weights.get(name + ".weight", {rows, in});
        std::memcpy(weight.row(row), w.data(), w.size() * sizeof(float));
        if (bias) {
            const Tensor pb = weights.get(name + ".bias", {rows});
            std::memcpy(b.data() + row, pb.data(), rows * sizeof(float));
        }
        row += rows;
    }
    return Linear(weight, b, precision);
}

Qwen3Model::Qwen3Model(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options)
    : CausalLm(ModelInfo{}) {
    const std::size_t hidden = config.positive("hidden_size");
    const std::size_t n_layers = config.positive("num_hidden_layers");
    n_heads_ = config.positive("num_attention_heads");
    n_kv_heads_ = config.has("num_key_value_heads") && !config.json()["num_key_value_heads"].is_null()
                      ? config.positive("num_key_value_heads")
                      : n_heads_;
    WINNOW_CHECK(n_heads_ % n_kv_heads_ == 0, Errc::Corrupt,
                 "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", config.where(), n_heads_,
                 n_kv_heads_);
    head_dim_ = config.has("head_dim") && !config.json()["head_dim"].is_null() ? config.positive("head_dim")
                                                                               : hidden / n_heads_;
    WINNOW_CHECK(head_dim_ % 2 == 0, Errc::Corrupt, "{}: head_dim {} must be even for RoPE", config.where(), head_dim_);
    intermediate_ = config.positive("intermediate_size");
    const std::size_t vocab = config.positive("vocab_size");
    const std::size_t max_positions = config.positive("max_position_embeddings");
    eps_ = static_cast<float>(config.get_or<double>("rms_norm_eps", 1e-6));
    rope_theta_ = qwen3_rope_theta(config);
    activation_ = parse_activation(config.get_or<std::string>("hidden_act", "silu"), config.where());
    WINNOW_CHECK(!config.get_or<bool>("use_sliding_window", false), Errc::Unsupported,
                 "{}: use_sliding_window is not supported for qwen3", config.where());
    const bool attention_bias = config.get_or<bool>("attention_bias", false);
    const bool tied = config.get_or<bool>("tie_word_embeddings", false);
    const Precision precision = options.precision;  // resolved by load_model

    // Qwen3ForCausalLM stores "model.layers..."; a bare Qwen3Model checkpoint "layers...".
    const std::string root = weights.has("model.embed_tokens.weight") ? "model." : "";
    embed_tokens_ = weights.get(root + "embed_tokens.weight", {vocab, hidden});
    for (std::size_t i = 0; i < n_layers; ++i) {
        const std::string l = root + "layers." + std::to_string(i) + ".";
        Layer layer;
        layer.input_norm = weights.get(l + "input_layernorm.weight", {hidden});
        layer.qkv = load_stacked(
            weights,
            {{l + "self_attn.q_proj", q_dim()}, {l + "self_attn.k_proj", kv_dim()}, {l + "self_attn.v_proj", kv_dim()}},
            hidden, attention_bias, precision);
        layer.q_norm = weights.get(l + "self_attn.q_norm.weight", {head_dim_});
        layer.k_norm = weights.get(l + "self_attn.k_norm.weight", {head_dim_});
        layer.o_proj = load_linear(weights, l + "self_attn.o_proj", q_dim(), hidden, attention_bias, precision);
        layer.post_norm = weights.get(l + "post_attention_layernorm.weight", {hidden});
        layer.gate_up =
            load_stacked(weights, {{l + "mlp.gate_proj", intermediate_}, {l + "mlp.up_proj", intermediate_}}, hidden,
                         false, precision);
        layer.down = load_linear(weights, l + "mlp.down_proj", intermediate_, hidden, false, precision);
        layers_.push_back(std::move(layer));
    }
    final_norm_ = weights.get(root + "norm.weight", {hidden});
    if (tied) {
        lm_head_ = &embed_tokens_;
    } else if (weights.has("lm_head.weight")) {
        lm_head_weight_ = weights.get("lm_head.weight", {vocab, hidden});
        lm_head_ = &lm_head_weight_;
    }
    info_ = ModelInfo{config.model_type(), config.folder(), hidden, vocab, 0, max_positions, 0, precision};
}

Tensor Qwen3Model::decode(const TokenBatch& batch, const KvCache* prefix, KvCache* cache_out) const {
    WINNOW_ASSERT(cache_out == nullptr || (prefix == nullptr && batch.n_sequences() == 1));
    const std::size_t n_tokens = batch.n_tokens();
    const std::size_t hidden = info_.hidden_size;
    const std::size_t p_len = prefix != nullptr ? prefix->length() : 0;

    std::vector<std::uint32_t> positions(n_tokens);
    for (std::size_t s = 0; s < batch.n_sequences(); ++s) {
        for (std::size_t t = batch.cu_seqlens[s]; t < batch.cu_seqlens[s + 1]; ++t) {
            positions[t] = static_cast<std::uint32_t>(p_len + t - batch.cu_seqlens[s]);
        }
    }
    const RotaryAngles rotary(head_dim_, rope_theta_, positions);
    const AttentionShape shape{n_heads_, n_kv_heads_, head_dim_, 1.0f / std::sqrt(static_cast<float>(head_dim_)),
                               0,        true};

    Tensor x;
    embedding_lookup(embed_tokens_, batch.input_ids, x);
    Tensor normed(n_tokens, hidden), qkv, context(n_tokens, q_dim()), attn_out, mlp_in, gated(n_tokens, intermediate_),
        mlp_out;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
        const Layer& layer = layers_[l];
        rms_norm(x.data(), normed.data(), n_tokens, hidden, layer.input_norm.data(), eps_);
        layer.qkv.forward(normed, qkv);
        const std::size_t stride = qkv.cols();
        float* q = qkv.data();
        float* k = qkv.data() + q_dim();
        float* v = qkv.data() + q_dim() + kv_dim();
        rms_norm_heads(q, n_tokens, stride, n_heads_, head_dim_, layer.q_norm.data(), eps_);
        rms_norm_heads(k, n_tokens, stride, n_kv_heads_, head_dim_, layer.k_norm.data(), eps_);
        rotary.apply(q, stride, n_heads_);
        rotary.apply(k, stride, n_kv_heads_);
        if (cache_out != nullptr) {
            for (std::size_t t = 0; t < n_tokens; ++t) {
                std::memcpy(cache_out->keys(l).row(t), k + t * stride, kv_dim() * sizeof(float));
                std::memcpy(cache_out->values(l).row(t), v + t * stride, kv_dim() * sizeof(float));
            }
        }
        PrefixKv cached;
        if (prefix != nullptr) {
            cached = {prefix->keys(l).data(), prefix->values(l).data(), kv_dim(), p_len};
        }
        decoder_attention({q, stride}, {k, stride}, {v, stride}, batch.cu_seqlens, cached, context.data(), q_dim(),
                          shape);
        layer.o_proj.forward(context, attn_out);
        add_inplace(x.data(), attn_out.data(), x.size());

        rms_norm(x.data(), normed.data(), n_tokens, hidden, layer.post_norm.data(), eps_);
        layer.gate_up.forward(normed, mlp_in);
        gated_activation(mlp_in.data(), gated.data(), n_tokens, intermediate_, activation_);
        layer.down.forward(gated, mlp_out);
        add_inplace(x.data(), mlp_out.data(), x.size());
    }
    rms_norm(x.data(), x.data(), n_tokens, hidden, final_norm_.data(), eps_);
    return x;
}

}  // namespace

std::unique_ptr<Model> create_qwen3(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options) {
    return std::make_unique<Qwen3Model>(config, weights, options);
}

}  // namespace winnow
