// ModernBERT on a CUDA GPU: the same computation as modernbert.cpp, pre-norm layers without biases (unless the
// config asks for them),
//   x += Wo·attention(RoPE(Wqkv·LN(x)));  x += Wo·(act(u) * g) where [u | g] = Wi·LN(x)  (GeGLU),
// RoPE with the theta of the layer's kind (RopeTable's own tables, uploaded), global attention or the
// bidirectional window of ±local_attention/2 tokens, a final norm, and the head pooling each sequence (mean or
// first token) through dense + act + LN before the classifier; over an unpadded batch (cu_seqlens boundaries).
// Weights are uploaded once in the model's precision (fp32, bf16 or fp16; biases, norms, the embedding table
// and the RoPE tables stay f32); GEMMs are cuBLASLt with f32 accumulation; the residual stream x stays f32
// (as on the CPU) and each LayerNorm writes the next GEMM's input in the storage type. Kernels:
// tensor/cuda/cuda_kernels.h (attention, head) and tensor/cuda/modernbert_kernels.h (the rest). Results come
// back to the host as f32 tensors, so everything above the Model interface is the CPU's code.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "models/architectures.h"
#include "models/modernbert.h"
#include "tensor/attention.h"
#include "tensor/cuda/device_buffer.h"
#include "tensor/cuda/modernbert_kernels.h"
#include "winnow/error.h"

namespace winnow {

namespace {

using cuda::DeviceBuffer;
using cuda::DeviceType;
using cuda::device_type;

class ModernBertCudaModel final : public Model {
public:
    ModernBertCudaModel(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options);

private:
    struct Layer {
        DeviceBuffer attn_gamma, attn_beta;   // attn_norm; empty where the layer has none (layer 0: x itself)
        DeviceBuffer qkv_weight, qkv_bias;    // attn.Wqkv [3H x H], bias [3H] f32 or empty
        DeviceBuffer out_weight, out_bias;    // attn.Wo
        DeviceBuffer mlp_gamma, mlp_beta;     // mlp_norm
        DeviceBuffer in_weight, in_bias;      // mlp.Wi [2I x H]: input and gate
        DeviceBuffer down_weight, down_bias;  // mlp.Wo [H x I]
        bool global = true;                   // global RoPE table and attention; else the local ones
    };
    // What one forward pass uses besides the weights; one set, guarded by mutex_ (a GPU runs one pass at a
    // time well; the callers' tokenization overlaps it from their own threads).
    struct Work {
        cuda::GpuContext gpu;
        cuda::PinnedBuffer pinned;
        DeviceBuffer ints;  // input ids, positions within the sequence, cu_seqlens
        DeviceBuffer x;     // the residual stream [tokens x H], f32; the final hidden states after run_encoder
        DeviceBuffer normed, qkv, context, projected, mlp_in, gated;  // storage type
        DeviceBuffer pooled, dense, out_t, out_f32;
    };

    Tensor encode(const TokenBatch& batch) const override;
    Tensor classify_hidden(const TokenBatch& batch, const Tensor& hidden) const override;
    Tensor encode_logits(const TokenBatch& batch) const override;
    Tensor encode_first_tokens(const TokenBatch& batch) const override;

    Work& work() const;
    // Embeddings, every layer and the final norm over the batch: the final hidden states in work.x [tokens x H]
    // (f32).
    void run_encoder(const TokenBatch& batch, Work& w) const;
    // The classification head over work.pooled [n x H] (storage type): logits [n x labels] on the host.
    Tensor run_head(Work& w, std::size_t n) const;
    const std::int32_t* device_cu_seqlens(const Work& w, const TokenBatch& batch) const {
        return w.ints.as<std::int32_t>() + 2 * batch.n_tokens();
    }

    ModernBertShape shape_;
    DeviceType type_;
    DeviceBuffer tok_embeddings_, embed_gamma_, embed_beta_;
    DeviceBuffer global_cos_, global_sin_, local_cos_, local_sin_;  // RopeTable's, [max_positions x head_dim/2]
    std::vector<Layer> layers_;
    DeviceBuffer final_gamma_, final_beta_;
    DeviceBuffer head_dense_weight_, head_dense_bias_, head_gamma_, head_beta_, classifier_weight_, classifier_bias_;
    mutable std::mutex mutex_;
    mutable std::unique_ptr<Work> work_;
};

ModernBertCudaModel::ModernBertCudaModel(const ModelConfig& config, const WeightStore& weights,
                                         const LoadOptions& options)
    : Model(ModelInfo{}),
      shape_(ModernBertShape::read(config, weights)),
      type_(device_type(options.precision, config.where())) {
    const std::size_t h = shape_.hidden, head_dim = shape_.head_dim();
    WINNOW_CHECK(head_dim <= 128 && head_dim % 2 == 0, Errc::Unsupported,
                 "{}: head size {} on CUDA (supported: even, at most 128); use --device cpu", config.where(), head_dim);
    const auto f32 = [&](const std::string& name, std::initializer_list<std::size_t> dims) {
        return cuda::upload_f32(weights.get(name, dims).span());
    };
    // `name.weight` [out x in] in the storage type and, when `bias`, `name.bias` [out] in f32 (as load_linear).
    const auto linear = [&](const std::string& name, std::size_t in, std::size_t out, bool bias, DeviceBuffer& weight,
                            DeviceBuffer& bias_buffer) {
        weight = cuda::upload_as(weights.get(name + ".weight", {out, in}).span(), type_);
        if (bias) bias_buffer = f32(name + ".bias", {out});
    };
    // `name.weight` and, when the config's norm_bias, `name.bias` (as LayerNorm::load).
    const auto norm = [&](const std::string& name, DeviceBuffer& gamma, DeviceBuffer& beta) {
        gamma = f32(name + ".weight", {h});
        if (shape_.norm_bias) beta = f32(name + ".bias", {h});
    };

    // The same tables the CPU rotates with.
    const RopeTable global_rope(head_dim, shape_.max_positions, shape_.global_theta);
    const RopeTable local_rope(head_dim, shape_.max_positions, shape_.local_theta);
    global_cos_ = cuda::upload_f32(global_rope.cos_table());
    global_sin_ = cuda::upload_f32(global_rope.sin_table());
    local_cos_ = cuda::upload_f32(local_rope.cos_table());
    local_sin_ = cuda::upload_f32(local_rope.sin_table());

    tok_embeddings_ = f32("model.embeddings.tok_embeddings.weight", {shape_.vocab, h});
    norm("model.embeddings.norm", embed_gamma_, embed_beta_);
    const std::size_t inter = shape_.intermediate;
    for (std::size_t i = 0; i < shape_.n_layers; ++i) {
        const std::string l = shape_.layer_prefix(i);
        Layer layer;
        if (weights.has(l + "attn_norm.weight")) norm(l + "attn_norm", layer.attn_gamma, layer.attn_beta);
        linear(l + "attn.Wqkv", h, 3 * h, shape_.attention_bias, layer.qkv_weight, layer.qkv_bias);
        linear(l + "attn.Wo", h, h, shape_.attention_bias, layer.out_weight, layer.out_bias);
        norm(l + "mlp_norm", layer.mlp_gamma, layer.mlp_beta);
        linear(l + "mlp.Wi", h, 2 * inter, shape_.mlp_bias, layer.in_weight, layer.in_bias);
        linear(l + "mlp.Wo", inter, h, shape_.mlp_bias, layer.down_weight, layer.down_bias);
        layer.global = shape_.global[i];
        layers_.push_back(std::move(layer));
    }
    norm("model.final_norm", final_gamma_, final_beta_);
    if (shape_.num_labels > 0) {
        linear("head.dense", h, h, shape_.head_dense_bias, head_dense_weight_, head_dense_bias_);
        norm("head.norm", head_gamma_, head_beta_);
        linear("classifier", h, shape_.num_labels, shape_.classifier_bias, classifier_weight_, classifier_bias_);
    }
    info_ = ModelInfo{config.model_type(), config.folder(), h, shape_.vocab, 0, shape_.max_positions,
                      shape_.num_labels, options.precision, Device::Cuda};
}

ModernBertCudaModel::Work& ModernBertCudaModel::work() const {
    if (!work_) work_ = std::make_unique<Work>();
    return *work_;
}

void ModernBertCudaModel::run_encoder(const TokenBatch& batch, Work& w) const {
    const std::size_t n_tokens = batch.n_tokens(), n = batch.n_sequences(), h = shape_.hidden;
    const std::size_t inter = shape_.intermediate, ts = cuda::type_size(type_);
    std::size_t max_length = 0;
    for (std::size_t s = 0; s < n; ++s) max_length = std::max<std::size_t>(max_length, batch.length(s));

    // Inputs: one pinned block, one copy. Positions restart at 0 for each sequence (RopeTable::apply).
    const std::size_t int_count = 2 * n_tokens + n + 1;
    // Sized for the hidden states too, so that no later reserve frees the block while this copy may be pending.
    w.pinned.reserve(std::max(int_count * sizeof(std::int32_t), n_tokens * h * sizeof(float)));
    auto* staged = static_cast<std::int32_t*>(w.pinned.data());
    std::memcpy(staged, batch.input_ids.data(), n_tokens * sizeof(std::int32_t));
    for (std::size_t s = 0; s < n; ++s) {
        for (std::size_t t = batch.cu_seqlens[s]; t < batch.cu_seqlens[s + 1]; ++t) {
            staged[n_tokens + t] = static_cast<std::int32_t>(t - batch.cu_seqlens[s]);
        }
    }
    for (std::size_t s = 0; s <= n; ++s) staged[2 * n_tokens + s] = static_cast<std::int32_t>(batch.cu_seqlens[s]);
    w.ints.reserve(int_count * sizeof(std::int32_t));
    w.gpu.copy_to_device(w.ints.data(), staged, int_count * sizeof(std::int32_t));
    const auto* ids = w.ints.as<std::int32_t>();
    const auto* positions = ids + n_tokens;
    const auto* cu_seqlens = device_cu_seqlens(w, batch);

    w.x.reserve(n_tokens * h * sizeof(float));
    w.normed.reserve(n_tokens * h * ts);
    w.qkv.reserve(n_tokens * 3 * h * ts);
    w.context.reserve(n_tokens * h * ts);
    w.projected.reserve(n_tokens * h * ts);
    w.mlp_in.reserve(n_tokens * 2 * inter * ts);
    w.gated.reserve(n_tokens * inter * ts);
    const cuda::Stream stream = w.gpu.stream();
    float* x = w.x.as<float>();
    const float eps = shape_.eps;

    cuda::embedding_layernorm(ids, tok_embeddings_.as<float>(), embed_gamma_.as<float>(), embed_beta_.as<float>(), eps,
                              n_tokens, h, x, stream);
    // The first layer's attention input: its attn_norm of x, or x itself in the storage type. Later layers get
    // theirs from the previous layer's last residual step.
    cuda::residual_layernorm(nullptr, nullptr, x, layers_.front().attn_gamma.as<float>(),
                             layers_.front().attn_beta.as<float>(), eps, n_tokens, h, w.normed.data(), type_, type_,
                             stream);
    const std::size_t head_dim = shape_.head_dim();
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        const Layer& layer = layers_[i];
        // Attention: qkv = LN(x) Wqkv^T (+ b), RoPE on queries and keys, x += Wo·attention (+ b).
        w.gpu.matmul(w.normed.data(), n_tokens, layer.qkv_weight.data(), h, 3 * h, w.qkv.data(), type_);
        cuda::rotary_qkv(
            w.qkv.data(), layer.qkv_bias.as<float>(), positions, (layer.global ? global_cos_ : local_cos_).as<float>(),
            (layer.global ? global_sin_ : local_sin_).as<float>(), n_tokens, shape_.n_heads, head_dim, type_, stream);
        cuda::attention_varlen(w.qkv.data(), nullptr, cu_seqlens, n, max_length, shape_.n_heads, head_dim, scale,
                               w.context.data(), type_, stream, layer.global ? 0 : shape_.window);
        w.gpu.matmul(w.context.data(), n_tokens, layer.out_weight.data(), h, h, w.projected.data(), type_);
        cuda::residual_layernorm(w.projected.data(), layer.out_bias.as<float>(), x, layer.mlp_gamma.as<float>(),
                                 layer.mlp_beta.as<float>(), eps, n_tokens, h, w.normed.data(), type_, type_, stream);
        // GeGLU: [u | g] = LN(x) Wi^T (+ b), x += Wo·(act(u) * g) (+ b).
        w.gpu.matmul(w.normed.data(), n_tokens, layer.in_weight.data(), h, 2 * inter, w.mlp_in.data(), type_);
        cuda::gated_activation(w.mlp_in.data(), layer.in_bias.as<float>(), n_tokens, inter, shape_.activation,
                               w.gated.data(), type_, stream);
        w.gpu.matmul(w.gated.data(), n_tokens, layer.down_weight.data(), inter, h, w.projected.data(), type_);
        if (i + 1 < layers_.size()) {
            // ... and the next layer's attention input.
            const Layer& next = layers_[i + 1];
            cuda::residual_layernorm(w.projected.data(), layer.down_bias.as<float>(), x, next.attn_gamma.as<float>(),
                                     next.attn_beta.as<float>(), eps, n_tokens, h, w.normed.data(), type_, type_,
                                     stream);
        } else {
            // ... and the final norm, in place in f32: the hidden states.
            cuda::residual_layernorm(w.projected.data(), layer.down_bias.as<float>(), x, final_gamma_.as<float>(),
                                     final_beta_.as<float>(), eps, n_tokens, h, x, type_, DeviceType::F32, stream);
        }
    }
}

Tensor ModernBertCudaModel::run_head(Work& w, std::size_t n) const {
    WINNOW_CHECK(shape_.num_labels > 0, Errc::Unsupported, "{}: the model has no classification head", info_.folder);
    const std::size_t h = shape_.hidden, labels = shape_.num_labels, ts = cuda::type_size(type_);
    const cuda::Stream stream = w.gpu.stream();
    w.dense.reserve(n * h * ts);
    w.out_t.reserve(n * labels * ts);
    // dense -> act -> LN -> classifier, as modernbert.cpp's classify_hidden.
    w.gpu.matmul(w.pooled.data(), n, head_dense_weight_.data(), h, h, w.dense.data(), type_);
    cuda::bias_activation(w.dense.data(), head_dense_bias_.as<float>(), n, h, shape_.head_activation, type_, stream);
    cuda::bias_residual_layernorm(w.dense.data(), nullptr, nullptr, head_gamma_.as<float>(), head_beta_.as<float>(),
                                  shape_.eps, n, h, w.dense.data(), type_, stream);
    w.gpu.matmul(w.dense.data(), n, classifier_weight_.data(), h, labels, w.out_t.data(), type_);
    w.out_f32.reserve(n * labels * sizeof(float));
    cuda::convert_to_f32(w.out_t.data(), w.out_f32.as<float>(), n, labels, classifier_bias_.as<float>(), type_, stream);
    return w.gpu.download(w.pinned, w.out_f32.as<float>(), n, labels);
}

Tensor ModernBertCudaModel::encode(const TokenBatch& batch) const {
    std::lock_guard<std::mutex> lock(mutex_);
    Work& w = work();
    run_encoder(batch, w);
    return w.gpu.download(w.pinned, w.x.as<float>(), batch.n_tokens(), shape_.hidden);
}

Tensor ModernBertCudaModel::encode_first_tokens(const TokenBatch& batch) const {
    std::lock_guard<std::mutex> lock(mutex_);
    Work& w = work();
    run_encoder(batch, w);
    const std::size_t n = batch.n_sequences();
    w.out_f32.reserve(n * shape_.hidden * sizeof(float));
    cuda::pool_sequences(w.x.as<float>(), device_cu_seqlens(w, batch), n, shape_.hidden, false, w.out_f32.data(),
                         DeviceType::F32, w.gpu.stream());
    return w.gpu.download(w.pinned, w.out_f32.as<float>(), n, shape_.hidden);
}

Tensor ModernBertCudaModel::encode_logits(const TokenBatch& batch) const {
    std::lock_guard<std::mutex> lock(mutex_);
    Work& w = work();
    run_encoder(batch, w);
    const std::size_t n = batch.n_sequences();
    w.pooled.reserve(n * shape_.hidden * cuda::type_size(type_));
    cuda::pool_sequences(w.x.as<float>(), device_cu_seqlens(w, batch), n, shape_.hidden, shape_.mean_pooling,
                         w.pooled.data(), type_, w.gpu.stream());
    return run_head(w, n);
}

Tensor ModernBertCudaModel::classify_hidden(const TokenBatch& batch, const Tensor& hidden) const {
    // The pooling on the host (the hidden states are there already), exactly modernbert.cpp's loop; the rest of
    // the head on the device.
    const std::size_t n = batch.n_sequences(), h = shape_.hidden;
    Tensor pooled = Tensor::zeros(n, h);
    for (std::size_t s = 0; s < n; ++s) {
        float* out = pooled.row(s);
        if (!shape_.mean_pooling) {
            std::memcpy(out, hidden.row(batch.cu_seqlens[s]), h * sizeof(float));
            continue;
        }
        for (std::size_t t = batch.cu_seqlens[s]; t < batch.cu_seqlens[s + 1]; ++t) {
            const float* row = hidden.row(t);
            for (std::size_t c = 0; c < h; ++c) out[c] += row[c];
        }
        const float inv = 1.0f / static_cast<float>(batch.length(s));
        for (std::size_t c = 0; c < h; ++c) out[c] *= inv;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Work& w = work();
    w.pinned.reserve(n * h * sizeof(float));
    std::memcpy(w.pinned.data(), pooled.data(), n * h * sizeof(float));
    w.out_f32.reserve(n * h * sizeof(float));
    w.gpu.copy_to_device(w.out_f32.data(), w.pinned.data(), n * h * sizeof(float));
    w.pooled.reserve(n * h * cuda::type_size(type_));
    cuda::convert_from_f32(w.out_f32.as<float>(), w.pooled.data(), n * h, type_, w.gpu.stream());
    return run_head(w, n);
}

}  // namespace

std::unique_ptr<Model> create_modernbert_on_cuda(const ModelConfig& config, const WeightStore& weights,
                                                 const LoadOptions& options) {
    return std::make_unique<ModernBertCudaModel>(config, weights, options);
}

}  // namespace winnow
