// Sentence-transformers pooling: one vector per sequence from the token embeddings of an unpadded
// batch. Modes (concatenated in this order when several are on, as sentence-transformers does):
// cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "tensor/tensor.h"

namespace winnow {

enum class PoolingMode { Cls, Max, Mean, MeanSqrtLen, WeightedMean, LastToken };

std::string_view pooling_mode_name(PoolingMode mode) noexcept;
PoolingMode parse_pooling_mode(std::string_view name, std::string_view where);  // Errc::Unsupported

class Pooling {
public:
    Pooling() = default;
    explicit Pooling(std::vector<PoolingMode> modes, bool include_prompt = true);
    // A 1_Pooling/config.json: the current form {"pooling_mode": "mean" | [...]} or the legacy
    // flags {"pooling_mode_mean_tokens": true, ...}. Errors name `where`.
    static Pooling from_json(const Json& json, std::string_view where);

    // [n_sequences x dim * modes]. skip[s] (optional) = leading tokens of sequence s left out
    // (the prompt, when include_prompt is false); CLS pooling always reads the first token.
    Tensor pool(const Tensor& hidden, std::span<const std::uint32_t> cu_seqlens,
                std::span<const std::uint32_t> skip = {}) const;

    const std::vector<PoolingMode>& modes() const noexcept { return modes_; }
    bool include_prompt() const noexcept { return include_prompt_; }

private:
    std::vector<PoolingMode> modes_{PoolingMode::Mean};
    bool include_prompt_ = true;
};

// In-place L2 normalisation of each row (rows of norm 0 stay 0).
void l2_normalize_rows(Tensor& x);

}  // namespace winnow
