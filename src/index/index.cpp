// winnow::Index (include/winnow/index.h): the store, the derived lexical and dense indexes and the
// writer that keeps them consistent.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include "core/atomic_file.h"
#include "core/log.h"
#include "index/dense_index.h"
#include "index/document_chunker.h"
#include "index/first_stage.h"
#include "index/fusion.h"
#include "index/manifest.h"
#include "index/segment_directory.h"
#include "lexical/inverted_index.h"
#include "store/document_store.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/index.h"

namespace winnow {
namespace fs = std::filesystem;

FirstStageKind parse_first_stage_kind(std::string_view name) {
    if (name == "bm25") return FirstStageKind::Bm25;
    if (name == "dense") return FirstStageKind::Dense;
    if (name == "hybrid") return FirstStageKind::Hybrid;
    WINNOW_THROW(Errc::InvalidArgument, "unknown first stage '{}' (expected bm25, dense or hybrid)", name);
}

std::string_view first_stage_kind_name(FirstStageKind kind) noexcept {
    switch (kind) {
        case FirstStageKind::Bm25: return "bm25";
        case FirstStageKind::Dense: return "dense";
        case FirstStageKind::Hybrid: return "hybrid";
    }
    return "bm25";
}

// ---- Index ---------------------------------------------------------------------------------

struct Index::Impl {
    std::string dir;
    IndexConfig config;
    std::unique_ptr<store::DocumentStore> store;
    mutable std::mutex store_mutex;  // one SQLite connection, used by search and the writer
    std::shared_ptr<const Embedder> embedder;

    // Identifies one version of segments.json (a new version is a new file renamed into place).
    struct ManifestId {
        std::uint64_t inode = 0;
        std::int64_t mtime_ns = 0;
        std::int64_t size = -1;
        bool operator==(const ManifestId&) const = default;
    };

    mutable std::mutex state_mutex;
    std::shared_ptr<const index::Snapshot> segments;
    // chunk id -> external document id, in chunk id order, for hits without text.
    // Built on the first search without text of a generation (chunk_docs_of), not by refresh: a
    // one-shot search printing texts never needs it, and on a large index it costs a scan of
    // every chunk in the store.
    mutable std::shared_ptr<const std::vector<std::pair<std::int64_t, std::string>>> chunk_docs;
    // The last map built, of any generation: the next one starts from it.
    mutable std::shared_ptr<const std::vector<std::pair<std::int64_t, std::string>>> last_chunk_docs;
    std::int64_t generation = -1;
    ManifestId manifest_id;

    // What one search reads: the segments and the chunk -> document map of one generation, taken
    // together (a refresh between reading one and the other would mix generations).
    struct State {
        std::shared_ptr<const index::Snapshot> segments;
        std::shared_ptr<const std::vector<std::pair<std::int64_t, std::string>>> chunk_docs;
        std::int64_t generation = -1;
    };
    State state() const {
        std::scoped_lock lock(state_mutex);
        return State{segments, chunk_docs, generation};
    }

    std::string manifest_path() const { return (fs::path(dir) / index::Manifest::kFileName).string(); }
    index::SegmentDirectory segment_directory() const {
        return index::SegmentDirectory(dir, config.analyzer, config.dense);
    }

    ManifestId current_manifest_id() const {
        struct stat st {};
        if (::stat(manifest_path().c_str(), &st) != 0) return {};
        return {static_cast<std::uint64_t>(st.st_ino),
                static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                static_cast<std::int64_t>(st.st_size)};
    }

    void load_config() {
        if (auto v = store->setting("analyzer")) config.analyzer = *v;
        if (auto v = store->setting("bm25")) config.bm25 = *v;
        if (auto v = store->setting("dense")) config.dense = *v;
        if (auto v = store->setting("embed_model")) config.embed_model = *v;
        if (auto v = store->setting("dense_dimension")) config.dense_dimension = std::stoull(*v);
        if (auto v = store->setting("merge_policy")) config.merge_policy = *v;
    }

    // Loads the segments for the store's current generation: the manifest's when it reflects the
    // store, else a catch-up (new segment + tombstones) under the directory lock.
    bool refresh(bool force_save) {
        std::unique_lock store_lock(store_mutex);
        return refresh_locked(force_save);
    }

    // refresh() with store_mutex held. Inside a read snapshot of the store it loads or builds the
    // segments of exactly that snapshot's generation (the store's nested snapshots are that one).
    bool refresh_locked(bool /*force_save*/) {
        const std::int64_t gen = store->generation();
        const ManifestId id = current_manifest_id();
        std::shared_ptr<const index::Snapshot> previous;
        {
            std::scoped_lock lock(state_mutex);
            if (gen == generation && segments && id == manifest_id) return false;
            previous = segments;
        }
        // A directory (or other non-file) where the manifest belongs cannot be read, replaced or
        // rebuilt: an IO error naming it.
        {
            std::error_code ec;
            const auto type = fs::status(manifest_path(), ec).type();
            WINNOW_CHECK(ec || type == fs::file_type::not_found || type == fs::file_type::regular, Errc::Io,
                         "'{}' exists but is not a regular file (a directory?); remove it and the index is rebuilt",
                         manifest_path());
        }
        const index::SegmentDirectory segdir = segment_directory();
        std::optional<index::Snapshot> snap;
        ManifestId snap_id;
        // The manifest on disk, when it reflects the store (another process may delete the files
        // of a manifest it just replaced: read it again).
        // A manifest of the store's generation whose live count is not the store's chunk count was
        // not written from this store (a copied or edited directory): it goes through the catch-up,
        // which finds the disagreement and rebuilds.
        const auto matches_store = [&](const index::Manifest& m) {
            bool match = false;
            store->with_snapshot([&] {
                match = m.generation == store->generation() &&
                        static_cast<std::int64_t>(m.live_count()) == store->chunk_count();
            });
            return match;
        };
        for (int attempt = 0; attempt < 3 && !snap; ++attempt) {
            snap_id = current_manifest_id();
            const auto m = index::Manifest::load(dir);
            if (!m || !matches_store(*m)) break;
            snap = segdir.open(*m, previous.get());
        }
        if (!snap) {
            bool persist = true;
            std::unique_ptr<index::DirectoryLock> lock;
            try {
                lock = std::make_unique<index::DirectoryLock>(dir);
            } catch (const Error& e) {
                log::warn("cannot write the segments (searching from memory): {}", e.what());
                persist = false;
            }
            store->with_snapshot([&] {
                const auto m = index::Manifest::load(dir);  // another process may have caught up
                snap_id = current_manifest_id();
                if (m && matches_store(*m)) {
                    snap = segdir.open(*m, previous.get());
                    if (snap) return;
                }
                try {
                    snap = segdir.catch_up(*store, m, previous.get(), persist);
                } catch (const Error& e) {
                    if (!persist) throw;
                    log::warn("cannot save the segments (searching from memory): {}", e.what());
                    snap = segdir.catch_up(*store, m, previous.get(), false);
                }
                snap_id = current_manifest_id();
            });
        }
        auto shared = std::make_shared<const index::Snapshot>(std::move(*snap));
        const std::int64_t snap_gen = shared->manifest.generation;
        std::scoped_lock lock(state_mutex);
        segments = std::move(shared);
        chunk_docs = nullptr;
        generation = snap_gen;
        manifest_id = snap_id;
        return true;
    }

    // The chunk -> document map of `state`'s generation, built on first use; null when the store
    // has moved past that generation (the caller then reads the store). The caller holds
    // store_mutex when `store_locked`. Two searches may build it at once: both maps are the same,
    // and the first published stays.
    std::shared_ptr<const std::vector<std::pair<std::int64_t, std::string>>> chunk_docs_of(const State& state,
                                                                                          bool store_locked) const {
        using DocMap = std::vector<std::pair<std::int64_t, std::string>>;
        if (state.chunk_docs) return state.chunk_docs;
        std::shared_ptr<const DocMap> previous_docs;
        {
            std::scoped_lock lock(state_mutex);
            if (segments == state.segments && chunk_docs) return chunk_docs;
            previous_docs = last_chunk_docs;
        }
        const index::Snapshot& snap = *state.segments;
        auto docs = std::make_shared<DocMap>();
        bool built = false;
        std::unique_lock store_lock(store_mutex, std::defer_lock);
        if (!store_locked) store_lock.lock();
        store->with_snapshot([&] {
            if (store->generation() != state.generation) return;  // moved on: resolve() reads the store
            built = true;
            docs->reserve(snap.lexical->live_doc_count());
            // Incremental when there is a previous map: its entries still live in the new segments,
            // then the chunks above its last id (ids are never reused); a full scan otherwise, or
            // when the result is not the store's chunk count.
            if (previous_docs && !previous_docs->empty()) {
                std::vector<std::int64_t> live;
                live.reserve(snap.lexical->live_doc_count());
                for (const auto& seg : snap.segments) {
                    for (std::uint32_t d = 0; d < seg.lexical->doc_count(); ++d) {
                        if (!seg.live_docs || seg.live_docs->is_live(d)) live.push_back(seg.lexical->chunk_id(d));
                    }
                }
                std::sort(live.begin(), live.end());
                std::size_t at = 0;
                for (const auto& entry : *previous_docs) {
                    while (at < live.size() && live[at] < entry.first) ++at;
                    if (at < live.size() && live[at] == entry.first) docs->push_back(entry);
                }
                store->for_each_chunk_doc([&](std::int64_t cid, const std::string& doc) { docs->emplace_back(cid, doc); },
                                          previous_docs->back().first);
                if (static_cast<std::int64_t>(docs->size()) == store->chunk_count()) return;
                docs->clear();
            }
            store->for_each_chunk_doc([&](std::int64_t cid, const std::string& doc) { docs->emplace_back(cid, doc); });
        });
        if (!built || docs->empty()) return nullptr;
        std::scoped_lock lock(state_mutex);
        if (segments == state.segments) {
            if (chunk_docs) return chunk_docs;
            chunk_docs = docs;
        }
        last_chunk_docs = docs;
        return docs;
    }

    // Runs the merges the policy selects (outside store_mutex: searches go on over the snapshot
    // they hold) and publishes the result when the state is still the one merged from.
    void merge_segments() {
        const index::MergePolicy policy =
            index::MergePolicy::parse(config.merge_policy.empty() ? "tiered" : config.merge_policy);
        if (policy.segments_per_tier == 0) return;
        std::shared_ptr<const index::Snapshot> current;
        {
            std::scoped_lock lock(state_mutex);
            current = segments;
        }
        std::optional<index::Snapshot> merged;
        try {
            merged = segment_directory().merge(policy, current.get());
        } catch (const Error& e) {
            log::warn("{}: merging segments failed (the index stays as it is): {}", dir, e.what());
            return;
        }
        if (!merged) return;
        const ManifestId id = current_manifest_id();
        std::scoped_lock lock(state_mutex);
        if (merged->manifest.generation != generation) return;  // moved on: the next refresh loads it
        segments = std::make_shared<const index::Snapshot>(std::move(*merged));
        manifest_id = id;
    }
};

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::~Index() = default;

std::unique_ptr<Index> Index::open(const std::string& dir, std::shared_ptr<const Embedder> embedder) {
    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    impl->store = std::make_unique<store::DocumentStore>(dir, false);
    remove_stale_temporaries(dir);
    impl->embedder = std::move(embedder);
    impl->load_config();
    impl->refresh(false);
    impl->segment_directory().collect_garbage_if_idle();
    return std::unique_ptr<Index>(new Index(std::move(impl)));
}

std::unique_ptr<Index> Index::create(const std::string& dir, const IndexConfig& config,
                                     std::shared_ptr<const Embedder> embedder) {
    // Validate the specs before touching the disk.
    lexical::parse_analyzer_spec(config.analyzer);
    lexical::parse_bm25_spec(config.bm25);
    if (!config.merge_policy.empty()) index::MergePolicy::parse(config.merge_policy);
    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    impl->store = std::make_unique<store::DocumentStore>(dir, true);
    remove_stale_temporaries(dir);
    impl->embedder = std::move(embedder);
    auto& s = *impl->store;
    if (auto existing = s.setting("analyzer")) {
        impl->load_config();
        WINNOW_CHECK(*existing == config.analyzer, Errc::InvalidArgument,
                     "{}: the index was built with analyzer '{}', not '{}'", dir, *existing, config.analyzer);
        if (!config.dense.empty() && impl->config.dense.empty()) {
            s.set_setting("dense", config.dense);
            impl->config.dense = config.dense;
        } else if (!config.dense.empty() && config.dense != impl->config.dense) {
            WINNOW_THROW(Errc::InvalidArgument, "{}: the index has dense index '{}', not '{}'", dir,
                         impl->config.dense, config.dense);
        }
        if (!config.embed_model.empty() && impl->config.embed_model.empty()) {
            s.set_setting("embed_model", config.embed_model);
            impl->config.embed_model = config.embed_model;
        }
        if (!config.merge_policy.empty() && config.merge_policy != impl->config.merge_policy) {
            s.set_setting("merge_policy", index::MergePolicy::parse(config.merge_policy).to_string());
            impl->config.merge_policy = index::MergePolicy::parse(config.merge_policy).to_string();
        }
    } else {
        s.begin();
        s.set_setting("analyzer", config.analyzer);
        s.set_setting("bm25", lexical::bm25_spec(lexical::parse_bm25_spec(config.bm25)));
        if (!config.dense.empty()) s.set_setting("dense", config.dense);
        if (!config.embed_model.empty()) s.set_setting("embed_model", config.embed_model);
        if (!config.merge_policy.empty()) {
            s.set_setting("merge_policy", index::MergePolicy::parse(config.merge_policy).to_string());
        }
        s.commit();
        impl->load_config();
    }
    if (!impl->config.dense.empty()) {
        // Fail early on a factory string FAISS rejects.
        dense::DenseIndex probe(impl->config.dense, impl->config.dense_dimension > 0 ? impl->config.dense_dimension : 8);
    }
    impl->refresh(false);
    return std::unique_ptr<Index>(new Index(std::move(impl)));
}

const std::string& Index::dir() const noexcept { return impl_->dir; }
const IndexConfig& Index::config() const noexcept { return impl_->config; }

std::size_t Index::document_count() const {
    std::scoped_lock lock(impl_->store_mutex);
    return static_cast<std::size_t>(impl_->store->document_count());
}

std::size_t Index::chunk_count() const {
    std::scoped_lock lock(impl_->store_mutex);
    return static_cast<std::size_t>(impl_->store->chunk_count());
}

std::int64_t Index::generation() const {
    std::scoped_lock lock(impl_->state_mutex);
    return impl_->generation;
}

bool Index::has_dense() const noexcept { return !impl_->config.dense.empty(); }

void Index::set_embedder(std::shared_ptr<const Embedder> embedder) { impl_->embedder = std::move(embedder); }

std::vector<std::string> Index::source_paths() const {
    std::scoped_lock lock(impl_->store_mutex);
    return impl_->store->source_paths();
}

bool Index::refresh() { return impl_->refresh(false); }

namespace {

std::shared_ptr<const index::FirstStage> make_first_stage(const Index::Impl& impl, const Index::Impl::State& state,
                                                              const SearchOptions& options) {
    const auto* impl_ = &impl;
    const auto& lex = state.segments->lexical;
    const auto& dn = state.segments->dense;
    // Any k is accepted here (a library caller may ask for every chunk): the first stages allocate
    // for at most the chunks there are. Specs, CLI flags and HTTP requests cap k at kMaxCandidates.
    const Bm25Params params = options.bm25 ? *options.bm25 : lexical::parse_bm25_spec(impl_->config.bm25);
    auto make_bm25 = [&] { return std::make_shared<index::Bm25FirstStage>(lex, params); };
    auto make_dense = [&]() -> std::shared_ptr<const index::FirstStage> {
        WINNOW_CHECK(!impl_->config.dense.empty(), Errc::InvalidArgument,
                     "{}: this index has no dense side (rebuild it with `winnow index --embed-model <dir>`)",
                     impl_->dir);
        WINNOW_CHECK(dn != nullptr, Errc::NotFound, "{}: the dense index holds no vectors yet", impl_->dir);
        WINNOW_CHECK(impl_->embedder != nullptr, Errc::InvalidArgument,
                     "{}: dense search needs the embedding model (--embed-model; the index was built with '{}')",
                     impl_->dir, impl_->config.embed_model);
        return std::make_shared<index::DenseFirstStage>(dn, impl_->embedder, options.ef_search);
    };
    switch (options.first_stage) {
        case FirstStageKind::Bm25: return make_bm25();
        case FirstStageKind::Dense: return make_dense();
        case FirstStageKind::Hybrid: return std::make_shared<index::HybridFirstStage>(make_bm25(), make_dense(), options.hybrid);
    }
    WINNOW_THROW(Errc::Internal, "unhandled first stage kind");
}

// Chunk details of candidates of `state`'s generation. Sets `stale` when some candidates are gone
// from the store because it moved on past that generation (their documents were replaced or
// removed since): the caller refreshes and searches again.
std::vector<Candidate> resolve(const Index::Impl& impl, const Index::Impl::State& state, std::vector<Candidate> scored,
                               bool with_text, bool& stale, bool store_locked = false) {
    stale = false;
    const auto chunk_docs = with_text ? nullptr : impl.chunk_docs_of(state, store_locked);
    if (chunk_docs) {
        const auto& docs = *chunk_docs;
        std::vector<Candidate> out;
        out.reserve(scored.size());
        for (auto& c : scored) {
            auto it = std::lower_bound(docs.begin(), docs.end(), c.chunk_id,
                                       [](const auto& entry, std::int64_t v) { return entry.first < v; });
            if (it == docs.end() || it->first != c.chunk_id) {
                stale = true;  // a dense candidate of another generation
                continue;
            }
            c.doc_id = it->second;
            out.push_back(std::move(c));
        }
        return out;
    }
    std::vector<std::int64_t> ids;
    ids.reserve(scored.size());
    for (const auto& c : scored) ids.push_back(c.chunk_id);
    std::vector<store::Chunk> chunks;
    std::map<std::string, std::pair<std::string, std::string>> docs;  // doc id -> (title, path)
    std::int64_t store_generation = 0;
    {
        // One read snapshot: a document replaced by another process between reading its chunk
        // and its title would otherwise give a hit with the new title over the old text.
        std::unique_lock lock(impl.store_mutex, std::defer_lock);
        if (!store_locked) lock.lock();
        impl.store->with_snapshot([&] {
            store_generation = impl.store->generation();
            chunks = impl.store->chunks(ids);
            if (with_text) {
                for (const auto& c : chunks) {
                    if (docs.count(c.doc_id)) continue;
                    if (auto d = impl.store->document(c.doc_id)) {
                        docs[c.doc_id] = {d->doc.title, d->doc.source_path};
                    }
                }
            }
        });
    }
    stale = chunks.size() < ids.size() && store_generation != state.generation;
    std::map<std::int64_t, const store::Chunk*> by_id;
    for (const auto& c : chunks) by_id[c.chunk_id] = &c;
    std::vector<Candidate> out;
    out.reserve(scored.size());
    for (auto& h : scored) {
        auto it = by_id.find(h.chunk_id);
        if (it == by_id.end()) continue;  // deleted since the index was built
        const store::Chunk& c = *it->second;
        h.doc_id = c.doc_id;
        h.begin = c.begin;
        h.end = c.end;
        if (with_text) {
            h.text = c.text;
            auto d = docs.find(c.doc_id);
            if (d != docs.end()) {
                h.title = d->second.first;
                h.source = d->second.second;
            }
        }
        out.push_back(std::move(h));
    }
    return out;
}

}  // namespace

std::string Index::first_stage_name(const SearchOptions& options) const {
    return make_first_stage(*impl_, impl_->state(), options)->name();
}

std::vector<Candidate> Index::hits(std::vector<Candidate> scored, bool with_text) const {
    bool stale = false;
    return resolve(*impl_, impl_->state(), std::move(scored), with_text, stale);
}

std::vector<Candidate> Index::search(std::string_view query, const SearchOptions& options) const {
    // Every result comes from one generation: the candidates of the loaded indexes, resolved in
    // one store snapshot. When the store moved on and some candidates are gone (replaced or
    // removed by a writer since), the indexes are refreshed and the search runs again.
    // A writer committing faster than the refreshes could make that race on: the last attempt
    // refreshes and searches inside one read snapshot of the store (other searches wait for it).
    auto run = [&](const Impl::State& state, bool& stale, bool store_locked) {
        const auto stage = make_first_stage(*impl_, state, options);
        return resolve(*impl_, state, stage->search(query, options.k), options.with_text, stale, store_locked);
    };
    bool stale = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto out = run(impl_->state(), stale, false);
        if (!stale) return out;
        impl_->refresh(false);
    }
    std::vector<Candidate> out;
    std::scoped_lock lock(impl_->store_mutex);
    impl_->store->with_snapshot([&] {
        impl_->refresh_locked(false);
        out = run(impl_->state(), stale, true);
    });
    return out;
}

std::string Index::explain(std::string_view query, std::int64_t chunk_id, std::optional<Bm25Params> bm25) const {
    const auto segs = impl_->state().segments;
    const Bm25Params params = bm25 ? *bm25 : lexical::parse_bm25_spec(impl_->config.bm25);
    auto e = segs->lexical->explain(query, chunk_id, params);
    return e ? e->to_string() : std::string();
}

std::size_t Index::segment_count() const { return impl_->state().segments->segments.size(); }

// ---- Writer --------------------------------------------------------------------------------

struct Index::Writer::Impl {
    Index::Impl& index;
    WriteOptions options;
    IngestSummary summary;
    struct Pending {
        store::Document doc;
        std::vector<store::ChunkSpan> chunks;
    };
    std::vector<Pending> pending;
    std::size_t pending_chunks = 0;
    std::size_t docs_in_txn = 0;
    bool finished = false;

    Impl(Index::Impl& ix, WriteOptions opts) : index(ix), options(std::move(opts)) {
        if (!options.chunker) options.chunker = index::document_chunks;
        if (options.batch_documents == 0) options.batch_documents = 1;
        if (options.embed_batch == 0) options.embed_batch = 1;
        if (!index.config.dense.empty()) {
            WINNOW_CHECK(options.embedder != nullptr, Errc::InvalidArgument,
                         "{}: the index has a dense side ({}): writing needs the embedding model (--embed-model)",
                         index.dir, index.config.dense);
        }
    }

    bool dense() const { return !index.config.dense.empty(); }

    void ensure_txn() {
        if (!index.store->in_transaction()) index.store->begin();
    }

    void write_pending() {
        if (pending.empty()) return;
        std::vector<std::vector<float>> vectors;
        if (dense()) {
            std::vector<std::string> texts;
            texts.reserve(pending_chunks);
            for (const auto& p : pending) {
                for (const auto& c : p.chunks) texts.push_back(c.text);
            }
            vectors = options.embedder->embed(texts, EmbedKind::Document);
            WINNOW_CHECK(vectors.size() == texts.size(), Errc::Internal, "embedder returned {} vectors for {} texts",
                         vectors.size(), texts.size());
            if (options.on_embedded) options.on_embedded(texts.size());
            const std::size_t dim = vectors.empty() ? 0 : vectors[0].size();
            if (index.config.dense_dimension == 0 && dim > 0) {
                std::scoped_lock lock(index.store_mutex);
                ensure_txn();
                index.store->set_setting("dense_dimension", std::to_string(dim));
                index.config.dense_dimension = dim;
            }
            for (const auto& v : vectors) {
                WINNOW_CHECK(v.size() == index.config.dense_dimension, Errc::InvalidArgument,
                             "{}: the embedding model gives dimension {}, the index holds {}", index.dir, v.size(),
                             index.config.dense_dimension);
            }
        }
        std::size_t offset = 0;
        std::scoped_lock lock(index.store_mutex);
        for (auto& p : pending) {
            ensure_txn();
            std::span<const std::vector<float>> emb;
            if (dense()) emb = std::span<const std::vector<float>>(vectors).subspan(offset, p.chunks.size());
            offset += p.chunks.size();
            const auto r = index.store->upsert(p.doc, p.chunks, emb);
            if (r == store::UpsertResult::Added) ++summary.added;
            if (r == store::UpsertResult::Replaced) ++summary.replaced;
            if (r == store::UpsertResult::Unchanged) ++summary.unchanged;
            if (r != store::UpsertResult::Unchanged) summary.chunks += p.chunks.size();
            if (++docs_in_txn >= options.batch_documents) {
                index.store->commit();
                docs_in_txn = 0;
            }
        }
        pending.clear();
        pending_chunks = 0;
    }

    void upsert(const IndexDocument& d, std::vector<ChunkText> chunks) {
        WINNOW_ASSERT(!finished);
        WINNOW_CHECK(!d.id.empty(), Errc::InvalidArgument, "document with an empty id (source '{}')", d.source_path);
        const std::size_t bytes = d.title.size() + d.text.size() + d.metadata_json.size();
        WINNOW_CHECK(bytes <= options.max_document_bytes, Errc::TooLarge,
                     "document '{}': {} bytes, over the limit of {} bytes (max_document_bytes)", d.id, bytes,
                     options.max_document_bytes);
        Pending p;
        p.doc = {d.id, d.title, d.text, d.metadata_json.empty() ? "{}" : d.metadata_json, d.source_path};
        p.chunks.reserve(chunks.size());
        for (auto& c : chunks) {
            WINNOW_CHECK(c.begin <= c.end && c.end <= d.text.size(), Errc::InvalidArgument,
                         "document '{}': chunk span [{}, {}) outside its text of {} bytes", d.id, c.begin, c.end,
                         d.text.size());
            p.chunks.push_back({c.begin, c.end, std::move(c.text)});
        }
        {
            std::scoped_lock lock(index.store_mutex);
            const auto stored = index.store->hash_of(d.id);
            if (stored && *stored == store::content_hash(p.doc, p.chunks)) {
                ++summary.unchanged;
                return;
            }
        }
        pending_chunks += p.chunks.size();
        pending.push_back(std::move(p));
        if (!dense() || pending_chunks >= options.embed_batch) write_pending();
    }

    void commit() {
        write_pending();
        std::scoped_lock lock(index.store_mutex);
        if (index.store->in_transaction()) index.store->commit();
        docs_in_txn = 0;
    }
};

Index::Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Index::Writer::~Writer() {
    if (impl_ && !impl_->finished) {
        std::scoped_lock lock(impl_->index.store_mutex);
        impl_->index.store->rollback();
    }
}

void Index::Writer::upsert(const IndexDocument& doc) { impl_->upsert(doc, impl_->options.chunker(doc)); }

void Index::Writer::upsert(const IndexDocument& doc, std::vector<ChunkText> chunks) {
    impl_->upsert(doc, std::move(chunks));
}

bool Index::Writer::remove(std::string_view doc_id) {
    impl_->write_pending();
    std::scoped_lock lock(impl_->index.store_mutex);
    impl_->ensure_txn();
    const bool removed = impl_->index.store->remove(doc_id);
    if (removed) ++impl_->summary.removed;
    return removed;
}

std::size_t Index::Writer::remove_path(std::string_view source_path) {
    impl_->write_pending();
    std::scoped_lock lock(impl_->index.store_mutex);
    impl_->ensure_txn();
    const std::size_t n = impl_->index.store->remove_by_path(source_path);
    impl_->summary.removed += n;
    return n;
}

void Index::Writer::commit() { impl_->commit(); }

IngestSummary Index::Writer::finish() {
    impl_->commit();
    impl_->finished = true;
    impl_->index.refresh(true);
    impl_->index.merge_segments();
    return impl_->summary;
}

const IngestSummary& Index::Writer::summary() const noexcept { return impl_->summary; }

std::unique_ptr<Index::Writer> Index::writer(WriteOptions options) {
    return std::unique_ptr<Writer>(new Writer(std::make_unique<Writer::Impl>(*impl_, std::move(options))));
}

}  // namespace winnow
