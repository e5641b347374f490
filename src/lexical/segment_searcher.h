// SegmentSearcher: BM25 top-k over a snapshot of segments, an ordered list of (InvertedIndex,
// LiveDocs) pairs, as Lucene's IndexSearcher over its leaves.
//
// Statistics are combined across the segments: N (documents with terms), the sum of lengths
// (hence avgdl) and each term's document frequency are sums over the segments. As in Lucene,
// deleted documents still count in these statistics until a merge drops them (a replaced chunk
// counts twice until then); merge() (inverted_index.h) produces a segment whose statistics are
// those of its live documents only. Deleted documents are never returned.
//
// Top-k is exact: the same hits and scores as scoring every posting (search_exhaustive), with ties
// broken by the lower chunk id, so one segment built in chunk_id order ranks exactly as before
// segments existed. Each document's score sums its terms' contributions in query-term order (in
// double, then rounded to float), whatever the pruning did, so the score does not depend on the
// algorithm, the segment layout or other documents. Immutable and thread-safe; cheap to build
// (a few sums per segment), so build one per snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lexical/inverted_index.h"
#include "lexical/live_docs.h"
#include "lexical/query.h"

namespace winnow::lexical {

// How search() prunes, both exact. doc_blocks: the segment's blocks of 8 documents, best bound
// first (doc_blocks.h); max_score: block-max MaxScore over the posting lists, document at a time.
// automatic picks per segment: doc_blocks for k <= 100, or k <= the segment's documents / 100
// (measured on the topical corpus: blocks are 5-6x faster at top-10 and 1.7x at top-1000 on 10M
// chunks, 1.7x at top-1000 on 1M, 1.4x on 300k, even on 100k), max_score otherwise and for
// segments or queries the blocks do not cover (see blocks_apply in the .cpp).
// doc_blocks_blockwise / doc_blocks_termwise: doc_blocks with its later rounds forced block at a
// time or term at a time, after a first round of a single group of blocks; doc_blocks_banded: a
// first round term at a time over the band of one group's worth of best bounds, later rounds block
// at a time (tests: a small segment then has later rounds too, and each way of scoring them is
// run; doc_blocks picks by cost).
enum class Pruning { automatic, max_score, doc_blocks, doc_blocks_blockwise, doc_blocks_termwise, doc_blocks_banded };

// The enumerator's name ("doc_blocks_banded"), for benchmarks and test messages.
std::string_view pruning_name(Pruning pruning) noexcept;

class SegmentSearcher {
public:
    // Pruning::automatic uses the document blocks for k <= kDocBlocksMaxK, or when the segment
    // holds at least kDocBlocksDocsPerK documents per result asked for.
    static constexpr std::size_t kDocBlocksMaxK = 100;
    static constexpr std::size_t kDocBlocksDocsPerK = 100;

    SegmentSearcher() = default;  // an empty snapshot: every search returns nothing
    // Throws Error(InvalidArgument) when an index is null, the segments' analyzers differ or a
    // LiveDocs does not have its segment's document count.
    explicit SegmentSearcher(std::vector<Segment> segments);

    const std::vector<Segment>& segments() const noexcept { return segments_; }
    // The combined statistics (deleted documents included, see above).
    std::uint64_t doc_count() const noexcept { return doc_count_; }  // BM25 N: documents with terms
    std::uint64_t sum_total_term_freq() const noexcept { return sum_ttf_; }
    std::uint64_t doc_freq(std::string_view term) const;
    // Documents not deleted, over all segments.
    std::uint64_t live_doc_count() const noexcept { return live_count_; }
    Bm25Similarity similarity(const Bm25Params& params) const;

    // Analyzed with the segments' analyzer (an empty query for an empty snapshot).
    Bm25Query parse(std::string_view query_text) const;

    std::vector<LexicalHit> search(std::string_view query_text, std::size_t k, const Bm25Params& params = {}) const;
    std::vector<LexicalHit> search(const Bm25Query& query, std::size_t k, const Bm25Params& params = {},
                                   Pruning pruning = Pruning::automatic) const;
    // Reference implementation (tests, benchmarks): scores every posting of every query term.
    std::vector<LexicalHit> search_exhaustive(const Bm25Query& query, std::size_t k,
                                              const Bm25Params& params = {}) const;

    struct Location {
        std::uint32_t segment = 0;
        std::uint32_t doc = 0;
    };
    // The live document holding `chunk_id` (the last segment first); nullopt when none is live.
    std::optional<Location> locate(std::int64_t chunk_id) const;
    // Why `chunk_id` scores what it does (nullopt when it is not a live document).
    std::optional<Explanation> explain(std::string_view query_text, std::int64_t chunk_id,
                                       const Bm25Params& params = {}) const;

private:
    std::vector<Segment> segments_;
    std::string analyzer_spec_;
    std::uint64_t doc_count_ = 0;
    std::uint64_t sum_ttf_ = 0;
    std::uint64_t live_count_ = 0;
};

}  // namespace winnow::lexical
