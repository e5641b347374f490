#include "index/dense_index.h"

#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/HNSW.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/atomic_file.h"
#include "core/log.h"
#include "winnow/error.h"

namespace winnow::dense {
namespace {

constexpr char kMagic[8] = {'W', 'N', 'W', 'D', 'N', 'S', '0', '1'};

struct FileCloser {
    void operator()(FILE* f) const {
        if (f) std::fclose(f);
    }
};
using File = std::unique_ptr<FILE, FileCloser>;

template <typename T>
bool read_pod(FILE* f, T& v) {
    return std::fread(&v, sizeof(T), 1, f) == 1;
}

}  // namespace

DenseIndex::DenseIndex(std::string factory, std::size_t dimension, std::int64_t generation)
    : factory_(std::move(factory)), dimension_(dimension), generation_(generation) {
    WINNOW_CHECK(dimension_ > 0 && dimension_ < (1u << 20), Errc::InvalidArgument, "dense index: bad dimension {}",
                 dimension_);
    try {
        index_.reset(faiss::index_factory(static_cast<int>(dimension_), factory_.c_str(), faiss::METRIC_INNER_PRODUCT));
    } catch (const faiss::FaissException& e) {
        WINNOW_THROW(Errc::InvalidArgument, "dense index: FAISS rejects factory string '{}': {}", factory_, e.what());
    }
    WINNOW_CHECK(index_ && index_->is_trained, Errc::Unsupported,
                 "dense index: factory '{}' needs training; use Flat or HNSW<M>", factory_);
    set_ef_search(kDefaultEfSearch);
}

DenseIndex::~DenseIndex() = default;
DenseIndex::DenseIndex(DenseIndex&&) noexcept = default;
DenseIndex& DenseIndex::operator=(DenseIndex&&) noexcept = default;

void DenseIndex::add(std::span<const std::int64_t> chunk_ids, std::span<const float> vectors) {
    WINNOW_CHECK(vectors.size() == chunk_ids.size() * dimension_, Errc::InvalidArgument,
                 "dense index: {} floats for {} vectors of dimension {}", vectors.size(), chunk_ids.size(), dimension_);
    if (chunk_ids.empty()) return;
    index_->add(static_cast<faiss::Index::idx_t>(chunk_ids.size()), vectors.data());
    ids_.insert(ids_.end(), chunk_ids.begin(), chunk_ids.end());
}

void DenseIndex::set_ef_search(std::size_t ef_search) {
    if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index_.get())) {
        hnsw->hnsw.efSearch = static_cast<int>(std::max<std::size_t>(ef_search, 1));
    }
}

std::size_t DenseIndex::ef_search() const {
    if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index_.get())) return static_cast<std::size_t>(hnsw->hnsw.efSearch);
    return 0;
}

std::vector<DenseHit> DenseIndex::search(std::span<const float> query, std::size_t k, std::size_t ef_search) const {
    WINNOW_CHECK(query.size() == dimension_, Errc::InvalidArgument, "dense index: query of dimension {}, index has {}",
                 query.size(), dimension_);
    k = std::min(k, ids_.size());
    if (k == 0) return {};
    std::vector<float> distances(k);
    std::vector<faiss::Index::idx_t> labels(k);
    // FAISS 1.7.3 ignores SearchParametersHNSW: the beam width is the index's efSearch, and HNSW
    // search widens it to k when k is larger. A search with its own width sets it under the
    // exclusive lock and puts the index's width back.
    auto* hnsw = ef_search > 0 ? dynamic_cast<faiss::IndexHNSW*>(index_.get()) : nullptr;
    if (hnsw != nullptr && static_cast<std::size_t>(hnsw->hnsw.efSearch) != ef_search) {
        std::unique_lock lock(*ef_mutex_);
        const int saved = hnsw->hnsw.efSearch;
        hnsw->hnsw.efSearch = static_cast<int>(std::min(ef_search, ids_.size()));  // wider than the index is no use
        try {
            index_->search(1, query.data(), static_cast<faiss::Index::idx_t>(k), distances.data(), labels.data());
        } catch (...) {
            hnsw->hnsw.efSearch = saved;
            throw;
        }
        hnsw->hnsw.efSearch = saved;
    } else {
        std::shared_lock lock(*ef_mutex_);
        index_->search(1, query.data(), static_cast<faiss::Index::idx_t>(k), distances.data(), labels.data());
    }
    std::vector<DenseHit> out;
    out.reserve(k);
    for (std::size_t i = 0; i < k; ++i) {
        if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= ids_.size()) continue;
        out.push_back({ids_[static_cast<std::size_t>(labels[i])], distances[i]});
    }
    // FAISS orders by score; make ties deterministic (lower chunk id first).
    std::stable_sort(out.begin(), out.end(), [](const DenseHit& a, const DenseHit& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.chunk_id < b.chunk_id;
    });
    return out;
}

void DenseIndex::reconstruct(std::size_t position, std::span<float> out) const {
    WINNOW_ASSERT(position < ids_.size() && out.size() == dimension_);
    try {
        index_->reconstruct(static_cast<faiss::Index::idx_t>(position), out.data());
    } catch (const faiss::FaissException& e) {
        WINNOW_THROW(Errc::Unsupported, "FAISS index '{}' cannot give its vectors back: {}", factory_, e.what());
    }
}

void DenseIndex::save(const std::string& path) const {
    write_file_atomic(path, [&](FILE* f) {
        const auto factory_len = static_cast<std::uint32_t>(factory_.size());
        const auto dim = static_cast<std::uint64_t>(dimension_);
        const auto n = static_cast<std::uint64_t>(ids_.size());
        bool ok = std::fwrite(kMagic, 1, sizeof(kMagic), f) == sizeof(kMagic) &&
                  std::fwrite(&generation_, sizeof(generation_), 1, f) == 1 &&
                  std::fwrite(&factory_len, sizeof(factory_len), 1, f) == 1 &&
                  std::fwrite(factory_.data(), 1, factory_.size(), f) == factory_.size() &&
                  std::fwrite(&dim, sizeof(dim), 1, f) == 1 && std::fwrite(&n, sizeof(n), 1, f) == 1 &&
                  std::fwrite(ids_.data(), sizeof(std::int64_t), ids_.size(), f) == ids_.size();
        try {
            if (ok) faiss::write_index(index_.get(), f);
        } catch (const faiss::FaissException&) {
            ok = false;
        }
        return ok;
    });
}

std::optional<DenseIndex> DenseIndex::load(const std::string& path, std::int64_t generation) {
    File f(std::fopen(path.c_str(), "rb"));
    if (!f) return std::nullopt;
    char magic[8];
    DenseIndex d;
    std::uint32_t factory_len = 0;
    std::uint64_t dim = 0;
    std::uint64_t n = 0;
    if (std::fread(magic, 1, 8, f.get()) != 8 || std::memcmp(magic, kMagic, 8) != 0 || !read_pod(f.get(), d.generation_) ||
        !read_pod(f.get(), factory_len) || factory_len > 4096) {
        log::warn("{}: not a winnow dense index; rebuilding", path);
        return std::nullopt;
    }
    if (d.generation_ != generation) {
        log::info("{}: built for generation {} (store is at {}); rebuilding", path, d.generation_, generation);
        return std::nullopt;
    }
    d.factory_.resize(factory_len);
    if (std::fread(d.factory_.data(), 1, factory_len, f.get()) != factory_len || !read_pod(f.get(), dim) ||
        !read_pod(f.get(), n) || n > (1ULL << 40)) {
        log::warn("{}: truncated dense index; rebuilding", path);
        return std::nullopt;
    }
    d.dimension_ = dim;
    d.ids_.resize(n);
    if (std::fread(d.ids_.data(), sizeof(std::int64_t), n, f.get()) != n) {
        log::warn("{}: truncated dense index; rebuilding", path);
        return std::nullopt;
    }
    try {
        d.index_.reset(faiss::read_index(f.get()));
    } catch (const faiss::FaissException& e) {
        log::warn("{}: unreadable FAISS index ({}); rebuilding", path, e.what());
        return std::nullopt;
    }
    if (!d.index_ || static_cast<std::uint64_t>(d.index_->ntotal) != n ||
        static_cast<std::uint64_t>(d.index_->d) != dim) {
        log::warn("{}: FAISS index does not match its id map; rebuilding", path);
        return std::nullopt;
    }
    d.set_ef_search(kDefaultEfSearch);
    return d;
}

}  // namespace winnow::dense
