// InvertedIndex: an in-memory inverted index over chunks with Lucene-compatible BM25 scoring and
// MaxScore top-k (document-at-a-time; exact results, safe because each term's score is monotonic
// in tf and in the norm, so a per-term upper bound holds).
//
// Query -> Weight -> score, in the Lucene/Tantivy shape: a Bm25Query is the analyzed bag of
// words (a term repeated n times gets boost n, as Anserini's BagOfWordsQueryGenerator does);
// Bm25Weight binds it to this index and a similarity (per-query statistics computed once:
// idf, weight, upper bound); search() and explain() run the weight.
//
// Persisted as one file (lexical.idx) stamped with the store generation it was built from, so a
// reader can tell whether it still matches the store. Internal document numbers are positions in
// chunk_id order; ties in score are broken by lower document number (Lucene's order).
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

namespace winnow::store {
class DocumentStore;
}

namespace winnow::lexical {

struct LexicalHit {
    std::int64_t chunk_id = 0;
    std::uint32_t doc = 0;  // internal document number
    float score = 0.0f;
};

struct QueryTerm {
    std::string term;
    float boost = 1.0f;
};

struct Bm25Query {
    std::vector<QueryTerm> terms;  // unique terms, first-occurrence order
};

// Analyzes a query string into a bag of words; repeated terms get boost = count.
Bm25Query make_query(std::string_view text, Analyzer& analyzer);

struct TermExplanation {
    std::string term;
    float boost = 1.0f;
    std::uint64_t doc_freq = 0;
    std::uint64_t doc_count = 0;
    float idf = 0.0f;
    std::uint32_t tf = 0;
    std::uint32_t doc_length = 0;      // exact length (terms indexed)
    std::uint32_t encoded_length = 0;  // the length Lucene's one-byte norm decodes to
    float avgdl = 0.0f;
    float score = 0.0f;
};

struct Explanation {
    std::int64_t chunk_id = 0;
    float score = 0.0f;
    Bm25Params params;
    std::vector<TermExplanation> terms;  // every query term, tf = 0 when absent
    std::string to_string() const;       // Lucene-style indented text
};

class InvertedIndex;

// Per-query statistics bound to one index: what Lucene calls the Weight.
class Bm25Weight {
public:
    struct TermStats {
        std::string term;
        float boost = 1.0f;
        std::int64_t term_id = -1;  // -1: not in the index
        std::uint64_t doc_freq = 0;
        float idf = 0.0f;
        float weight = 0.0f;       // boost * idf
        float upper_bound = 0.0f;  // max score of this term over its postings
    };
    Bm25Weight(const InvertedIndex& index, const Bm25Query& query, const Bm25Similarity& similarity,
               std::span<const float> max_tf_norm);

    std::vector<LexicalHit> top_k(std::size_t k) const;
    std::vector<LexicalHit> top_k_exhaustive(std::size_t k) const;  // term-at-a-time reference (tests)
    Explanation explain(std::uint32_t doc) const;
    const std::vector<TermStats>& terms() const noexcept { return terms_; }

private:
    const InvertedIndex& index_;
    const Bm25Similarity& similarity_;
    std::vector<TermStats> terms_;
};

class InvertedIndex {
public:
    // Accumulates documents (chunks) then produces the index.
    class Builder {
    public:
        explicit Builder(AnalyzerOptions analyzer = {});
        void add(std::int64_t chunk_id, std::string_view text);
        InvertedIndex finish(std::int64_t generation, std::string analyzer_spec);

    private:
        Analyzer analyzer_;
        std::unordered_map<std::string, std::uint32_t> dict_;
        std::vector<std::string> term_names_;
        std::vector<std::vector<std::uint32_t>> postings_;  // per term: interleaved (doc, tf)
        std::vector<std::int64_t> chunk_ids_;
        std::vector<std::uint32_t> lengths_;
        std::unordered_map<std::uint32_t, std::uint32_t> doc_tf_;
        std::vector<std::uint32_t> doc_terms_;
    };

    InvertedIndex() = default;
    InvertedIndex(InvertedIndex&&) noexcept;
    InvertedIndex& operator=(InvertedIndex&&) noexcept;
    ~InvertedIndex();

    // Builds over every chunk in the store (chunk_id order), stamped with the store's generation.
    static InvertedIndex build(const store::DocumentStore& store, std::string_view analyzer_spec);
    // Reads a saved index; nullopt when missing, unreadable, corrupt, or not of `generation`
    // (or of another analyzer). Never throws for a bad file: the caller rebuilds.
    static std::optional<InvertedIndex> load(const std::string& path, std::int64_t generation,
                                             std::string_view analyzer_spec);
    // Writes atomically (temporary file, fsync, rename).
    void save(const std::string& path) const;

    std::int64_t generation() const noexcept { return generation_; }
    const std::string& analyzer_spec() const noexcept { return analyzer_spec_; }
    std::size_t doc_count() const noexcept { return chunk_ids_.size(); }
    std::uint64_t docs_with_terms() const noexcept { return docs_with_terms_; }
    std::uint64_t sum_total_term_freq() const noexcept { return sum_ttf_; }
    std::size_t term_count() const noexcept { return term_names_.size(); }
    std::size_t posting_count() const noexcept { return post_docs_.size(); }
    std::int64_t chunk_id(std::uint32_t doc) const noexcept { return chunk_ids_[doc]; }
    std::optional<std::uint32_t> doc_of_chunk(std::int64_t chunk_id) const;
    std::int64_t term_id(std::string_view term) const;  // -1 when absent
    std::uint64_t doc_freq(std::int64_t term_id) const noexcept {
        return term_offsets_[term_id + 1] - term_offsets_[term_id];
    }

    // A query analyzed with this index's analyzer (one cached Analyzer per thread).
    Bm25Query parse(std::string_view query_text) const;
    // The similarity for `params` and its per-term maximum tf * normInverse (computed once per
    // distinct params, then cached).
    const Bm25Similarity& similarity(const Bm25Params& params) const;

    std::vector<LexicalHit> search(std::string_view query_text, std::size_t k, const Bm25Params& params = {}) const;
    std::optional<Explanation> explain(std::string_view query_text, std::int64_t chunk_id,
                                       const Bm25Params& params = {}) const;

private:
    friend class Bm25Weight;
    struct SimilarityEntry {
        std::unique_ptr<Bm25Similarity> similarity;
        std::vector<float> max_tf_norm;  // per term: max over postings of tf * normInverse
    };
    const SimilarityEntry& similarity_entry(const Bm25Params& params) const;
    void finalize();

    std::int64_t generation_ = 0;
    std::string analyzer_spec_;
    std::vector<std::int64_t> chunk_ids_;
    std::vector<std::uint32_t> lengths_;
    std::vector<std::uint8_t> norms_;
    std::vector<std::string> term_names_;
    std::unordered_map<std::string_view, std::uint32_t> dict_;  // views into term_names_
    std::vector<std::uint64_t> term_offsets_;                   // term_count + 1
    std::vector<std::uint32_t> post_docs_;
    std::vector<std::uint32_t> post_tfs_;
    std::uint64_t docs_with_terms_ = 0;
    std::uint64_t sum_ttf_ = 0;

    mutable std::mutex sim_mutex_;
    mutable std::vector<std::pair<Bm25Params, std::unique_ptr<SimilarityEntry>>> sims_;
};

}  // namespace winnow::lexical
