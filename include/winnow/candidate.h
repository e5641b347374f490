// winnow::Candidate: the one type a query's results travel in, from the first stage (BM25, dense,
// hybrid fusion) through the index's chunk lookup and the pipeline's stages to the output, and
// SearchOptions: the typed first-stage settings that produce them (built once when a pipeline
// spec compiles, or by `winnow search` from its flags through the same spec keys).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace winnow {

// A chunk as a query sees it: identity and first-stage score (every first stage fills these), then
// its document, text and span (filled from the store when text is asked for).
struct Candidate {
    std::int64_t chunk_id = 0;
    float score = 0.0f;  // first-stage score
    std::string doc_id{};
    std::string title{};
    std::string source{};  // file path or URL, "" when unknown
    std::string text{};
    std::uint32_t begin = 0;  // byte span in the document
    std::uint32_t end = 0;
};

// The most candidates a pipeline spec (and so `winnow search`'s flags and the HTTP API's `k` and
// `pipeline`) may ask for: first-stage k, hybrid per-side k, ef_search. Larger values are refused
// with Error(InvalidArgument) when the spec is parsed.
inline constexpr std::size_t kMaxCandidates = 100000;

enum class FirstStageKind { Bm25, Dense, Hybrid };
FirstStageKind parse_first_stage_kind(std::string_view name);  // "bm25|dense|hybrid", throws Error
std::string_view first_stage_kind_name(FirstStageKind kind) noexcept;

// BM25 (Lucene 8+ formula); Anserini's defaults.
struct Bm25Params {
    float k1 = 0.9f;
    float b = 0.4f;
    bool operator==(const Bm25Params&) const = default;
};

enum class FusionMethod { Rrf, Weighted };

// Hybrid first stage: BM25 and dense lists fused by RRF or min-max weighted scores.
struct HybridOptions {
    FusionMethod fusion = FusionMethod::Rrf;
    double rrf_k = 60.0;
    double weight = 0.5;        // weighted fusion: weight of BM25; dense gets 1 - weight
    std::size_t k_lexical = 0;  // candidates from each side; 0 = max(k, 100)
    std::size_t k_dense = 0;
};

// A first stage served by an external engine instead of the index directory (the spec stages
// `xapian(...)` and `elasticsearch(...)`). The chunk text comes back from the engine's stored field,
// so such a pipeline needs no index directory. Empty `engine`: the index's own first stage.
struct ExternalStageOptions {
    std::string engine;                // "xapian" | "elasticsearch" | ""
    std::vector<std::string> db;       // xapian: local database folders (made by `winnow index --to xapian:DIR`)
    std::vector<std::string> remote;   // xapian: host:port of xapian-tcpsrv shards, searched as one database
    std::string url;                   // elasticsearch: base URL, e.g. http://localhost:9200
    std::string index;                 // elasticsearch: the index name
    std::string field = "text";        // elasticsearch: the text field the match query searches
    std::string knn_field;             // elasticsearch: dense_vector field for a knn clause ("" : none)
    std::string embed_model;           // elasticsearch: model that embeds the query for knn
    std::size_t num_candidates = 0;    // elasticsearch knn: candidates per shard (0: max(2k, 100))
    std::size_t timeout_ms = 10000;    // one search, network included
    bool dfs = false;                  // elasticsearch: search_type=dfs_query_then_fetch (index-wide term statistics)
    bool opensearch = false;           // elasticsearch: the cluster is OpenSearch (api=opensearch): knn is a query clause
    bool operator==(const ExternalStageOptions&) const = default;
};

// The first stage's settings; the spec keys of bm25/dense/hybrid stages map one to one:
// k, k1 and b (bm25), fusion, rrf_k, weight, k_lexical, k_dense (hybrid), ef_search (dense, hybrid).
struct SearchOptions {
    FirstStageKind first_stage = FirstStageKind::Bm25;
    std::size_t k = 10;
    std::optional<Bm25Params> bm25{};  // unset: the index's own parameters
    HybridOptions hybrid{};
    std::size_t ef_search = 0;  // HNSW beam width for this search; 0: the index's default
    bool with_text = true;      // fetch title, text and span from the store
    ExternalStageOptions external{};  // set: an external engine runs the first stage (first_stage is unused)
};

}  // namespace winnow
