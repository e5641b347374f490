// KvCache: the keys and values a decoder computed for a token prefix, one pair of tensors per layer
// ([length x n_kv_heads * head_dim]; keys after their norm and RoPE), so that continuations of the
// prefix (the documents of one query in an LLM reranker) attend to it without recomputing it.
#pragma once

#include <cstddef>
#include <vector>

#include "tensor/tensor.h"

namespace winnow {

class KvCache {
public:
    KvCache() = default;
    // Room for `length` tokens of `n_layers` layers with `kv_dim` = n_kv_heads * head_dim values each.
    KvCache(std::size_t n_layers, std::size_t length, std::size_t kv_dim);

    KvCache(KvCache&&) noexcept = default;
    KvCache& operator=(KvCache&&) noexcept = default;

    std::size_t length() const noexcept { return length_; }
    std::size_t n_layers() const noexcept { return keys_.size(); }
    std::size_t kv_dim() const noexcept { return kv_dim_; }
    bool empty() const noexcept { return length_ == 0; }
    std::size_t bytes() const noexcept { return 2 * n_layers() * length_ * kv_dim_ * sizeof(float); }

    Tensor& keys(std::size_t layer) noexcept { return keys_[layer]; }
    Tensor& values(std::size_t layer) noexcept { return values_[layer]; }
    const Tensor& keys(std::size_t layer) const noexcept { return keys_[layer]; }
    const Tensor& values(std::size_t layer) const noexcept { return values_[layer]; }

private:
    std::vector<Tensor> keys_;
    std::vector<Tensor> values_;
    std::size_t length_ = 0;
    std::size_t kv_dim_ = 0;
};

}  // namespace winnow
