#include "models/causal_lm.h"

#include "models/registry.h"
#include "tensor/decoder_kernels.h"
#include "winnow/error.h"

namespace winnow {

void CausalLm::check_ids(const TokenBatch& batch, std::size_t prefix_length) const {
    WINNOW_CHECK(
        !batch.cu_seqlens.empty() && batch.cu_seqlens.front() == 0 && batch.cu_seqlens.back() == batch.input_ids.size(),
        Errc::InvalidArgument, "token batch: cu_seqlens do not cover the {} tokens", batch.input_ids.size());
    for (std::size_t s = 0; s < batch.n_sequences(); ++s) {
        WINNOW_CHECK(batch.cu_seqlens[s] < batch.cu_seqlens[s + 1], Errc::InvalidArgument,
                     "token batch: sequence {} is empty", s);
        WINNOW_CHECK(prefix_length + batch.length(s) <= info_.max_tokens, Errc::InvalidArgument,
                     "sequence {} has {} tokens after a prefix of {}, more than the model's limit of {}", s,
                     batch.length(s), prefix_length, info_.max_tokens);
    }
    for (const auto id : batch.input_ids) {
        WINNOW_CHECK(id >= 0 && static_cast<std::size_t>(id) < info_.vocab_size, Errc::InvalidArgument,
                     "token id {} outside the vocabulary of {} tokens", id, info_.vocab_size);
    }
}

Tensor CausalLm::forward_cached(const TokenBatch& batch, const KvCache& prefix) const {
    check_ids(batch, prefix.length());
    return decode(batch, prefix.empty() ? nullptr : &prefix, nullptr);
}

KvCache CausalLm::prefill(std::span<const std::int32_t> ids) const {
    TokenBatch batch;
    batch.add(ids);
    check_ids(batch, 0);
    KvCache cache = make_cache(ids.size());
    decode(batch, nullptr, &cache);
    return cache;
}

std::vector<float> CausalLm::logits(const float* hidden) const {
    WINNOW_CHECK(lm_head_ != nullptr, Errc::Unsupported, "{}: the model has no LM head (lm_head.weight)", info_.folder);
    std::vector<float> out(lm_head_->rows());
    lm_head_row(hidden, *lm_head_, out.data());
    return out;
}

float CausalLm::logit(const float* hidden, std::int32_t token) const {
    WINNOW_CHECK(lm_head_ != nullptr, Errc::Unsupported, "{}: the model has no LM head (lm_head.weight)", info_.folder);
    WINNOW_CHECK(token >= 0 && static_cast<std::size_t>(token) < lm_head_->rows(), Errc::InvalidArgument,
                 "token id {} outside the LM head's {} rows", token, lm_head_->rows());
    return lm_head_logit(hidden, *lm_head_, token);
}

std::unique_ptr<CausalLm> load_causal_lm(const std::string& folder, const LoadOptions& options) {
    std::unique_ptr<Model> model = load_model(folder, options);
    auto* lm = dynamic_cast<CausalLm*>(model.get());
    WINNOW_CHECK(lm != nullptr, Errc::Unsupported, "{}: model_type '{}' is not a causal (decoder-only) language model",
                 folder, model->info().model_type);
    model.release();
    return std::unique_ptr<CausalLm>(lm);
}

}  // namespace winnow
