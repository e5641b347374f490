// CausalLm: a decoder-only language model (Qwen3) behind the Model interface, plus what LLM
// rerankers and embedders need beyond forward(): continuing a cached prefix (the shared system
// prompt + instruction + query of a reranker, computed once per query) and LM-head logits at chosen
// rows and tokens only (a reranker needs two of the ~150k vocabulary logits at one position).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/kv_cache.h"
#include "models/model.h"

namespace winnow {

class CausalLm : public Model {
public:
    // Final hidden states (after the last norm) [n_tokens x hidden_size] of every sequence of
    // `batch`, each continuing `prefix` (positions start at prefix.length(); an empty cache means
    // from scratch). Validates token ids and lengths (prefix + sequence <= max_tokens).
    Tensor forward_cached(const TokenBatch& batch, const KvCache& prefix) const;
    // Runs `ids` from position 0 and returns their keys and values (for forward_cached).
    KvCache prefill(std::span<const std::int32_t> ids) const;

    // Full-vocabulary logits of one hidden row (vocab_size values). Errc::Unsupported when the
    // folder has no LM head (an embedding-only checkpoint).
    std::vector<float> logits(const float* hidden) const;
    // The logit of one token for one hidden row.
    float logit(const float* hidden, std::int32_t token) const;
    bool has_lm_head() const noexcept { return lm_head_ != nullptr; }

protected:
    explicit CausalLm(ModelInfo info) : Model(std::move(info)) {}
    // The forward pass: `prefix` may be null (from scratch); when `cache_out` is given, the batch
    // holds one sequence, prefix is null, and its keys/values are stored there.
    virtual Tensor decode(const TokenBatch& batch, const KvCache* prefix, KvCache* cache_out) const = 0;
    virtual KvCache make_cache(std::size_t length) const = 0;
    Tensor encode(const TokenBatch& batch) const override { return decode(batch, nullptr, nullptr); }

    const Tensor* lm_head_ = nullptr;  // [vocab x hidden]: the tied embeddings or lm_head.weight

private:
    void check_ids(const TokenBatch& batch, std::size_t prefix_length) const;
};

// Loads a model folder whose architecture is a causal LM (Errc::Unsupported naming the folder
// otherwise).
std::unique_ptr<CausalLm> load_causal_lm(const std::string& folder, const LoadOptions& options = {});

}  // namespace winnow
