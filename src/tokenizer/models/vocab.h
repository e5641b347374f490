// Vocab: token string <-> id, with an open-addressing hash table over owned strings (the lookups
// of WordPiece/BPE/Unigram are the hot path; no allocation per lookup).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::tok {

inline std::uint64_t hash_bytes(const char* p, std::size_t n) noexcept {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xFF51AFD7ED558CCDULL);
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    return h;
}

// A string -> int32 map over strings it owns.
class StringIdMap {
public:
    void reserve(std::size_t n);
    // Inserts or overwrites.
    void set(std::string_view key, std::int32_t id);
    const std::int32_t* find(std::string_view key) const noexcept {
        if (slots_.empty()) return nullptr;
        const std::uint64_t h = hash_bytes(key.data(), key.size());
        std::size_t i = h & mask_;
        while (true) {
            const Slot& s = slots_[i];
            if (s.key_index == kEmpty) return nullptr;
            if (s.hash == h) {
                const std::string& k = keys_[s.key_index];
                if (k.size() == key.size() && std::memcmp(k.data(), key.data(), key.size()) == 0) return &s.id;
            }
            i = (i + 1) & mask_;
        }
    }
    std::size_t size() const noexcept { return keys_.size(); }
    // Removes every key, keeping the table's capacity.
    void clear() {
        for (Slot& s : slots_) s = Slot{};
        keys_.clear();
    }

private:
    static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
    struct Slot {
        std::uint64_t hash = 0;
        std::uint32_t key_index = kEmpty;
        std::int32_t id = 0;
    };
    void grow();
    std::vector<Slot> slots_;
    std::vector<std::string> keys_;
    std::size_t mask_ = 0;
};

// Token <-> id for a model.
class Vocab {
public:
    void add(std::string_view token, std::int32_t id);
    std::optional<std::int32_t> find(std::string_view token) const noexcept {
        const std::int32_t* p = map_.find(token);
        return p ? std::optional<std::int32_t>(*p) : std::nullopt;
    }
    const std::int32_t* find_ptr(std::string_view token) const noexcept { return map_.find(token); }
    const std::string* token(std::int32_t id) const noexcept {
        if (id < 0 || static_cast<std::size_t>(id) >= by_id_.size() || !has_id_[static_cast<std::size_t>(id)]) {
            return nullptr;
        }
        return &by_id_[static_cast<std::size_t>(id)];
    }
    std::size_t size() const noexcept { return map_.size(); }
    std::size_t max_token_bytes() const noexcept { return max_bytes_; }

private:
    StringIdMap map_;
    std::vector<std::string> by_id_;
    std::vector<std::uint8_t> has_id_;
    std::size_t max_bytes_ = 0;
};

}  // namespace winnow::tok
