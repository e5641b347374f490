// ModernBERT (gte-reranker-modernbert, ModernBERT-base/large): pre-norm layers without biases,
//   x += Wo·attention(RoPE(Wqkv·LN(x)));  x += Wo·(act(u) * g) where [u | g] = Wi·LN(x)  (GeGLU),
// RoPE with a per-layer theta, global attention every `global_attn_every_n_layers` layers and a
// bidirectional sliding window of ±local_attention/2 tokens elsewhere, a final norm, and a head
// pooling the sequence (mean or CLS) through dense + act + LN before the classifier.
#include <cmath>
#include <optional>
#include <cstring>

#include "models/architectures.h"
#include "models/layers.h"
#include "models/modernbert.h"
#include "tensor/attention.h"
#include "winnow/error.h"

namespace winnow {

namespace {

class ModernBertModel final : public Model {
public:
    ModernBertModel(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options);

private:
    struct Layer {
        std::optional<LayerNorm> attn_norm;  // absent in layer 0 (the embeddings norm precedes it)
        Linear qkv;                          // attn.Wqkv [3H x H]
        Linear attn_out;                     // attn.Wo
        LayerNorm mlp_norm;
        Linear mlp_in;                       // mlp.Wi [2I x H]: input and gate
        Linear mlp_out;                      // mlp.Wo [H x I]
        const RopeTable* rope = nullptr;
        std::size_t window = 0;              // 0: global attention
    };

    Tensor encode(const TokenBatch& batch) const override;
    Tensor classify_hidden(const TokenBatch& batch, const Tensor& hidden) const override;

    std::size_t n_heads_ = 0;
    std::size_t intermediate_ = 0;
    Activation activation_ = Activation::Gelu;
    Tensor tok_embeddings_;
    LayerNorm embeddings_norm_;
    RopeTable global_rope_;
    RopeTable local_rope_;
    std::vector<Layer> layers_;
    LayerNorm final_norm_;
    // Classification head.
    bool mean_pooling_ = false;
    Activation head_activation_ = Activation::Gelu;
    Linear head_dense_;
    LayerNorm head_norm_;
    Linear classifier_;
};

// rope_parameters[layer_type].rope_theta (transformers 5) or {global,local}_rope_theta (4.x).
// Only the default rotary scheme is implemented: another rope_type is an error, not ignored.
double rope_theta(const ModelConfig& config, const char* layer_type, const char* legacy_key, double fallback) {
    const Json& json = config.json();
    const std::string where = config.where();
    auto checked = [&](double theta, std::string_view field) {
        WINNOW_CHECK(std::isfinite(theta) && theta > 0, Errc::Corrupt, "{}: {} must be a positive number, got {}", where,
                     field, theta);
        return theta;
    };
    auto from = [&](const Json& obj, const std::string& path) -> std::optional<double> {
        const auto type = json_get_or<std::string>(obj, "rope_type", "default", where);
        WINNOW_CHECK(type == "default", Errc::Unsupported, "{}: {}.rope_type '{}' is not supported (only 'default')",
                     where, path, type);
        if (!obj.contains("rope_theta")) return std::nullopt;
        return checked(json_get<double>(obj, "rope_theta", where), path + ".rope_theta");
    };
    auto params = json.find("rope_parameters");
    if (params != json.end() && params->is_object()) {
        auto typed = params->find(layer_type);
        if (typed != params->end() && typed->is_object()) {
            if (auto theta = from(*typed, fmt::format("rope_parameters.{}", layer_type))) return *theta;
        }
        if (auto theta = from(*params, "rope_parameters")) return *theta;
    }
    return checked(config.get_or<double>(legacy_key, fallback), legacy_key);
}

}  // namespace

ModernBertShape ModernBertShape::read(const ModelConfig& config, const WeightStore& weights) {
    ModernBertShape shape;
    shape.hidden = config.positive("hidden_size");
    shape.n_layers = config.positive("num_hidden_layers");
    shape.n_heads = config.positive("num_attention_heads");
    shape.intermediate = config.positive("intermediate_size");
    shape.vocab = config.positive("vocab_size");
    shape.max_positions = config.positive("max_position_embeddings");
    shape.eps = static_cast<float>(config.get_or<double>("norm_eps", 1e-5));
    shape.norm_bias = config.get_or<bool>("norm_bias", false);
    shape.attention_bias = config.get_or<bool>("attention_bias", false);
    shape.mlp_bias = config.get_or<bool>("mlp_bias", false);
    shape.activation = parse_activation(config.get_or<std::string>("hidden_activation", "gelu"), config.where());
    WINNOW_CHECK(shape.hidden % shape.n_heads == 0, Errc::Corrupt,
                 "{}: hidden_size {} is not a multiple of num_attention_heads {}", config.where(), shape.hidden,
                 shape.n_heads);

    shape.global_theta = rope_theta(config, "full_attention", "global_rope_theta", 160000);
    shape.local_theta = rope_theta(config, "sliding_attention", "local_rope_theta", 10000);
    const auto local_attention = config.get_or<std::int64_t>("local_attention", 128);
    WINNOW_CHECK(local_attention > 0 && local_attention < (std::int64_t{1} << 31), Errc::Corrupt,
                 "{}: local_attention must be in [1, 2^31), got {}", config.where(), local_attention);
    shape.window = static_cast<std::size_t>(local_attention) / 2;
    const std::size_t global_every = config.get_or<std::size_t>("global_attn_every_n_layers", 1);
    const Json& layer_types = config.json().contains("layer_types") ? config.json()["layer_types"] : Json();
    WINNOW_CHECK(layer_types.is_null() || (layer_types.is_array() && layer_types.size() == shape.n_layers),
                 Errc::Corrupt, "{}: 'layer_types' must list {} layers", config.where(), shape.n_layers);
    shape.global.resize(shape.n_layers);
    for (std::size_t i = 0; i < shape.n_layers; ++i) {
        bool global = global_every == 0 || i % global_every == 0;
        if (layer_types.is_array()) {
            WINNOW_CHECK(layer_types[i].is_string(), Errc::Corrupt, "{}: layer_types[{}] is not a string",
                         config.where(), i);
            global = layer_types[i].get<std::string>() != "sliding_attention";
        }
        shape.global[i] = global;
    }

    if (config.has_architecture_suffix("ForSequenceClassification") && weights.has("classifier.weight")) {
        const auto dims = weights.shape("classifier.weight");
        WINNOW_CHECK(dims.size() == 2 && dims[0] > 0, Errc::Corrupt,
                     "{}: tensor 'classifier.weight' is not a [labels x hidden] matrix", weights.where());
        shape.num_labels = dims[0];
        const auto pooling = config.get_or<std::string>("classifier_pooling", "cls");
        WINNOW_CHECK(pooling == "mean" || pooling == "cls", Errc::Unsupported,
                     "{}: unsupported classifier_pooling '{}'", config.where(), pooling);
        shape.mean_pooling = pooling == "mean";
        shape.head_activation =
            parse_activation(config.get_or<std::string>("classifier_activation", "gelu"), config.where());
        shape.head_dense_bias = config.get_or<bool>("classifier_bias", false);
        shape.classifier_bias = weights.has("classifier.bias");
    }
    return shape;
}

std::string ModernBertShape::layer_prefix(std::size_t layer) const {
    return "model.layers." + std::to_string(layer) + ".";
}

namespace {

ModernBertModel::ModernBertModel(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options)
    : Model(ModelInfo{}) {
    const ModernBertShape shape = ModernBertShape::read(config, weights);
    const std::size_t hidden = shape.hidden;
    n_heads_ = shape.n_heads;
    intermediate_ = shape.intermediate;
    activation_ = shape.activation;
    const float eps = shape.eps;
    const bool norm_bias = shape.norm_bias;
    const Precision precision = options.precision;

    global_rope_ = RopeTable(shape.head_dim(), shape.max_positions, shape.global_theta);
    local_rope_ = RopeTable(shape.head_dim(), shape.max_positions, shape.local_theta);
    tok_embeddings_ = weights.get("model.embeddings.tok_embeddings.weight", {shape.vocab, hidden});
    embeddings_norm_ = LayerNorm::load(weights, "model.embeddings.norm", hidden, norm_bias, eps);
    for (std::size_t i = 0; i < shape.n_layers; ++i) {
        const std::string l = shape.layer_prefix(i);
        Layer layer;
        if (weights.has(l + "attn_norm.weight")) {
            layer.attn_norm = LayerNorm::load(weights, l + "attn_norm", hidden, norm_bias, eps);
        }
        layer.qkv = load_linear(weights, l + "attn.Wqkv", hidden, 3 * hidden, shape.attention_bias, precision);
        layer.attn_out = load_linear(weights, l + "attn.Wo", hidden, hidden, shape.attention_bias, precision);
        layer.mlp_norm = LayerNorm::load(weights, l + "mlp_norm", hidden, norm_bias, eps);
        layer.mlp_in = load_linear(weights, l + "mlp.Wi", hidden, 2 * intermediate_, shape.mlp_bias, precision);
        layer.mlp_out = load_linear(weights, l + "mlp.Wo", intermediate_, hidden, shape.mlp_bias, precision);
        layer.rope = shape.global[i] ? &global_rope_ : &local_rope_;
        layer.window = shape.global[i] ? 0 : shape.window;
        layers_.push_back(std::move(layer));
    }
    final_norm_ = LayerNorm::load(weights, "model.final_norm", hidden, norm_bias, eps);

    if (shape.num_labels > 0) {
        mean_pooling_ = shape.mean_pooling;
        head_activation_ = shape.head_activation;
        head_dense_ = load_linear(weights, "head.dense", hidden, hidden, shape.head_dense_bias, precision);
        head_norm_ = LayerNorm::load(weights, "head.norm", hidden, norm_bias, eps);
        classifier_ = load_linear(weights, "classifier", hidden, shape.num_labels, shape.classifier_bias, precision);
    }
    info_ = ModelInfo{config.model_type(), config.folder(), hidden, shape.vocab, 0, shape.max_positions,
                      shape.num_labels, precision};
}

Tensor ModernBertModel::encode(const TokenBatch& batch) const {
    const std::size_t n_tokens = batch.n_tokens();
    const std::size_t hidden = info_.hidden_size;
    const std::size_t head_dim = hidden / n_heads_;

    Tensor x;
    embedding_lookup(tok_embeddings_, batch.input_ids, x);
    embeddings_norm_.apply(x);

    Tensor normed(n_tokens, hidden), qkv, context(n_tokens, hidden), attn_out, mlp_in, gated(n_tokens, intermediate_),
        mlp_out;
    for (const Layer& layer : layers_) {
        const Tensor* attn_input = &x;
        if (layer.attn_norm) {
            layer.attn_norm->apply(x.data(), normed.data(), n_tokens);
            attn_input = &normed;
        }
        layer.qkv.forward(*attn_input, qkv);
        layer.rope->apply(qkv.data(), qkv.cols(), n_heads_, batch.cu_seqlens);               // queries
        layer.rope->apply(qkv.data() + hidden, qkv.cols(), n_heads_, batch.cu_seqlens);      // keys
        AttentionShape shape{n_heads_, n_heads_, head_dim, 1.0f / std::sqrt(static_cast<float>(head_dim)),
                             layer.window};
        shape.precision = info_.precision;
        attention_varlen({qkv.data(), qkv.cols()}, {qkv.data() + hidden, qkv.cols()},
                         {qkv.data() + 2 * hidden, qkv.cols()}, batch.cu_seqlens, context.data(), hidden, shape);
        layer.attn_out.forward(context, attn_out);
        add_inplace(x.data(), attn_out.data(), x.size());

        layer.mlp_norm.apply(x.data(), normed.data(), n_tokens);
        layer.mlp_in.forward(normed, mlp_in);
        gated_activation(mlp_in.data(), gated.data(), n_tokens, intermediate_, activation_);
        layer.mlp_out.forward(gated, mlp_out);
        add_inplace(x.data(), mlp_out.data(), x.size());
    }
    final_norm_.apply(x);
    return x;
}

Tensor ModernBertModel::classify_hidden(const TokenBatch& batch, const Tensor& hidden) const {
    const std::size_t n = batch.n_sequences();
    const std::size_t dim = info_.hidden_size;
    Tensor pooled = Tensor::zeros(n, dim);
    for (std::size_t s = 0; s < n; ++s) {
        float* out = pooled.row(s);
        if (!mean_pooling_) {
            std::memcpy(out, hidden.row(batch.cu_seqlens[s]), dim * sizeof(float));
            continue;
        }
        for (std::size_t t = batch.cu_seqlens[s]; t < batch.cu_seqlens[s + 1]; ++t) {
            const float* row = hidden.row(t);
            for (std::size_t c = 0; c < dim; ++c) out[c] += row[c];
        }
        const float inv = 1.0f / static_cast<float>(batch.length(s));
        for (std::size_t c = 0; c < dim; ++c) out[c] *= inv;
    }
    Tensor dense, logits;
    head_dense_.forward(pooled, dense, head_activation_);
    head_norm_.apply(dense);
    classifier_.forward(dense, logits);
    return logits;
}

}  // namespace

std::unique_ptr<Model> create_modernbert(const ModelConfig& config, const WeightStore& weights,
                                         const LoadOptions& options) {
    return std::make_unique<ModernBertModel>(config, weights, options);
}

}  // namespace winnow
