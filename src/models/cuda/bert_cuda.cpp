// The BERT family (BERT, MiniLM, bge, e5; RoBERTa / XLM-RoBERTa through BertVariant) on a CUDA GPU: the
// same computation as bert.cpp, post-norm layers
//   x = LN(x + Wo·attention(Wqkv·x)); x = LN(x + W2·act(W1·x)),
// over an unpadded batch (sequences concatenated, cu_seqlens boundaries), so no token of padding is
// computed. Weights are uploaded once in the model's precision (fp32, bf16 or fp16; biases, norms and
// embedding tables stay f32); GEMMs are cuBLASLt with f32 accumulation; the rest is our kernels
// (tensor/cuda/cuda_kernels.h), each fusing the element-wise work around a GEMM. Results come back to the
// host as f32 tensors, so everything above the Model interface is the CPU's code.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "models/architectures.h"
#include "models/bert.h"
#include "tensor/cuda/device_buffer.h"
#include "winnow/error.h"

namespace winnow {

namespace {

using cuda::DeviceBuffer;
using cuda::DeviceType;
using cuda::device_type;

class BertCudaModel final : public Model {
public:
    BertCudaModel(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options,
                  BertVariant variant);
    ~BertCudaModel() override;

private:
    struct Layer {
        DeviceBuffer qkv_weight, qkv_bias;  // [3H x H] (query, key, value stacked), [3H] f32
        DeviceBuffer out_weight, out_bias;
        DeviceBuffer attn_gamma, attn_beta;
        DeviceBuffer up_weight, up_bias;
        DeviceBuffer down_weight, down_bias;
        DeviceBuffer ffn_gamma, ffn_beta;
    };
    // What one forward pass uses besides the weights; one set, guarded by mutex_ (a GPU runs one pass at a
    // time well; the callers' tokenization overlaps it from their own threads).
    struct Work {
        cuda::GpuContext gpu;
        cuda::PinnedBuffer pinned;
        DeviceBuffer ints;  // input ids, positions, token types, cu_seqlens
        DeviceBuffer x, qkv, context, scratch, ffn;
        DeviceBuffer first, pooled, out_t, out_f32;
    };

    Tensor encode(const TokenBatch& batch) const override;
    Tensor classify_hidden(const TokenBatch& batch, const Tensor& hidden) const override;
    Tensor encode_logits(const TokenBatch& batch) const override;
    Tensor encode_first_tokens(const TokenBatch& batch) const override;

    Work& work() const;
    // Embeddings and every layer over the batch: the final hidden states in work.x [tokens x H].
    void run_encoder(const TokenBatch& batch, Work& w) const;
    // work.first [n x H] = the first token's row of each sequence of work.x ([CLS] / <s>).
    void gather_first(const TokenBatch& batch, Work& w) const;
    // The classification head over work.first [n x H]: logits [n x labels] on the host.
    Tensor run_head(Work& w, std::size_t n) const;
    // rows x cols of `device` (storage type) as an f32 host tensor.
    Tensor to_host(Work& w, const void* device, std::size_t rows, std::size_t cols) const;

    BertVariant variant_;
    BertShape shape_;
    DeviceType type_;
    DeviceBuffer word_, position_, token_type_, embed_gamma_, embed_beta_;
    std::vector<Layer> layers_;
    DeviceBuffer head_dense_weight_, head_dense_bias_, head_out_weight_, head_out_bias_;
    mutable std::mutex mutex_;
    mutable std::unique_ptr<Work> work_;
};

BertCudaModel::BertCudaModel(const ModelConfig& config, const WeightStore& weights, const LoadOptions& options,
                             BertVariant variant)
    : Model(ModelInfo{}),
      variant_(std::move(variant)),
      shape_(BertShape::read(config, weights, variant_)),
      type_(device_type(options.precision, config.where())) {
    const std::size_t h = shape_.hidden;
    WINNOW_CHECK(h / shape_.n_heads <= 128, Errc::Unsupported,
                 "{}: head size {} on CUDA (at most 128); use --device cpu", config.where(), h / shape_.n_heads);
    const std::string& p = shape_.prefix;
    const auto f32 = [&](const std::string& name, std::initializer_list<std::size_t> dims) {
        return cuda::upload_f32(weights.get(name, dims).span());
    };
    const auto linear = [&](const std::string& name, std::size_t in, std::size_t out, DeviceBuffer& weight,
                            DeviceBuffer& bias) {
        weight = cuda::upload_as(weights.get(name + ".weight", {out, in}).span(), type_);
        bias = f32(name + ".bias", {out});
    };
    word_ = f32(p + "embeddings.word_embeddings.weight", {shape_.vocab, h});
    position_ = f32(p + "embeddings.position_embeddings.weight", {shape_.max_positions, h});
    token_type_ = f32(p + "embeddings.token_type_embeddings.weight", {shape_.type_vocab, h});
    embed_gamma_ = f32(p + "embeddings.LayerNorm.weight", {h});
    embed_beta_ = f32(p + "embeddings.LayerNorm.bias", {h});
    for (std::size_t i = 0; i < shape_.n_layers; ++i) {
        const std::string l = shape_.layer_prefix(i);
        Layer layer;
        std::vector<float> qkv_weight, qkv_bias;
        for (const auto& name : shape_.qkv_names(i)) {
            const Tensor w = weights.get(name + ".weight", {h, h});
            const Tensor b = weights.get(name + ".bias", {h});
            qkv_weight.insert(qkv_weight.end(), w.data(), w.data() + w.size());
            qkv_bias.insert(qkv_bias.end(), b.data(), b.data() + b.size());
        }
        layer.qkv_weight = cuda::upload_as(qkv_weight, type_);
        layer.qkv_bias = cuda::upload_f32(qkv_bias);
        linear(l + "attention.output.dense", h, h, layer.out_weight, layer.out_bias);
        layer.attn_gamma = f32(l + "attention.output.LayerNorm.weight", {h});
        layer.attn_beta = f32(l + "attention.output.LayerNorm.bias", {h});
        linear(l + "intermediate.dense", h, shape_.intermediate, layer.up_weight, layer.up_bias);
        linear(l + "output.dense", shape_.intermediate, h, layer.down_weight, layer.down_bias);
        layer.ffn_gamma = f32(l + "output.LayerNorm.weight", {h});
        layer.ffn_beta = f32(l + "output.LayerNorm.bias", {h});
        layers_.push_back(std::move(layer));
    }
    if (shape_.num_labels > 0) {
        const bool pooler = variant_.head == BertVariant::Head::Pooler;
        linear(pooler ? p + "pooler.dense" : "classifier.dense", h, h, head_dense_weight_, head_dense_bias_);
        linear(pooler ? "classifier" : "classifier.out_proj", h, shape_.num_labels, head_out_weight_, head_out_bias_);
    }
    info_ = ModelInfo{config.model_type(), config.folder(), h,           shape_.vocab, shape_.type_vocab,
                      shape_.max_tokens,   shape_.num_labels, options.precision, Device::Cuda};
}

BertCudaModel::~BertCudaModel() {
    if (work_ && work_->gpu.profiling()) std::fprintf(stderr, "cuda phases (%s):\n%s", info_.folder.c_str(),
                                                       work_->gpu.report().c_str());
}

BertCudaModel::Work& BertCudaModel::work() const {
    if (!work_) work_ = std::make_unique<Work>();
    return *work_;
}

void BertCudaModel::run_encoder(const TokenBatch& batch, Work& w) const {
    const std::size_t n_tokens = batch.n_tokens(), n = batch.n_sequences(), h = shape_.hidden;
    const std::size_t inter = shape_.intermediate, ts = cuda::type_size(type_);
    std::size_t max_length = 0;
    for (std::size_t s = 0; s < n; ++s) max_length = std::max<std::size_t>(max_length, batch.length(s));

    // Inputs: one pinned block, one copy.
    const auto positions = bert_position_ids(batch, variant_.padding_idx);
    const bool with_types = !batch.token_type_ids.empty();
    const std::size_t int_count = 3 * n_tokens + n + 1;
    w.pinned.reserve(int_count * sizeof(std::int32_t));
    auto* staged = static_cast<std::int32_t*>(w.pinned.data());
    std::memcpy(staged, batch.input_ids.data(), n_tokens * sizeof(std::int32_t));
    std::memcpy(staged + n_tokens, positions.data(), n_tokens * sizeof(std::int32_t));
    if (with_types) std::memcpy(staged + 2 * n_tokens, batch.token_type_ids.data(), n_tokens * sizeof(std::int32_t));
    for (std::size_t s = 0; s <= n; ++s) staged[3 * n_tokens + s] = static_cast<std::int32_t>(batch.cu_seqlens[s]);
    w.ints.reserve(int_count * sizeof(std::int32_t));
    w.gpu.mark(nullptr);
    w.gpu.copy_to_device(w.ints.data(), staged, int_count * sizeof(std::int32_t));
    const auto* ids = w.ints.as<std::int32_t>();
    const auto* cu_seqlens = ids + 3 * n_tokens;

    w.x.reserve(n_tokens * h * ts);
    w.qkv.reserve(n_tokens * 3 * h * ts);
    w.context.reserve(n_tokens * h * ts);
    w.scratch.reserve(n_tokens * h * ts);
    w.ffn.reserve(n_tokens * inter * ts);
    const cuda::Stream stream = w.gpu.stream();

    cuda::embeddings_layernorm(ids, ids + n_tokens, with_types ? ids + 2 * n_tokens : nullptr, word_.as<float>(),
                               position_.as<float>(), token_type_.as<float>(), embed_gamma_.as<float>(),
                               embed_beta_.as<float>(), shape_.eps, n_tokens, h, w.x.data(), type_, stream);
    w.gpu.mark("embeddings");
    const std::size_t head_dim = h / shape_.n_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    for (const Layer& layer : layers_) {
        w.gpu.matmul(w.x.data(), n_tokens, layer.qkv_weight.data(), h, 3 * h, w.qkv.data(), type_);
        w.gpu.mark("gemm qkv");
        cuda::attention_varlen(w.qkv.data(), layer.qkv_bias.as<float>(), cu_seqlens, n, max_length, shape_.n_heads,
                               head_dim, scale, w.context.data(), type_, stream);
        w.gpu.mark("attention");
        w.gpu.matmul(w.context.data(), n_tokens, layer.out_weight.data(), h, h, w.scratch.data(), type_);
        w.gpu.mark("gemm out");
        cuda::bias_residual_layernorm(w.scratch.data(), layer.out_bias.as<float>(), w.x.data(),
                                      layer.attn_gamma.as<float>(), layer.attn_beta.as<float>(), shape_.eps, n_tokens,
                                      h, w.x.data(), type_, stream);
        w.gpu.mark("layernorm");
        w.gpu.matmul(w.x.data(), n_tokens, layer.up_weight.data(), h, inter, w.ffn.data(), type_);
        w.gpu.mark("gemm up");
        cuda::bias_activation(w.ffn.data(), layer.up_bias.as<float>(), n_tokens, inter, shape_.activation, type_,
                              stream);
        w.gpu.mark("bias+activation");
        w.gpu.matmul(w.ffn.data(), n_tokens, layer.down_weight.data(), inter, h, w.scratch.data(), type_);
        w.gpu.mark("gemm down");
        cuda::bias_residual_layernorm(w.scratch.data(), layer.down_bias.as<float>(), w.x.data(),
                                      layer.ffn_gamma.as<float>(), layer.ffn_beta.as<float>(), shape_.eps, n_tokens, h,
                                      w.x.data(), type_, stream);
        w.gpu.mark("layernorm");
    }
}

Tensor BertCudaModel::to_host(Work& w, const void* device, std::size_t rows, std::size_t cols) const {
    w.out_f32.reserve(rows * cols * sizeof(float));
    cuda::convert_to_f32(device, w.out_f32.as<float>(), rows, cols, nullptr, type_, w.gpu.stream());
    w.gpu.mark("to host");
    return w.gpu.download(w.pinned, w.out_f32.as<float>(), rows, cols);
}

Tensor BertCudaModel::run_head(Work& w, std::size_t n) const {
    WINNOW_CHECK(shape_.num_labels > 0, Errc::Unsupported, "{}: the model has no classification head", info_.folder);
    const std::size_t h = shape_.hidden, labels = shape_.num_labels, ts = cuda::type_size(type_);
    const cuda::Stream stream = w.gpu.stream();
    w.pooled.reserve(n * h * ts);
    w.out_t.reserve(n * labels * ts);
    w.gpu.matmul(w.first.data(), n, head_dense_weight_.data(), h, h, w.pooled.data(), type_);
    cuda::bias_activation(w.pooled.data(), head_dense_bias_.as<float>(), n, h, Activation::Tanh, type_, stream);
    w.gpu.matmul(w.pooled.data(), n, head_out_weight_.data(), h, labels, w.out_t.data(), type_);
    w.out_f32.reserve(n * labels * sizeof(float));
    cuda::convert_to_f32(w.out_t.data(), w.out_f32.as<float>(), n, labels, head_out_bias_.as<float>(), type_, stream);
    w.gpu.mark("head");
    return w.gpu.download(w.pinned, w.out_f32.as<float>(), n, labels);
}

Tensor BertCudaModel::encode(const TokenBatch& batch) const {
    std::lock_guard<std::mutex> lock(mutex_);
    Work& w = work();
    run_encoder(batch, w);
    return to_host(w, w.x.data(), batch.n_tokens(), shape_.hidden);
}

void BertCudaModel::gather_first(const TokenBatch& batch, Work& w) const {
    const std::size_t n = batch.n_sequences();
    w.first.reserve(n * shape_.hidden * cuda::type_size(type_));
    cuda::gather_first_rows(w.x.data(), w.ints.as<std::int32_t>() + 3 * batch.n_tokens(), n, shape_.hidden,
                            w.first.data(), type_, w.gpu.stream());
}

Tensor BertCudaModel::encode_first_tokens(const TokenBatch& batch) const {
    std::lock_guard<std::mutex> lock(mutex_);
    Work& w = work();
    run_encoder(batch, w);
    gather_first(batch, w);
    return to_host(w, w.first.data(), batch.n_sequences(), shape_.hidden);
}

Tensor BertCudaModel::encode_logits(const TokenBatch& batch) const {
    std::lock_guard<std::mutex> lock(mutex_);
    Work& w = work();
    run_encoder(batch, w);
    gather_first(batch, w);
    return run_head(w, batch.n_sequences());
}

Tensor BertCudaModel::classify_hidden(const TokenBatch& batch, const Tensor& hidden) const {
    // Both heads read the first token of each sequence ([CLS] / <s>).
    const std::size_t n = batch.n_sequences(), h = shape_.hidden;
    std::lock_guard<std::mutex> lock(mutex_);
    Work& w = work();
    w.pinned.reserve(n * h * sizeof(float));
    auto* staged = static_cast<float*>(w.pinned.data());
    for (std::size_t s = 0; s < n; ++s) std::memcpy(staged + s * h, hidden.row(batch.cu_seqlens[s]), h * sizeof(float));
    w.out_f32.reserve(n * h * sizeof(float));
    w.gpu.copy_to_device(w.out_f32.data(), staged, n * h * sizeof(float));
    w.first.reserve(n * h * cuda::type_size(type_));
    cuda::convert_from_f32(w.out_f32.as<float>(), w.first.data(), n * h, type_, w.gpu.stream());
    return run_head(w, n);
}

}  // namespace

std::unique_ptr<Model> create_bert_cuda(const ModelConfig& config, const WeightStore& weights,
                                        const LoadOptions& options, BertVariant variant) {
    return std::make_unique<BertCudaModel>(config, weights, options, std::move(variant));
}

}  // namespace winnow
