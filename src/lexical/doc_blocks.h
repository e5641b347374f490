// DocBlocks: a segment's documents cut into blocks of 8 consecutive documents, with, for every
// term, a score bound per block that holds it, and each block's own (term, tf) pairs (a forward
// index). SegmentSearcher uses them for block-max pruning over the document space (as BMP,
// Mallia, Suel and Tonellotto, SIGIR 2024): sum the query terms' bounds per block, then score
// exactly only the blocks whose bound reaches the k-th score, best bound first.
//
// Why: the lists' own blocks of 128 postings barely bound anything on long queries (nearly every
// one holds a posting scoring within 10% of its term's maximum), so document-at-a-time MaxScore
// reads most postings of the essential terms. Eight documents rarely hold many query terms at
// once, so most blocks' bounds fall far below the k-th score, and a top-10 query scores a few
// hundred blocks.
//
// A bound is stored as one byte, a *key*: a tf level (the smallest of 16 levels >= the block's
// largest tf of the term) and a norm level (the largest of the segment's 16 norm quantiles <= the
// block's smallest norm of the term). The BM25 score grows with tf and falls with the norm, so the
// key's score bounds every posting of the term in the block under any BM25 parameters and
// statistics. Each (term, block) entry also says which of the block's documents hold the term, and
// each posting keeps its tf in a byte, so that a round of many blocks can be scored term at a
// time, reading the query terms' entries in order instead of each block's pairs far apart. Built
// for every segment (built or merged) and stored with it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "lexical/column.h"

namespace winnow {
class ThreadPool;
}

namespace winnow::lexical {

class InvertedIndex;
namespace detail {
class BufferReader;
class BufferWriter;
}  // namespace detail

class DocBlocks {
public:
    static constexpr std::uint32_t kBlockDocs = 8;
    // Per block, before its pairs: kBlockDocs 16-bit pair counts then kBlockDocs norms.
    static constexpr std::uint32_t kHeaderWords = (kBlockDocs * 3 + 3) / 4;
    // A pair is (term << 8 | min(tf, 255)): terms below 2^24; tf 255 means "255 or more".
    static constexpr std::uint32_t kMaxTerms = 1U << 24;
    // An entry is (block << 8 | mask): blocks below 2^24 (segments below 2^27 documents).
    static constexpr std::uint32_t kMaxBlocks = 1U << 24;
    static constexpr std::uint32_t kTfSaturated = 255;

    DocBlocks() = default;
    DocBlocks(DocBlocks&&) noexcept = default;
    DocBlocks& operator=(DocBlocks&&) noexcept = default;

    // From a finished segment's postings and norms. Empty (and unused) when the segment has
    // kMaxTerms terms or more, kMaxBlocks blocks or more, or a document with 65,536 distinct
    // terms or more.
    static DocBlocks build(const InvertedIndex& index);

    bool empty() const noexcept { return block_offsets_.empty(); }
    std::uint32_t block_count() const noexcept {
        return empty() ? 0 : static_cast<std::uint32_t>(block_offsets_.size() - 1);
    }

    // A term's entries, one per block that holds it, blocks ascending: [entries_begin, entries_end).
    // An entry is (block << 8 | mask): the mask's bit i says the block's document i holds the term.
    std::uint64_t entries_begin(std::uint32_t term) const noexcept { return term_ends_[term]; }
    std::uint64_t entries_end(std::uint32_t term) const noexcept { return term_ends_[term + 1]; }
    const std::uint32_t* entries() const noexcept { return entries_.data(); }
    static std::uint32_t entry_block(std::uint32_t entry) noexcept { return entry >> 8; }
    static std::uint8_t entry_mask(std::uint32_t entry) noexcept { return static_cast<std::uint8_t>(entry); }
    const std::uint8_t* entry_keys() const noexcept { return entry_keys_.data(); }
    // A term's frequencies, min(tf, 255), one per posting in document order (its entries' mask
    // bits in order) from tfs() + tfs_begin(term): what a pass over the entries scores from.
    std::uint64_t tfs_begin(std::uint32_t term) const noexcept { return tf_ends_[term]; }
    const std::uint8_t* tfs() const noexcept { return tfs_.data(); }
    // The (tf, norm) a key stands for: tf at least the block's largest (0 for "unbounded"), norm
    // at most its smallest.
    static std::uint32_t key_tf(std::uint8_t key) noexcept { return kTfLevel[key >> 4]; }
    std::uint8_t key_norm(std::uint8_t key) const noexcept { return norm_levels_[key & 15]; }

    // Block `b`'s words start at words() + block_offsets()[b]: the header, then its documents'
    // pairs, document after document.
    const std::uint64_t* block_offsets() const noexcept { return block_offsets_.data(); }
    const std::uint32_t* words() const noexcept { return words_.data(); }
    // The blocks' words on average (what scoring a block reads).
    double words_per_block() const noexcept {
        return empty() ? 0.0 : static_cast<double>(words_.size()) / static_cast<double>(block_count());
    }
    static std::uint16_t pair_count(const std::uint32_t* block, std::uint32_t i) noexcept {
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(block);
        return static_cast<std::uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8));
    }
    static std::uint8_t block_norm(const std::uint32_t* block, std::uint32_t i) noexcept {
        return reinterpret_cast<const std::uint8_t*>(block)[2 * kBlockDocs + i];
    }

    void save(detail::BufferWriter& w) const;
    bool load(detail::BufferReader& r, const std::shared_ptr<const void>& keep);
    // Of loaded data: every offset, block number, term number and count within its array, so no
    // lookup through them leaves an array (a file that passes its checksum may still be crafted).
    bool check(const InvertedIndex& index, ThreadPool* pool) const;
    std::size_t memory_bytes() const noexcept;

private:
    static constexpr std::array<std::uint32_t, 16> kTfLevel{1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32, 0};

    Column<std::uint8_t> norm_levels_;     // 16, ascending, the first 0
    Column<std::uint64_t> term_ends_;      // term count + 1 (leading 0): each term's entries
    Column<std::uint32_t> entries_;        // per entry: block << 8 | mask
    Column<std::uint8_t> entry_keys_;      // per entry: the key
    Column<std::uint64_t> tf_ends_;        // term count + 1 (leading 0): each term's frequencies
    Column<std::uint8_t> tfs_;             // per posting, term by term: min(tf, 255)
    Column<std::uint64_t> block_offsets_;  // block count + 1: each block's words
    Column<std::uint32_t> words_;
};

}  // namespace winnow::lexical
