#include <algorithm>
#include <atomic>
#include <memory>
#include <queue>
#include <unordered_map>

#include "tokenizer/models/model.h"
#include "tokenizer/unicode.h"
#include "winnow/error.h"

namespace winnow::tok {

void read_vocab_object(const Json& j, const std::string& where, Vocab& vocab);

namespace {

// (left id, right id) -> (rank, merged id), open addressing.
class MergeMap {
public:
    void reserve(std::size_t n) {
        std::size_t cap = 16;
        while (cap < n * 2) cap <<= 1;
        slots_.assign(cap, Slot{});
        mask_ = cap - 1;
    }
    void set(std::uint64_t key, std::uint32_t rank, std::int32_t id) {
        std::size_t i = mix(key) & mask_;
        while (slots_[i].used && slots_[i].key != key) i = (i + 1) & mask_;
        slots_[i] = Slot{key, rank, id, true};
    }
    const std::pair<std::uint32_t, std::int32_t>* find(std::uint64_t key) const noexcept {
        std::size_t i = mix(key) & mask_;
        while (slots_[i].used) {
            if (slots_[i].key == key) return reinterpret_cast<const std::pair<std::uint32_t, std::int32_t>*>(&slots_[i].rank);
            i = (i + 1) & mask_;
        }
        return nullptr;
    }
    static std::uint64_t key(std::int32_t a, std::int32_t b) noexcept {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
    }

private:
    static std::uint64_t mix(std::uint64_t k) noexcept {
        k ^= k >> 33;
        k *= 0xFF51AFD7ED558CCDULL;
        k ^= k >> 33;
        return k;
    }
    struct Slot {
        std::uint64_t key = 0;
        std::uint32_t rank = 0;
        std::int32_t id = 0;
        bool used = false;
    };
    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
};

struct Symbol {
    std::int32_t id;
    std::int32_t prev;
    std::int32_t next;
    std::uint32_t start;
    std::uint32_t len;
};

struct Candidate {
    std::uint32_t rank;
    std::uint32_t pos;
    std::int32_t new_id;
    bool operator<(const Candidate& o) const noexcept {  // max-heap: invert for lowest rank, then pos
        return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
};

struct CachedWord {
    std::vector<Token> tokens;
};

std::atomic<std::uint64_t> g_bpe_serial{1};

class Bpe final : public Model {
public:
    Bpe(const Json& j, const std::string& where) : where_(where), serial_(g_bpe_serial.fetch_add(1)) {
        auto v = j.find("vocab");
        WINNOW_CHECK(v != j.end(), Errc::Corrupt, "{}: missing field 'vocab'", where);
        read_vocab_object(*v, where, vocab_);
        if (auto it = j.find("unk_token"); it != j.end() && !it->is_null()) {
            WINNOW_CHECK(it->is_string(), Errc::Corrupt, "{}: field 'unk_token' must be a string or null", where);
            unk_token_ = it->get<std::string>();
            has_unk_ = true;
        }
        prefix_ = json_get_or<std::string>(j, "continuing_subword_prefix", "", where);
        suffix_ = json_get_or<std::string>(j, "end_of_word_suffix", "", where);
        fuse_unk_ = json_get_or<bool>(j, "fuse_unk", false, where);
        byte_fallback_ = json_get_or<bool>(j, "byte_fallback", false, where);
        ignore_merges_ = json_get_or<bool>(j, "ignore_merges", false, where);
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof(name), "<0x%02X>", b);
            auto id = vocab_.find(name);
            byte_ids_[b] = id ? *id : -1;
        }
        auto m = j.find("merges");
        WINNOW_CHECK(m != j.end() && m->is_array(), Errc::Corrupt, "{}: field 'merges' must be an array", where);
        merges_.reserve(m->size() + 1);
        for (std::size_t r = 0; r < m->size(); ++r) {
            const Json& e = (*m)[r];
            std::string a;
            std::string b;
            if (e.is_string()) {
                const std::string& s = e.get_ref<const std::string&>();
                const std::size_t sp = s.find(' ');
                WINNOW_CHECK(sp != std::string::npos && s.find(' ', sp + 1) == std::string::npos, Errc::Corrupt,
                             "{}: merges[{}] '{}' is not two tokens separated by one space", where, r, s);
                a = s.substr(0, sp);
                b = s.substr(sp + 1);
            } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
                a = e[0].get<std::string>();
                b = e[1].get<std::string>();
            } else {
                WINNOW_THROW(Errc::Corrupt, "{}: merges[{}] must be \"a b\" or [\"a\", \"b\"]", where, r);
            }
            auto ia = vocab_.find(a);
            auto ib = vocab_.find(b);
            WINNOW_CHECK(ia && ib, Errc::Corrupt, "{}: merges[{}] uses a token that is not in the vocab ('{}' '{}')",
                         where, r, a, b);
            WINNOW_CHECK(b.size() >= prefix_.size(), Errc::Corrupt, "{}: merges[{}] is shorter than the prefix", where,
                         r);
            const std::string merged = a + b.substr(prefix_.size());
            auto im = vocab_.find(merged);
            WINNOW_CHECK(im.has_value(), Errc::Corrupt, "{}: merges[{}] result '{}' is not in the vocab", where, r,
                         merged);
            merges_.set(MergeMap::key(*ia, *ib), static_cast<std::uint32_t>(r), *im);
        }
        if (has_unk_) {
            if (auto id = vocab_.find(unk_token_)) unk_id_ = *id;
        }
    }

    void tokenize(std::string_view word, std::vector<Token>& out) const override {
        if (word.empty()) return;
        if (ignore_merges_) {
            if (const std::int32_t* id = vocab_.find_ptr(word)) {
                out.push_back(Token{*id, 0, static_cast<std::uint32_t>(word.size())});
                return;
            }
        }
        // Per-thread bounded cache of word -> tokens (flat pool, no allocation per entry).
        struct Cache {
            std::uint64_t owner = 0;
            StringIdMap map;  // word -> entry index
            std::vector<std::pair<std::uint32_t, std::uint32_t>> entries;  // (pool offset, count)
            std::vector<Token> pool;
        };
        thread_local Cache cache;
        if (cache.owner != serial_) {
            cache.map.clear();
            cache.entries.clear();
            cache.pool.clear();
            cache.owner = serial_;
        }
        const bool cacheable = word.size() < kMaxCachedLength;
        if (cacheable) {
            if (const std::int32_t* e = cache.map.find(word)) {
                const auto [off, count] = cache.entries[static_cast<std::size_t>(*e)];
                out.insert(out.end(), cache.pool.begin() + off, cache.pool.begin() + off + count);
                return;
            }
        }
        const std::size_t mark = out.size();
        merge_word(word, out);
        if (cacheable) {
            if (cache.entries.size() >= kCacheCapacity || cache.pool.size() >= kPoolCapacity) {
                cache.map.clear();
                cache.entries.clear();
                cache.pool.clear();
            }
            cache.map.set(word, static_cast<std::int32_t>(cache.entries.size()));
            cache.entries.emplace_back(static_cast<std::uint32_t>(cache.pool.size()),
                                       static_cast<std::uint32_t>(out.size() - mark));
            cache.pool.insert(cache.pool.end(), out.begin() + static_cast<std::ptrdiff_t>(mark), out.end());
        }
    }

private:
    static constexpr std::size_t kMaxCachedLength = 256;
    static constexpr std::size_t kCacheCapacity = 65536;
    static constexpr std::size_t kPoolCapacity = 1u << 18;  // cached tokens (4 MiB): long words fill it fast

    void merge_word(std::string_view w, std::vector<Token>& out) const {
        thread_local std::vector<Symbol> symbols;
        thread_local std::string buf;
        symbols.clear();
        std::int32_t unk_id = -1;
        std::uint32_t unk_start = 0;
        std::uint32_t unk_len = 0;
        std::uint32_t cursor = 0;  // HF Word offsets are cumulative sums of the symbol lengths
        auto add = [&](std::int32_t id, std::uint32_t /*start*/, std::uint32_t len) {
            const auto idx = static_cast<std::int32_t>(symbols.size());
            symbols.push_back(Symbol{id, idx - 1, -1, cursor, len});
            cursor += len;
            if (idx > 0) symbols[static_cast<std::size_t>(idx - 1)].next = idx;
        };
        std::size_t i = 0;
        while (i < w.size()) {
            const std::size_t len = std::min(utf8_seq_len(static_cast<unsigned char>(w[i])), w.size() - i);
            const bool first = i == 0;
            const bool last = i + len >= w.size();
            std::string_view s = w.substr(i, len);
            if ((!first && !prefix_.empty()) || (last && !suffix_.empty())) {
                buf.clear();
                if (!first) buf += prefix_;
                buf.append(s);
                if (last) buf += suffix_;
                s = buf;
            }
            if (const std::int32_t* id = vocab_.find_ptr(s)) {
                if (unk_id >= 0) {
                    add(unk_id, unk_start, unk_len);
                    unk_id = -1;
                }
                add(*id, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(len));
            } else {
                bool done = false;
                if (byte_fallback_) {
                    bool all = true;
                    for (unsigned char c : s) all &= byte_ids_[c] >= 0;
                    if (all) {
                        // HF adds one byte token per byte of the (prefixed) piece, each 1 byte long.
                        std::uint32_t pos = static_cast<std::uint32_t>(i);
                        for (unsigned char c : s) {
                            add(byte_ids_[c], pos, 1);
                            ++pos;
                        }
                        done = true;
                    }
                }
                if (!done && has_unk_) {
                    WINNOW_CHECK(unk_id_ >= 0, Errc::Corrupt, "{}: unk_token '{}' is not in the vocab", where_,
                                 unk_token_);
                    if (unk_id >= 0 && fuse_unk_) {
                        unk_len += static_cast<std::uint32_t>(len);
                    } else {
                        if (unk_id >= 0) add(unk_id, unk_start, unk_len);
                        unk_id = unk_id_;
                        unk_start = static_cast<std::uint32_t>(i);
                        unk_len = static_cast<std::uint32_t>(len);
                    }
                }
            }
            i += len;
        }
        if (unk_id >= 0) add(unk_id, unk_start, unk_len);
        merge_all(symbols);
        for (const Symbol& sym : symbols) {
            if (sym.len == 0) continue;
            out.push_back(Token{sym.id, sym.start, sym.start + sym.len});
        }
        trim_scratch(symbols);
        trim_scratch(buf);
    }

    void merge_all(std::vector<Symbol>& symbols) const {
        thread_local std::vector<Candidate> heap;
        heap.clear();
        for (std::size_t k = 0; k + 1 < symbols.size(); ++k) {
            if (const auto* m = merges_.find(MergeMap::key(symbols[k].id, symbols[k + 1].id))) {
                heap.push_back(Candidate{m->first, static_cast<std::uint32_t>(k), m->second});
            }
        }
        std::make_heap(heap.begin(), heap.end());
        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end());
            const Candidate top = heap.back();
            heap.pop_back();
            Symbol& cur = symbols[top.pos];
            if (cur.len == 0 || cur.next < 0) continue;
            const auto next_pos = static_cast<std::size_t>(cur.next);
            const Symbol right = symbols[next_pos];
            const auto* m = merges_.find(MergeMap::key(cur.id, right.id));
            if (m == nullptr || m->second != top.new_id) continue;
            cur.id = top.new_id;
            cur.len += right.len;
            cur.next = right.next;
            symbols[next_pos].len = 0;
            if (right.next >= 0 && static_cast<std::size_t>(right.next) < symbols.size()) {
                symbols[static_cast<std::size_t>(right.next)].prev = static_cast<std::int32_t>(top.pos);
            }
            if (cur.prev >= 0) {
                const Symbol& prev = symbols[static_cast<std::size_t>(cur.prev)];
                if (const auto* pm = merges_.find(MergeMap::key(prev.id, cur.id))) {
                    heap.push_back(Candidate{pm->first, static_cast<std::uint32_t>(cur.prev), pm->second});
                    std::push_heap(heap.begin(), heap.end());
                }
            }
            if (cur.next >= 0 && static_cast<std::size_t>(cur.next) < symbols.size()) {
                const Symbol& nx = symbols[static_cast<std::size_t>(cur.next)];
                if (const auto* nm = merges_.find(MergeMap::key(cur.id, nx.id))) {
                    heap.push_back(Candidate{nm->first, top.pos, nm->second});
                    std::push_heap(heap.begin(), heap.end());
                }
            }
        }
        trim_scratch(heap);
    }

    std::string where_;
    std::uint64_t serial_;
    MergeMap merges_;
    std::string unk_token_;
    bool has_unk_ = false;
    std::int32_t unk_id_ = -1;
    std::string prefix_;
    std::string suffix_;
    bool fuse_unk_ = false;
    bool byte_fallback_ = false;
    bool ignore_merges_ = false;
    std::int32_t byte_ids_[256];
};

}  // namespace

std::unique_ptr<Model> make_bpe(const Json& j, const std::string& where) { return std::make_unique<Bpe>(j, where); }

}  // namespace winnow::tok
