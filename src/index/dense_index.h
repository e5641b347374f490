// DenseIndex: FAISS vector search by inner product over chunk embeddings, built from a factory
// string ("Flat" exact, "HNSW32" graph, or any FAISS factory string). Positions in the FAISS
// index map to chunk ids through an id array kept beside it.
//
// Persisted as one file (dense.faiss): a header (magic, store generation, factory, dimension, ids)
// followed by FAISS's own serialization; written atomically. Like the lexical index it is derived
// from the store (embeddings live in SQLite) and rebuilt when its generation is stale.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace faiss {
struct Index;
}

namespace winnow::dense {

struct DenseHit {
    std::int64_t chunk_id = 0;
    float score = 0.0f;
};

class DenseIndex {
public:
    // Throws Error(InvalidArgument) for a factory string FAISS rejects or dimension 0.
    DenseIndex(std::string factory, std::size_t dimension, std::int64_t generation = 0);
    ~DenseIndex();
    DenseIndex(DenseIndex&&) noexcept;
    DenseIndex& operator=(DenseIndex&&) noexcept;

    // Adds n vectors (row-major, dimension floats each) for the given chunk ids.
    void add(std::span<const std::int64_t> chunk_ids, std::span<const float> vectors);
    // Top-k by inner product, best first; thread-safe. ef_search > 0 sets the HNSW beam width for
    // this search only (searches with their own width take turns; 0: the index's width).
    std::vector<DenseHit> search(std::span<const float> query, std::size_t k, std::size_t ef_search = 0) const;
    // HNSW beam width at search time (default kDefaultEfSearch; the search uses max(ef, k)).
    // Not thread-safe against concurrent searches.
    void set_ef_search(std::size_t ef_search);
    std::size_t ef_search() const;  // 0 for indexes other than HNSW
    static constexpr std::size_t kDefaultEfSearch = 128;

    static std::optional<DenseIndex> load(const std::string& path, std::int64_t generation);
    void save(const std::string& path) const;

    const std::string& factory() const noexcept { return factory_; }
    std::size_t dimension() const noexcept { return dimension_; }
    std::size_t size() const noexcept { return ids_.size(); }
    std::int64_t chunk_id(std::size_t position) const noexcept { return ids_[position]; }
    // The stored vector at `position` (FAISS reconstruct: exact for Flat and HNSW<M> storage);
    // throws Error(Unsupported) for an index that cannot give its vectors back.
    void reconstruct(std::size_t position, std::span<float> out) const;
    std::int64_t generation() const noexcept { return generation_; }
    void set_generation(std::int64_t generation) noexcept { generation_ = generation; }

private:
    DenseIndex() = default;
    std::string factory_;
    std::size_t dimension_ = 0;
    std::int64_t generation_ = 0;
    std::vector<std::int64_t> ids_;
    std::unique_ptr<faiss::Index> index_;
    // FAISS 1.7.3 reads the beam width from the index only: a search with its own width holds
    // this exclusively while it sets and restores it; other searches hold it shared.
    std::unique_ptr<std::shared_mutex> ef_mutex_ = std::make_unique<std::shared_mutex>();
};

}  // namespace winnow::dense
