// FirstStage: the one interface every candidate generator implements, so an external engine
// (PostgreSQL full text, Elasticsearch, Qdrant) can replace the embedded indexes later.
// A first stage maps a query to the k best chunks, best first; it never reads chunk text.
//   Bm25FirstStage    the embedded inverted index (Lucene-compatible BM25)
//   DenseFirstStage   FAISS over embeddings from a winnow::Embedder (query side: EmbedKind::Query)
//   HybridFirstStage  two first stages fused by RRF or min-max weighted scores, with per-side k
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/fusion.h"
#include "lexical/bm25.h"
#include "winnow/candidate.h"

namespace winnow {
class Embedder;
}
namespace winnow::lexical {
class SegmentSearcher;
struct Explanation;
}  // namespace winnow::lexical

namespace winnow::index {

class DenseSnapshot;  // index/segment_directory.h

class FirstStage {
public:
    virtual ~FirstStage() = default;
    // The k best chunks for the query, sorted by score descending (ties: lower chunk id first).
    virtual std::vector<Candidate> search(std::string_view query, std::size_t k) const = 0;
    // A spec string that names the configuration, e.g. "bm25(k1=0.9,b=0.4)".
    virtual std::string name() const = 0;
};

class Bm25FirstStage final : public FirstStage {
public:
    Bm25FirstStage(std::shared_ptr<const lexical::SegmentSearcher> index, lexical::Bm25Params params = {});
    std::vector<Candidate> search(std::string_view query, std::size_t k) const override;
    std::string name() const override;
    // Each query term's contribution to the chunk's score; nullopt when the chunk is not indexed.
    std::optional<lexical::Explanation> explain(std::string_view query, std::int64_t chunk_id) const;

private:
    std::shared_ptr<const lexical::SegmentSearcher> index_;
    lexical::Bm25Params params_;
};

class DenseFirstStage final : public FirstStage {
public:
    // ef_search: the HNSW beam width for its searches (0: the index's default).
    DenseFirstStage(std::shared_ptr<const DenseSnapshot> index, std::shared_ptr<const Embedder> embedder,
                    std::size_t ef_search = 0);
    std::vector<Candidate> search(std::string_view query, std::size_t k) const override;
    std::string name() const override;
    std::vector<Candidate> search_vector(const std::vector<float>& query, std::size_t k) const;

private:
    std::shared_ptr<const DenseSnapshot> index_;
    std::shared_ptr<const Embedder> embedder_;
    std::size_t ef_search_ = 0;
};

// The first list is the lexical side (HybridOptions::weight, k_lexical), the second the dense one.

class HybridFirstStage final : public FirstStage {
public:
    HybridFirstStage(std::shared_ptr<const FirstStage> first, std::shared_ptr<const FirstStage> second,
                     HybridOptions options = {});
    std::vector<Candidate> search(std::string_view query, std::size_t k) const override;
    std::string name() const override;

private:
    std::shared_ptr<const FirstStage> first_;
    std::shared_ptr<const FirstStage> second_;
    HybridOptions options_;
};

}  // namespace winnow::index
