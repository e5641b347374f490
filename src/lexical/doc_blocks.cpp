#include "lexical/doc_blocks.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "lexical/file_format.h"
#include "lexical/inverted_index.h"

namespace winnow::lexical {
namespace {

std::uint32_t tf_level(std::uint32_t tf, std::span<const std::uint32_t> levels) {
    for (std::uint32_t i = 0; i + 1 < levels.size(); ++i) {
        if (tf <= levels[i]) return i;
    }
    return static_cast<std::uint32_t>(levels.size() - 1);  // unbounded
}

// Runs fn(begin, end) over [0, n) in ranges on `pool` (ThreadPool::parallel_for; all at once
// without a pool or for small n); true when every range returned true.
template <typename Fn>
bool all_ranges(std::size_t n, ThreadPool* pool, Fn&& fn) {
    if (pool == nullptr || n < 65536) return fn(std::size_t{0}, n);
    std::atomic<bool> ok{true};
    pool->parallel_for(n, [&](std::size_t begin, std::size_t end) {
        if (!fn(begin, end)) ok = false;
    });
    return ok;
}

}  // namespace

DocBlocks DocBlocks::build(const InvertedIndex& index) {
    DocBlocks out;
    const std::size_t n_docs = index.doc_count();
    const std::size_t n_terms = index.term_count();
    const std::size_t n_blocks = (n_docs + kBlockDocs - 1) / kBlockDocs;
    if (n_docs == 0 || n_terms >= kMaxTerms || n_blocks >= kMaxBlocks) return out;
    // Norm levels: 16 quantiles of the documents' norms (a key rounds a norm down to one).
    std::array<std::uint64_t, 256> norm_count{};
    for (std::size_t d = 0; d < n_docs; ++d) ++norm_count[index.norm(static_cast<std::uint32_t>(d))];
    std::vector<std::uint8_t> levels(16, 0);
    {
        std::uint64_t seen = 0;
        int norm = 0;
        for (std::size_t i = 1; i < 16; ++i) {
            const std::uint64_t rank = n_docs * i / 16;
            while (norm < 255 && seen + norm_count[norm] <= rank) seen += norm_count[norm++];
            levels[i] = static_cast<std::uint8_t>(norm);
        }
    }
    std::array<std::uint8_t, 256> level_of{};
    for (int n = 0, l = 0; n < 256; ++n) {
        while (l + 1 < 16 && levels[l + 1] <= n) ++l;
        level_of[n] = static_cast<std::uint8_t>(l);
    }
    // Pass 1: each term's entries, keys and frequencies, each document's pair count.
    std::vector<std::uint32_t> pairs(n_docs, 0);
    std::vector<std::uint64_t> term_ends{0};
    std::vector<std::uint32_t> entries;
    std::vector<std::uint8_t> entry_keys;
    std::vector<std::uint64_t> tf_ends{0};
    std::vector<std::uint8_t> tfs;
    term_ends.reserve(n_terms + 1);
    tf_ends.reserve(n_terms + 1);
    entries.reserve(index.posting_count());
    entry_keys.reserve(index.posting_count());
    tfs.reserve(index.posting_count());
    for (std::uint32_t t = 0; t < n_terms; ++t) {
        std::uint32_t block = ~0U, max_tf = 0, mask = 0;
        std::uint8_t min_norm = 255;
        auto flush = [&] {
            if (block == ~0U) return;
            entries.push_back(block << 8 | mask);
            entry_keys.push_back(static_cast<std::uint8_t>(tf_level(max_tf, kTfLevel) << 4 | level_of[min_norm]));
        };
        for (auto c = index.postings(t); c.doc() != InvertedIndex::PostingCursor::kEnd; c.next()) {
            const std::uint32_t d = c.doc();
            if (d / kBlockDocs != block) {
                flush();
                block = d / kBlockDocs;
                max_tf = 0;
                mask = 0;
                min_norm = 255;
            }
            max_tf = std::max(max_tf, c.tf());
            mask |= 1U << (d % kBlockDocs);
            min_norm = std::min(min_norm, index.norm(d));
            tfs.push_back(static_cast<std::uint8_t>(std::min(c.tf(), kTfSaturated)));
            ++pairs[d];
        }
        flush();
        term_ends.push_back(entries.size());
        tf_ends.push_back(tfs.size());
    }
    if (*std::max_element(pairs.begin(), pairs.end()) > 0xffff) return out;
    // Pass 2: the blocks' words, each document's pairs in term order.
    std::vector<std::uint64_t> offsets(n_blocks + 1, 0);
    std::vector<std::uint64_t> next(n_docs);  // where each document's next pair goes
    for (std::size_t b = 0; b < n_blocks; ++b) {
        std::uint64_t at = offsets[b] + kHeaderWords;
        for (std::size_t d = b * kBlockDocs; d < std::min(n_docs, (b + 1) * kBlockDocs); ++d) {
            next[d] = at;
            at += pairs[d];
        }
        offsets[b + 1] = at;
    }
    std::vector<std::uint32_t> words(offsets.back(), 0);
    for (std::size_t d = 0; d < n_docs; ++d) {
        auto* header = reinterpret_cast<std::uint8_t*>(words.data() + offsets[d / kBlockDocs]);
        const std::size_t i = d % kBlockDocs;
        header[2 * i] = static_cast<std::uint8_t>(pairs[d] & 0xff);
        header[2 * i + 1] = static_cast<std::uint8_t>(pairs[d] >> 8);
        header[2 * kBlockDocs + i] = index.norm(static_cast<std::uint32_t>(d));
    }
    for (std::uint32_t t = 0; t < n_terms; ++t) {
        for (auto c = index.postings(t); c.doc() != InvertedIndex::PostingCursor::kEnd; c.next()) {
            words[next[c.doc()]++] = t << 8 | std::min(c.tf(), kTfSaturated);
        }
    }
    out.norm_levels_ = std::move(levels);
    out.term_ends_ = std::move(term_ends);
    out.entries_ = std::move(entries);
    out.entry_keys_ = std::move(entry_keys);
    out.tf_ends_ = std::move(tf_ends);
    out.tfs_ = std::move(tfs);
    out.block_offsets_ = std::move(offsets);
    out.words_ = std::move(words);
    return out;
}

void DocBlocks::save(detail::BufferWriter& w) const {
    w.column(norm_levels_.span());
    w.column(term_ends_.span());
    w.column(entries_.span());
    w.column(entry_keys_.span());
    w.column(tf_ends_.span());
    w.column(tfs_.span());
    w.column(block_offsets_.span());
    w.column(words_.span());
}

bool DocBlocks::load(detail::BufferReader& r, const std::shared_ptr<const void>& keep) {
    return r.column(norm_levels_, keep) && r.column(term_ends_, keep) && r.column(entries_, keep) &&
           r.column(entry_keys_, keep) && r.column(tf_ends_, keep) && r.column(tfs_, keep) &&
           r.column(block_offsets_, keep) && r.column(words_, keep);
}

bool DocBlocks::check(const InvertedIndex& index, ThreadPool* pool) const {
    if (empty()) {  // a segment without blocks stores every column empty
        return norm_levels_.empty() && term_ends_.empty() && entries_.empty() && entry_keys_.empty() &&
               tf_ends_.empty() && tfs_.empty() && words_.empty();
    }
    const std::size_t n_docs = index.doc_count();
    const std::size_t n_terms = index.term_count();
    const std::size_t n_blocks = (n_docs + kBlockDocs - 1) / kBlockDocs;
    if (n_terms >= kMaxTerms || n_blocks >= kMaxBlocks || norm_levels_.size() != 16 || norm_levels_[0] != 0 ||
        !std::is_sorted(norm_levels_.begin(), norm_levels_.end()) || term_ends_.size() != n_terms + 1 ||
        term_ends_.front() != 0 || term_ends_.back() != entries_.size() ||
        entry_keys_.size() != entries_.size() || !std::is_sorted(term_ends_.begin(), term_ends_.end()) ||
        tf_ends_.size() != n_terms + 1 || tf_ends_.front() != 0 || tf_ends_.back() != tfs_.size() ||
        !std::is_sorted(tf_ends_.begin(), tf_ends_.end()) ||
        block_offsets_.size() != n_blocks + 1 || block_offsets_.front() != 0 ||
        block_offsets_.back() != words_.size()) {
        return false;
    }
    // Each term's blocks ascend and exist, its masks name existing documents, and its frequencies
    // are one per mask bit, each >= 1.
    const bool terms_ok = all_ranges(n_terms, pool, [&](std::size_t t0, std::size_t t1) {
        for (std::size_t t = t0; t < t1; ++t) {
            std::uint64_t prev = 0, postings = 0;
            for (std::uint64_t e = term_ends_[t]; e < term_ends_[t + 1]; ++e) {
                const std::uint64_t b = std::uint64_t{entry_block(entries_[e])} + 1;
                const std::uint32_t mask = entry_mask(entries_[e]);
                if (b <= prev || b > n_blocks || mask == 0) return false;
                if ((b - 1) * kBlockDocs + (std::bit_width(mask) - 1) >= n_docs) return false;
                prev = b;
                postings += static_cast<std::uint64_t>(std::popcount(mask));
            }
            if (tf_ends_[t + 1] - tf_ends_[t] != postings) return false;
            for (std::uint64_t i = tf_ends_[t]; i < tf_ends_[t + 1]; ++i) {
                if (tfs_[i] == 0) return false;
            }
        }
        return true;
    });
    // Each block holds its header and exactly its documents' pairs, of existing terms, tf >= 1.
    const bool blocks_ok = terms_ok && all_ranges(n_blocks, pool, [&](std::size_t b0, std::size_t b1) {
        for (std::size_t b = b0; b < b1; ++b) {
            const std::uint64_t w0 = block_offsets_[b];
            const std::uint64_t w1 = block_offsets_[b + 1];
            if (w1 < w0 + kHeaderWords || w1 > words_.size()) return false;
            std::uint64_t count = 0;
            for (std::uint32_t i = 0; i < kBlockDocs; ++i) {
                const std::uint16_t c = pair_count(words_.data() + w0, i);
                if (c != 0 && b * kBlockDocs + i >= n_docs) return false;  // past the last document
                count += c;
            }
            if (count != w1 - w0 - kHeaderWords) return false;
            for (std::uint64_t w = w0 + kHeaderWords; w < w1; ++w) {
                if ((words_[w] >> 8) >= n_terms || (words_[w] & 0xff) == 0) return false;
            }
        }
        return true;
    });
    return blocks_ok;
}

std::size_t DocBlocks::memory_bytes() const noexcept {
    return norm_levels_.size() + term_ends_.size() * 8 + entries_.size() * 4 + entry_keys_.size() +
           tf_ends_.size() * 8 + tfs_.size() + block_offsets_.size() * 8 + words_.size() * 4;
}

}  // namespace winnow::lexical
