// InvertedIndex: one immutable *segment* of the lexical index: chunks analyzed into postings with
// Lucene-compatible BM25 statistics (per-term document frequency, document lengths as Lucene's
// one-byte norms, the sum of all lengths).
//
// A segment is built by InvertedIndex::Builder from add(chunk_id, text) calls in any chunk_id
// order; its document numbers are the positions of those calls (0, 1, ...). Segments are searched
// together by SegmentSearcher (segment_searcher.h), which combines their statistics and skips
// the documents a LiveDocs marks deleted; merge() folds several segments, minus their deleted
// documents, into one. search()/explain() here are the one-segment case of SegmentSearcher.
//
// Persisted as one checksummed file stamped with a generation (an opaque number the owner uses
// to tell whether the file still matches its source, e.g. the store generation it was built from).
// A loaded segment maps its file and uses every array in place (column.h): loading checks the
// checksum, the arrays' shapes and every block's documents, and copies nothing. Files are only
// ever replaced by rename (never rewritten in place), so a mapping stays valid while in use.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lexical/analyzer.h"
#include "lexical/bm25.h"
#include "lexical/column.h"
#include "lexical/doc_blocks.h"
#include "lexical/query.h"

namespace winnow {
class ThreadPool;
}
namespace winnow::store {
class DocumentStore;
}

namespace winnow::lexical {

class LiveDocs;
class SegmentSearcher;
struct Segment;
class InvertedIndex;

// A new segment holding the live documents of `parts`, in order (part 0's live documents first,
// each part's in its document order), with their terms, frequencies and lengths unchanged: its
// statistics are the sums over the live parts, so every live document scores as it would in a
// snapshot of these parts after all deletions were merged away. `parts` must share one analyzer.
InvertedIndex merge(std::span<const Segment> parts, std::int64_t generation);

class InvertedIndex {
public:
    // Accumulates documents (chunks) then produces the segment.
    class Builder {
    public:
        explicit Builder(AnalyzerOptions analyzer = {});
        // Any chunk_id order; a chunk id given twice is a bug (WINNOW_ASSERT at finish()).
        void add(std::int64_t chunk_id, std::string_view text);
        std::size_t doc_count() const noexcept { return chunk_ids_.size(); }
        InvertedIndex finish(std::int64_t generation, std::string analyzer_spec);

    private:
        Analyzer analyzer_;
        std::unordered_map<std::string, std::uint32_t> dict_;
        std::vector<std::string> term_names_;
        std::vector<std::vector<std::uint32_t>> postings_;  // per term: interleaved (doc, tf)
        std::vector<std::int64_t> chunk_ids_;
        std::vector<std::uint32_t> lengths_;
        std::vector<std::uint32_t> doc_terms_;
    };

    InvertedIndex() = default;
    InvertedIndex(InvertedIndex&&) noexcept;
    InvertedIndex& operator=(InvertedIndex&&) noexcept;
    ~InvertedIndex();

    // Builds over every chunk in the store (chunk_id order), stamped with the store's generation.
    static InvertedIndex build(const store::DocumentStore& store, std::string_view analyzer_spec);
    // Reads a saved segment; nullopt when missing, unreadable, corrupt, of an older file format,
    // not of `generation` (when given) or of another analyzer. Never throws for a bad file: the
    // caller rebuilds. A file of kResidentBytes or more is read into huge-page memory, a smaller
    // one mapped (see load in the .cpp).
    static constexpr std::uint64_t kResidentBytes = std::uint64_t{1} << 30;
    static std::optional<InvertedIndex> load(const std::string& path, std::optional<std::int64_t> generation,
                                             std::string_view analyzer_spec);
    // Writes atomically (temporary file, fsync, rename); throws Error(Io).
    void save(const std::string& path) const;

    std::int64_t generation() const noexcept { return generation_; }
    const std::string& analyzer_spec() const noexcept { return analyzer_spec_; }
    // Documents in the segment (deleted or not: deletions live in LiveDocs, outside the segment).
    std::size_t doc_count() const noexcept { return chunk_ids_.size(); }
    // Documents with at least one indexed term: BM25's N (Lucene's docCount of the field).
    std::uint64_t docs_with_terms() const noexcept { return docs_with_terms_; }
    std::uint64_t sum_total_term_freq() const noexcept { return sum_ttf_; }
    std::size_t term_count() const noexcept { return term_df_.size(); }
    std::size_t posting_count() const noexcept { return posting_count_; }
    // Bytes held in memory by the segment's arrays (postings, norms, ids, dictionary).
    std::size_t memory_bytes() const noexcept;

    std::int64_t chunk_id(std::uint32_t doc) const noexcept { return chunk_ids_[doc]; }
    // Whether chunk ids ascend with document numbers (a segment built or merged in chunk order).
    bool chunk_ids_ascending() const noexcept { return chunk_order_.empty(); }
    std::optional<std::uint32_t> doc_of_chunk(std::int64_t chunk_id) const;
    std::uint32_t doc_length(std::uint32_t doc) const noexcept { return lengths_[doc]; }
    std::uint8_t norm(std::uint32_t doc) const noexcept { return norms_[doc]; }
    std::span<const std::uint8_t> norms() const noexcept { return norms_.span(); }

    std::int64_t term_id(std::string_view term) const;  // -1 when absent
    std::string_view term(std::uint32_t term_id) const noexcept {
        const std::uint64_t begin = term_id == 0 ? 0 : term_name_ends_[term_id - 1];
        return {term_bytes_.data() + begin, term_name_ends_[term_id] - begin};
    }
    std::uint64_t doc_freq(std::int64_t term_id) const noexcept { return term_df_[term_id]; }
    std::uint64_t doc_freq(std::string_view term) const {
        const auto id = term_id(term);
        return id < 0 ? 0 : doc_freq(id);
    }
    // The term frequency of `term_id` in `doc` (0 when absent).
    std::uint32_t term_freq(std::int64_t term_id, std::uint32_t doc) const;

    // A query analyzed with this segment's analyzer (one cached Analyzer per thread).
    Bm25Query parse(std::string_view query_text) const;
    // The similarity for `params` over this segment's own statistics (cached per distinct params).
    const Bm25Similarity& similarity(const Bm25Params& params) const;

    // This segment alone, every document live (SegmentSearcher over one segment).
    std::vector<LexicalHit> search(std::string_view query_text, std::size_t k, const Bm25Params& params = {}) const;
    std::optional<Explanation> explain(std::string_view query_text, std::int64_t chunk_id,
                                       const Bm25Params& params = {}) const;

    // Walks one term's postings in document order, a block of 128 decoded at a time (the
    // frequencies only when first asked for). shallow() finds the block holding a document
    // without decoding it, for per-block score bounds (block_impacts()).
    class PostingCursor {
    public:
        static constexpr std::uint32_t kEnd = 0xffffffffU;
        PostingCursor() = default;
        PostingCursor(const InvertedIndex& index, std::uint32_t term_id);

        std::uint32_t doc() const noexcept { return doc_; }  // kEnd when exhausted
        std::uint32_t tf() {
            if (!tfs_ready_) load_tfs();
            return tfs_[pos_];
        }
        void next() {
            if (++pos_ < n_) {
                doc_ = docs_[pos_];
            } else if (block_ + 1 < end_block_) {
                load(block_ + 1);
            } else {
                doc_ = kEnd;
            }
        }
        // Moves to the first posting >= target (never backwards).
        void advance(std::uint32_t target);
        // Calls fn(doc, tf) for each posting from the current one through document `last`
        // (< kEnd), and stops on the first posting after it.
        template <typename Fn>
        void for_each_through(std::uint32_t last, Fn&& fn) {
            while (doc_ <= last) {
                if (!tfs_ready_) load_tfs();
                std::uint32_t p = pos_;
                const std::uint32_t n = n_;
                while (p < n && docs_[p] <= last) {
                    fn(docs_[p], tfs_[p]);
                    ++p;
                }
                if (p < n) {
                    pos_ = p;
                    doc_ = docs_[p];
                } else if (block_ + 1 < end_block_) {
                    load(block_ + 1);
                } else {
                    pos_ = n;
                    doc_ = kEnd;
                }
            }
        }
        // The first block from the current one whose last document is >= target (end_block()
        // when none); decodes nothing.
        std::uint64_t shallow(std::uint32_t target) const;
        std::uint64_t end_block() const noexcept { return end_block_; }
        std::uint32_t block_last_doc(std::uint64_t block) const noexcept { return index_->block_last_[block]; }
        // The (tf, norm) pairs of `block` that no other posting of it dominates.
        std::uint64_t impacts_begin(std::uint64_t block) const noexcept { return index_->block_impacts_[block]; }
        std::uint64_t impacts_end(std::uint64_t block) const noexcept { return index_->block_impacts_[block + 1]; }

    private:
        void load(std::uint64_t block);
        void load_tfs();

        const InvertedIndex* index_ = nullptr;
        std::uint64_t block_ = 0;
        std::uint64_t first_block_ = 0;
        std::uint64_t end_block_ = 0;
        std::uint32_t last_block_size_ = 0;
        std::uint32_t n_ = 0;
        std::uint32_t pos_ = 0;
        std::uint32_t doc_ = kEnd;
        bool tfs_ready_ = false;
        std::uint32_t docs_[128];
        std::uint32_t tfs_[128];
    };
    PostingCursor postings(std::uint32_t term_id) const { return PostingCursor(*this, term_id); }
    // Impact pairs (see block_impacts_ below), addressed by PostingCursor::impacts_begin/end.
    std::uint32_t impact_tf(std::uint64_t i) const noexcept { return impact_tfs_[i]; }
    std::uint8_t impact_norm(std::uint64_t i) const noexcept { return impact_norms_[i]; }
    // The term's impacts over all its postings: its maximum score under any statistics.
    std::uint64_t term_impacts_begin(std::uint32_t term_id) const noexcept { return term_impacts_[term_id]; }
    std::uint64_t term_impacts_end(std::uint32_t term_id) const noexcept { return term_impacts_[term_id + 1]; }
    std::uint32_t term_impact_tf(std::uint64_t i) const noexcept { return term_impact_tfs_[i]; }
    std::uint8_t term_impact_norm(std::uint64_t i) const noexcept { return term_impact_norms_[i]; }
    // The documents in blocks of 8 with per-term block bounds (doc_blocks.h); empty when the
    // segment is too large for them.
    const DocBlocks& doc_blocks() const noexcept { return doc_blocks_; }

private:
    friend class SegmentSearcher;
    friend InvertedIndex merge(std::span<const Segment> parts, std::int64_t generation);
    // Encodes one term's postings (docs ascending) as blocks.
    void append_term(const std::uint32_t* docs, const std::uint32_t* tfs, std::size_t n);
    // Of a built or merged segment: derives norms, statistics and the dictionary, and decodes
    // every block once to check it and collect its impacts.
    bool finalize();
    // Of a loaded segment: checks the arrays' shapes, and every block's documents (over ranges of
    // terms on `pool` when given), then derives the statistics and the dictionary. False when the
    // file is malformed.
    bool check_loaded(ThreadPool* pool);
    // The term names, stored as one column of bytes and their ends.
    void set_term_names(const std::vector<std::string>& names);
    // Statistics and the dictionary, from the lengths and the term names; false on a duplicate
    // term or chunk id.
    bool derive_lookups();
    // The term and block columns agree in their sizes, and the term offsets ascend.
    bool postings_shape_ok() const;
    // Impacts as collected by check_terms: each offset column starts with 0, then per block / term
    // the end of its impacts (the layout of block_impacts_ and term_impacts_).
    struct Impacts {
        std::vector<std::uint64_t> block_ends{0}, term_ends{0};
        std::vector<std::uint32_t> impact_tfs, term_tfs;
        std::vector<std::uint8_t> impact_norms, term_norms;
    };
    // Checks the blocks of terms [t0, t1); collects their impacts too when `impacts` is given.
    bool check_terms(std::size_t t0, std::size_t t1, Impacts* impacts) const;

    std::int64_t generation_ = 0;
    std::string analyzer_spec_;
    Column<std::int64_t> chunk_ids_;
    Column<std::uint32_t> chunk_order_;  // docs by ascending chunk id (empty when docs already are)
    Column<std::uint32_t> lengths_;
    Column<std::uint8_t> norms_;
    Column<std::uint64_t> term_name_ends_;  // per term: the end of its name in term_bytes_
    Column<char> term_bytes_;
    std::unordered_map<std::string_view, std::uint32_t> dict_;  // views into term_bytes_
    Column<std::uint32_t> term_df_;
    Column<std::uint64_t> term_blocks_;   // term_count + 1: each term's blocks
    Column<std::uint32_t> block_last_;    // per block: its last document
    Column<std::uint64_t> block_offset_;  // block count + 1: each block's words in words_
    Column<std::uint64_t> words_;         // the encoded blocks (postings.h)
    // Impacts, the (tf, norm) pairs no other posting dominates (higher or equal tf with a lower or
    // equal norm): the maximum BM25 score of the postings under any statistics is the maximum over
    // these few pairs. Per block (block-max pruning) and per term (term upper bounds).
    Column<std::uint64_t> block_impacts_;  // block count + 1
    Column<std::uint64_t> term_impacts_;   // term_count + 1
    Column<std::uint32_t> impact_tfs_;
    Column<std::uint8_t> impact_norms_;
    Column<std::uint32_t> term_impact_tfs_;
    Column<std::uint8_t> term_impact_norms_;
    DocBlocks doc_blocks_;
    std::uint64_t posting_count_ = 0;
    std::uint64_t docs_with_terms_ = 0;
    std::uint64_t sum_ttf_ = 0;

    mutable std::mutex sim_mutex_;
    mutable std::vector<std::pair<Bm25Params, std::unique_ptr<Bm25Similarity>>> sims_;
};

// One segment of a snapshot: the immutable index and the version of its deletions.
struct Segment {
    std::shared_ptr<const InvertedIndex> index;
    std::shared_ptr<const LiveDocs> live_docs;  // null: no document deleted
};

}  // namespace winnow::lexical
