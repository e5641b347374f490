// DocumentStore: the persistent source of truth of an index directory (SQLite, WAL mode).
//
// Tables: documents (external id, title, text, metadata JSON, source path, content hash) and
// chunks (document, ordinal, text, character span, optional embedding). Every write runs in a
// transaction and bumps the store's `generation`; derived structures (the inverted index, the
// FAISS index) record the generation they were built from and are rebuilt when it differs, so a
// crash at any moment leaves the last committed state readable and every index consistent.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace winnow::store {

// A document as written by an ingest: chunk spans refer to `text`.
struct Document {
    std::string id;             // external id (BEIR _id, TREC DOCNO, file path)
    std::string title;
    std::string text;
    std::string metadata_json;  // "{}" when none
    std::string source_path;    // file the document came from ("" when not from a file)
};

struct ChunkSpan {
    std::uint32_t begin = 0;  // byte span [begin, end) of Document::text this chunk covers
    std::uint32_t end = 0;
    std::string text;  // the text indexed and returned for this chunk (may carry the title as context)
};

struct Chunk {
    std::int64_t chunk_id = 0;
    std::int64_t doc_rowid = 0;
    std::string doc_id;  // external id of the document
    std::uint32_t ordinal = 0;
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    std::string text;
};

struct StoredDocument {
    std::int64_t rowid = 0;
    Document doc;
    std::string content_hash;
    std::int64_t n_chunks = 0;
};

enum class UpsertResult { Added, Replaced, Unchanged };

// Hex FNV-1a 64 over every field that affects indexing (title, text, metadata, chunk texts and spans).
std::string content_hash(const Document& doc, std::span<const ChunkSpan> chunks);

class DocumentStore {
public:
    // Opens (creating when `create` is true) <dir>/store.sqlite. Throws Error(NotFound/Io/Corrupt).
    DocumentStore(const std::string& dir, bool create);
    ~DocumentStore();
    DocumentStore(const DocumentStore&) = delete;
    DocumentStore& operator=(const DocumentStore&) = delete;

    const std::string& path() const noexcept { return path_; }

    // Explicit transactions group many writes into one commit (one generation bump).
    // Writes outside a transaction commit on their own.
    void begin();
    void commit();
    void rollback() noexcept;
    bool in_transaction() const noexcept { return in_transaction_; }

    // Inserts or replaces a document and its chunks. Unchanged content (same hash) is a no-op.
    // `embeddings` is empty or one vector per chunk (stored as float32 blobs).
    UpsertResult upsert(const Document& doc, std::span<const ChunkSpan> chunks,
                        std::span<const std::vector<float>> embeddings = {});
    // The stored hash of a document id, to skip work (chunking, embedding) for unchanged input.
    std::optional<std::string> hash_of(std::string_view doc_id) const;

    bool remove(std::string_view doc_id);                // true when it existed
    std::size_t remove_by_path(std::string_view path);   // number of documents removed

    std::optional<StoredDocument> document(std::string_view doc_id) const;
    std::optional<Chunk> chunk(std::int64_t chunk_id) const;
    std::vector<Chunk> chunks(std::span<const std::int64_t> chunk_ids) const;  // in the given order; missing skipped

    std::int64_t document_count() const;
    std::int64_t chunk_count() const;
    std::int64_t generation() const;

    // Runs fn inside one read transaction: everything it reads comes from a single committed
    // snapshot (WAL), even while another process writes. Nested calls share the outer snapshot.
    void with_snapshot(const std::function<void()>& fn) const;
    // The visitors below go in chunk_id order over the chunks whose id is above `after` (0: all;
    // ids are never reused, so an index that has seen ids up to N reads what came since with after = N).
    // Visits the id of every chunk (the cheapest scan: what an index compares with its own).
    void for_each_chunk_id(const std::function<void(std::int64_t chunk_id)>& fn, std::int64_t after = 0) const;
    // Visits (chunk_id, external document id).
    void for_each_chunk_doc(const std::function<void(std::int64_t chunk_id, const std::string& doc_id)>& fn,
                            std::int64_t after = 0) const;
    // Visits every chunk (text included).
    void for_each_chunk(const std::function<void(const Chunk&)>& fn, std::int64_t after = 0) const;
    // Visits every stored embedding.
    void for_each_embedding(const std::function<void(std::int64_t chunk_id, std::span<const float>)>& fn,
                            std::int64_t after = 0) const;
    std::int64_t max_chunk_id() const;  // 0 when the store never held a chunk
    // Distinct source paths, for `winnow index` to delete files that vanished.
    std::vector<std::string> source_paths() const;

    // Small key/value settings of the index directory (analyzer, bm25 spec, dense config).
    std::optional<std::string> setting(std::string_view key) const;
    void set_setting(std::string_view key, std::string_view value);

private:
    bool schema_complete() const;
    void create_schema();
    void exec(const char* sql) const;
    void bump_generation();
    void write_begin();
    void write_end();

    std::string path_;
    sqlite3* db_ = nullptr;
    bool in_transaction_ = false;
    bool dirty_ = false;
    mutable int snapshot_depth_ = 0;  // with_snapshot nesting
};

}  // namespace winnow::store
