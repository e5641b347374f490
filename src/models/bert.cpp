#include "models/bert.h"

#include <cmath>
#include <cstring>

#include "models/architectures.h"
#include "tensor/attention.h"
#include "winnow/error.h"

namespace winnow {

namespace {
// The prefix under which the encoder's tensors live: `preferred` (a *ForSequenceClassification
// checkpoint) or none (a bare BertModel, as sentence-transformers saves it).
std::string find_prefix(const WeightStore& weights, const std::string& preferred) {
    if (weights.has(preferred + "embeddings.word_embeddings.weight")) return preferred;
    if (weights.has("embeddings.word_embeddings.weight")) return "";
    WINNOW_THROW(Errc::NotFound, "{}: tensor '{}embeddings.word_embeddings.weight' not found", weights.where(),
                 preferred);
}
}  // namespace

BertShape BertShape::read(const ModelConfig& config, const WeightStore& weights, const BertVariant& variant) {
    BertShape shape;
    shape.hidden = config.positive("hidden_size");
    shape.n_layers = config.positive("num_hidden_layers");
    shape.n_heads = config.positive("num_attention_heads");
    shape.intermediate = config.positive("intermediate_size");
    shape.vocab = config.positive("vocab_size");
    shape.max_positions = config.positive("max_position_embeddings");
    shape.type_vocab = config.get_or<std::size_t>("type_vocab_size", 2);
    WINNOW_CHECK(shape.type_vocab >= 1 && shape.type_vocab < (std::size_t{1} << 31), Errc::Corrupt,
                 "{}: type_vocab_size must be in [1, 2^31), got {}", config.where(), shape.type_vocab);
    shape.eps = static_cast<float>(config.get_or<double>("layer_norm_eps", 1e-12));
    shape.activation = parse_activation(config.get_or<std::string>("hidden_act", "gelu"), config.where());
    WINNOW_CHECK(shape.hidden % shape.n_heads == 0, Errc::Corrupt,
                 "{}: hidden_size {} is not a multiple of num_attention_heads {}", config.where(), shape.hidden,
                 shape.n_heads);
    shape.prefix = find_prefix(weights, variant.prefix);
    if (config.has_architecture_suffix("ForSequenceClassification") && weights.has(variant.classifier_weight)) {
        const auto dims = weights.shape(variant.classifier_weight);
        WINNOW_CHECK(dims.size() == 2 && dims[0] > 0, Errc::Corrupt, "{}: tensor '{}' is not a [labels x hidden] matrix",
                     weights.where(), variant.classifier_weight);
        shape.num_labels = dims[0];
    }
    shape.max_tokens = shape.max_positions;
    if (variant.padding_idx) {
        const auto first = static_cast<std::size_t>(*variant.padding_idx) + 1;
        WINNOW_CHECK(first < shape.max_positions, Errc::Corrupt, "{}: pad_token_id {} leaves no positions",
                     config.where(), *variant.padding_idx);
        shape.max_tokens = shape.max_positions - first;
    }
    return shape;
}

std::string BertShape::layer_prefix(std::size_t layer) const {
    return prefix + "encoder.layer." + std::to_string(layer) + ".";
}

std::vector<std::string> BertShape::qkv_names(std::size_t layer) const {
    const std::string l = layer_prefix(layer);
    return {l + "attention.self.query", l + "attention.self.key", l + "attention.self.value"};
}

std::vector<std::int32_t> bert_position_ids(const TokenBatch& batch, const std::optional<std::int32_t>& padding_idx) {
    std::vector<std::int32_t> positions(batch.n_tokens());
    for (std::size_t s = 0; s < batch.n_sequences(); ++s) {
        std::int32_t count = 0;
        for (std::size_t t = batch.cu_seqlens[s]; t < batch.cu_seqlens[s + 1]; ++t) {
            if (padding_idx) {
                const std::int32_t pad = *padding_idx;
                positions[t] = batch.input_ids[t] == pad ? pad : pad + (++count);
            } else {
                positions[t] = count++;
            }
        }
    }
    return positions;
}

BertModel::BertModel(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options,
                     BertVariant variant)
    : Model(ModelInfo{}), variant_(std::move(variant)) {
    const BertShape shape = BertShape::read(config, weights, variant_);
    const std::size_t hidden = shape.hidden;
    n_heads_ = shape.n_heads;
    activation_ = shape.activation;
    const float eps = shape.eps;
    const Precision precision = options.precision;

    const std::string& p = shape.prefix;
    word_embeddings_ = weights.get(p + "embeddings.word_embeddings.weight", {shape.vocab, hidden});
    position_embeddings_ = weights.get(p + "embeddings.position_embeddings.weight", {shape.max_positions, hidden});
    token_type_embeddings_ = weights.get(p + "embeddings.token_type_embeddings.weight", {shape.type_vocab, hidden});
    embeddings_norm_ = LayerNorm::load(weights, p + "embeddings.LayerNorm", hidden, true, eps);

    for (std::size_t i = 0; i < shape.n_layers; ++i) {
        const std::string l = shape.layer_prefix(i);
        const auto qkv_names = shape.qkv_names(i);
        Layer layer;
        layer.qkv = load_fused_linear(weights, qkv_names, hidden, hidden, true, precision);
        layer.attn_out = load_linear(weights, l + "attention.output.dense", hidden, hidden, true, precision);
        layer.attn_norm = LayerNorm::load(weights, l + "attention.output.LayerNorm", hidden, true, eps);
        layer.ffn_up = load_linear(weights, l + "intermediate.dense", hidden, shape.intermediate, true, precision);
        layer.ffn_down = load_linear(weights, l + "output.dense", shape.intermediate, hidden, true, precision);
        layer.ffn_norm = LayerNorm::load(weights, l + "output.LayerNorm", hidden, true, eps);
        layers_.push_back(std::move(layer));
    }

    if (shape.num_labels > 0) {
        const auto names = shape.qkv_names(shape.n_layers - 1);
        last_query_ = load_linear(weights, names[0], hidden, hidden, true, precision);
        const std::string kv_names[] = {names[1], names[2]};
        last_key_value_ = load_fused_linear(weights, kv_names, hidden, hidden, true, precision);
        if (variant_.head == BertVariant::Head::Pooler) {
            head_dense_ = load_linear(weights, p + "pooler.dense", hidden, hidden, true, precision);
            head_out_ = load_linear(weights, "classifier", hidden, shape.num_labels, true, precision);
        } else {
            head_dense_ = load_linear(weights, "classifier.dense", hidden, hidden, true, precision);
            head_out_ = load_linear(weights, "classifier.out_proj", hidden, shape.num_labels, true, precision);
        }
    }
    info_ = ModelInfo{config.model_type(), config.folder(), hidden,           shape.vocab, shape.type_vocab,
                      shape.max_tokens,    shape.num_labels, precision};
}

std::vector<std::int32_t> BertModel::position_ids(const TokenBatch& batch) const {
    return bert_position_ids(batch, variant_.padding_idx);
}

Tensor BertModel::encode(const TokenBatch& batch) const {
    return run_encoder(batch, false);
}

Tensor BertModel::encode_logits(const TokenBatch& batch) const {
    return classify_first(run_encoder(batch, true));
}

Tensor BertModel::encode_first_tokens(const TokenBatch& batch) const {
    return run_encoder(batch, true);
}

Tensor BertModel::run_encoder(const TokenBatch& batch, bool last_layer_first_only) const {
    const std::size_t n_tokens = batch.n_tokens();
    const std::size_t hidden = info_.hidden_size;
    const std::size_t head_dim = hidden / n_heads_;

    Tensor x;
    embedding_lookup(word_embeddings_, batch.input_ids, x);
    const auto positions = position_ids(batch);
    embedding_add(position_embeddings_, positions, x);
    if (!token_type_embeddings_.empty()) {
        const std::vector<std::int32_t> zeros(batch.token_type_ids.empty() ? n_tokens : 0, 0);
        embedding_add(token_type_embeddings_, batch.token_type_ids.empty() ? zeros : batch.token_type_ids, x);
    }
    embeddings_norm_.apply(x);

    AttentionShape shape{n_heads_, n_heads_, head_dim, 1.0f / std::sqrt(static_cast<float>(head_dim))};
    shape.precision = info_.precision;
    // Per-thread scratch kept across calls: the largest activations (qkv, ffn_hidden: tens of MB at a 16k-token
    // budget) would otherwise be mmapped, page-faulted and unmapped again on every batch.
    thread_local Tensor qkv, context, attn_out, ffn_hidden, ffn_out;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        const Layer& layer = layers_[i];
        if (last_layer_first_only && i + 1 == layers_.size()) return run_last_layer_first_only(layer, batch, x, shape);
        layer.qkv.forward(x, qkv);
        context.resize(n_tokens, hidden);
        attention_varlen({qkv.data(), qkv.cols()}, {qkv.data() + hidden, qkv.cols()},
                         {qkv.data() + 2 * hidden, qkv.cols()}, batch.cu_seqlens, context.data(), hidden, shape);
        layer.attn_out.forward(context, attn_out);
        layer.attn_norm.add_apply(attn_out, x);  // attn_out = LN(attn_out + x)
        feed_forward(layer.ffn_up, layer.ffn_down, attn_out, ffn_hidden, ffn_out, activation_);
        layer.ffn_norm.add_apply(ffn_out, attn_out);  // ffn_out = LN(ffn_out + attn_out)
        std::swap(x, ffn_out);
    }
    return x;
}

Tensor BertModel::run_last_layer_first_only(const Layer& layer, const TokenBatch& batch, const Tensor& x,
                                            const AttentionShape& shape) const {
    // Keys and values of every token (the first token attends to all of them), its own query; after attention
    // each row goes its own way, so the output projection, the norms and the feed-forward run on first rows only.
    const std::size_t hidden = info_.hidden_size;
    const std::size_t n = batch.n_sequences();
    Tensor key_value, query, context(n, hidden), first(n, hidden), attn_out, ffn_hidden, ffn_out;
    for (std::size_t s = 0; s < n; ++s) std::memcpy(first.row(s), x.row(batch.cu_seqlens[s]), hidden * sizeof(float));
    if (last_query_.empty()) {
        // No split projections (a model without a head): every row's query, key and value, then the first rows'.
        layer.qkv.forward(x, key_value);
        query.resize(n, hidden);
        for (std::size_t s = 0; s < n; ++s) {
            std::memcpy(query.row(s), key_value.row(batch.cu_seqlens[s]), hidden * sizeof(float));
        }
        attention_first_tokens({query.data(), hidden}, {key_value.data() + hidden, key_value.cols()},
                               {key_value.data() + 2 * hidden, key_value.cols()}, batch.cu_seqlens, context.data(),
                               hidden, shape);
    } else {
        last_key_value_.forward(x, key_value);
        last_query_.forward(first, query);
        attention_first_tokens({query.data(), hidden}, {key_value.data(), key_value.cols()},
                               {key_value.data() + hidden, key_value.cols()}, batch.cu_seqlens, context.data(), hidden,
                               shape);
    }
    layer.attn_out.forward(context, attn_out);
    layer.attn_norm.add_apply(attn_out, first);
    feed_forward(layer.ffn_up, layer.ffn_down, attn_out, ffn_hidden, ffn_out, activation_);
    layer.ffn_norm.add_apply(ffn_out, attn_out);
    return ffn_out;
}

Tensor BertModel::classify_hidden(const TokenBatch& batch, const Tensor& hidden) const {
    // Both heads read the first token of each sequence ([CLS] / <s>).
    const std::size_t n = batch.n_sequences();
    Tensor first(n, info_.hidden_size);
    for (std::size_t s = 0; s < n; ++s) {
        std::memcpy(first.row(s), hidden.row(batch.cu_seqlens[s]), info_.hidden_size * sizeof(float));
    }
    return classify_first(first);
}

Tensor BertModel::classify_first(const Tensor& first) const {
    Tensor pooled, logits;
    head_dense_.forward(first, pooled, Activation::Tanh);
    head_out_.forward(pooled, logits);
    return logits;
}

namespace {
BertVariant bert_variant() {
    BertVariant variant;
    variant.prefix = "bert.";
    variant.head = BertVariant::Head::Pooler;
    variant.classifier_weight = "classifier.weight";
    return variant;
}
}  // namespace

std::unique_ptr<Model> create_bert(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options) {
    return std::make_unique<BertModel>(config, weights, options, bert_variant());
}

#ifdef WINNOW_HAVE_CUDA
std::unique_ptr<Model> create_bert_on_cuda(const ModelConfig& config, const WeightStore& weights,
                                           const LoadOptions& options) {
    return create_bert_cuda(config, weights, options, bert_variant());
}
#endif

}  // namespace winnow
