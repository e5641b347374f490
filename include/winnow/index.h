// winnow::Index: a persistent index directory and its first-stage search.
//
//   <dir>/store.sqlite     documents and chunks (SQLite, WAL): the source of truth
//   <dir>/segments.json    the manifest: the segments of the derived indexes and the store
//                          generation they reflect
//   <dir>/seg_<n>.lex      one immutable lexical segment (BM25 postings)
//   <dir>/seg_<n>.dense    its FAISS index over the chunks' embeddings (when the index has one)
//   <dir>/seg_<n>.del.<m>  the segment's deleted chunks (tombstones), version m
//
// Writes go through an Index::Writer in batched transactions; a crash at any moment leaves the
// last committed batch readable. The segments are derived from the store: when the store moved on,
// the chunks added since become one new segment and the removed ones tombstones (nothing is
// rebuilt), and small segments are merged by a tiered policy; a manifest that disagrees with the
// store is repaired by rebuilding. Searching is thread-safe and reads one snapshot of segments;
// one Writer at a time per directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "winnow/candidate.h"

namespace winnow {

class Embedder;

struct IndexDocument {
    std::string id;  // unique external id (BEIR _id, TREC DOCNO, file path)
    std::string title;
    std::string text;
    std::string metadata_json = "{}";
    std::string source_path;
};

// One chunk of a document: the byte span [begin, end) of IndexDocument::text it covers and the
// text that is indexed and returned for it (it may carry the title as context).
struct ChunkText {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    std::string text;
};

// A chunking strategy. Built-ins: "document" (one chunk: "title text", as Anserini indexes BEIR)
// and "paragraph" / "paragraph(max_chars=1500)" (blank-line paragraphs packed up to max_chars,
// the title as a first line of each chunk). Other modules register more (token-aware chunking).
using Chunker = std::function<std::vector<ChunkText>(const IndexDocument&)>;
using ChunkerFactory = std::function<Chunker(std::string_view params)>;
void register_chunker(std::string name, ChunkerFactory factory);
Chunker make_chunker(std::string_view spec);  // "name" or "name(params)"; throws Error(InvalidArgument)
std::vector<std::string> chunker_names();

// Fixed when the index is created; stored in it.
struct IndexConfig {
    std::string analyzer = "english";         // see lexical/analyzer.h
    std::string bm25 = "bm25(k1=0.9,b=0.4)";  // default scoring (a search may override)
    std::string dense;                        // FAISS factory string ("Flat", "HNSW32"); empty: none
    std::string embed_model;                  // the model that made the stored vectors
    std::size_t dense_dimension = 0;
    // How segments are merged (src/index/segment_directory.h): "tiered" (the default),
    // "tiered(segments_per_tier=10,floor=10000,deletes=0.3)" or "none". Unlike the fields above it
    // may change between runs; empty keeps the index's own.
    std::string merge_policy;
};

struct WriteOptions {
    std::shared_ptr<const Embedder> embedder;  // required when the index has a dense side
    Chunker chunker;                           // default: make_chunker("document")
    std::size_t batch_documents = 500;         // documents per committed transaction
    std::size_t embed_batch = 64;              // chunks per Embedder::embed call
    std::function<void(std::size_t n_chunks)> on_embedded;  // after each embed call (progress), if set
    // Title + text + metadata bytes of one document; over it, upsert throws Error(TooLarge).
    std::size_t max_document_bytes = 16u << 20;
};

struct IngestSummary {
    std::size_t added = 0;
    std::size_t replaced = 0;
    std::size_t unchanged = 0;
    std::size_t removed = 0;
    std::size_t chunks = 0;  // chunks written (added + replaced documents)
};

class Index {
public:
    class Writer;

    // Opens an existing index; `embedder` is needed only for dense/hybrid search. Throws
    // Error(NotFound) when `dir` holds no index.
    static std::unique_ptr<Index> open(const std::string& dir, std::shared_ptr<const Embedder> embedder = nullptr);
    // Opens or creates. An existing index keeps its config; `config.dense` may add a dense side
    // to an index that has none. Throws Error(InvalidArgument) when the analyzer differs.
    static std::unique_ptr<Index> create(const std::string& dir, const IndexConfig& config,
                                         std::shared_ptr<const Embedder> embedder = nullptr);
    ~Index();
    Index(const Index&) = delete;
    Index& operator=(const Index&) = delete;

    const std::string& dir() const noexcept;
    const IndexConfig& config() const noexcept;
    std::size_t document_count() const;
    std::size_t chunk_count() const;
    std::int64_t generation() const;
    bool has_dense() const noexcept;
    // Segments of the derived indexes searched now (each `winnow index` run adds at most one;
    // merges fold them).
    std::size_t segment_count() const;
    void set_embedder(std::shared_ptr<const Embedder> embedder);
    // Distinct source paths of the stored documents (files that were indexed).
    std::vector<std::string> source_paths() const;

    // Reloads the derived indexes when the store moved on (another process wrote). Returns true
    // when something changed.
    bool refresh();

    // The best options.k candidates, best first, with their text when options.with_text. Any k
    // works (a k over the chunk count returns them all, allocating for no more).
    std::vector<Candidate> search(std::string_view query, const SearchOptions& options = {}) const;
    // The spec string of the first stage search() runs for `options`, e.g. "bm25(k1=0.9,b=0.4)" or
    // "dense(HNSW32,ef_search=7)". Throws like search() when the options ask for a side the index
    // cannot serve.
    std::string first_stage_name(const SearchOptions& options) const;
    // Per-term BM25 contributions for one chunk (Lucene-style text); empty when not indexed.
    std::string explain(std::string_view query, std::int64_t chunk_id, std::optional<Bm25Params> bm25 = {}) const;
    // Fills document, text and span of first-stage candidates (chunk_id, score); missing ids are
    // dropped; the order is kept.
    std::vector<Candidate> hits(std::vector<Candidate> scored, bool with_text = true) const;

    std::unique_ptr<Writer> writer(WriteOptions options = {});

    class Writer {
    public:
        ~Writer();  // rolls back what was not committed
        // Chunks with the writer's chunker; unchanged documents (same content hash) are skipped.
        void upsert(const IndexDocument& doc);
        // Already chunked (the pipeline's token-aware chunker).
        void upsert(const IndexDocument& doc, std::vector<ChunkText> chunks);
        bool remove(std::string_view doc_id);
        std::size_t remove_path(std::string_view source_path);
        // Commits the open batch (also done every batch_documents documents).
        void commit();
        // Commits, writes a segment for the added chunks and tombstones for the removed ones
        // (no rebuild), refreshes the Index, then runs the merges the merge policy selects.
        IngestSummary finish();
        const IngestSummary& summary() const noexcept;

    private:
        friend class Index;
        struct Impl;
        explicit Writer(std::unique_ptr<Impl> impl);
        std::unique_ptr<Impl> impl_;
    };

    struct Impl;  // opaque (src/index/index.cpp)

private:
    explicit Index(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace winnow
