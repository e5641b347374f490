#include "tokenizer/models/vocab.h"

namespace winnow::tok {

void StringIdMap::reserve(std::size_t n) {
    std::size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    if (cap <= slots_.size()) return;
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
        if (s.key_index == kEmpty) continue;
        std::size_t i = s.hash & mask_;
        while (slots_[i].key_index != kEmpty) i = (i + 1) & mask_;
        slots_[i] = s;
    }
    keys_.reserve(n);
}

void StringIdMap::grow() { reserve(std::max<std::size_t>(keys_.size() * 2, 16)); }

void StringIdMap::set(std::string_view key, std::int32_t id) {
    if ((keys_.size() + 1) * 2 > slots_.size()) grow();
    const std::uint64_t h = hash_bytes(key.data(), key.size());
    std::size_t i = h & mask_;
    while (true) {
        Slot& s = slots_[i];
        if (s.key_index == kEmpty) {
            s.hash = h;
            s.key_index = static_cast<std::uint32_t>(keys_.size());
            s.id = id;
            keys_.emplace_back(key);
            return;
        }
        if (s.hash == h && keys_[s.key_index] == key) {
            s.id = id;
            return;
        }
        i = (i + 1) & mask_;
    }
}

void Vocab::add(std::string_view token, std::int32_t id) {
    map_.set(token, id);
    if (id >= 0) {
        const auto u = static_cast<std::size_t>(id);
        if (u >= by_id_.size()) {
            by_id_.resize(u + 1);
            has_id_.resize(u + 1, 0);
        }
        by_id_[u] = std::string(token);
        has_id_[u] = 1;
    }
    max_bytes_ = std::max(max_bytes_, token.size());
}

}  // namespace winnow::tok
