#include "models/kv_cache.h"

namespace winnow {

KvCache::KvCache(std::size_t n_layers, std::size_t length, std::size_t kv_dim) : length_(length), kv_dim_(kv_dim) {
    keys_.reserve(n_layers);
    values_.reserve(n_layers);
    for (std::size_t l = 0; l < n_layers; ++l) {
        keys_.emplace_back(length, kv_dim);
        values_.emplace_back(length, kv_dim);
    }
}

}  // namespace winnow
