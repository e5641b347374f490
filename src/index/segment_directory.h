// SegmentDirectory: the derived indexes of an index directory as immutable segments (manifest.h).
//
// Each catch-up with the store (after a `winnow index` run, a Writer::finish, or on open when the
// store moved on) writes at most one new segment, holding the chunks added since the manifest's
// max_chunk_id (chunk ids are never reused, so they are exactly the new ones), and new deletion
// versions (lexical::LiveDocs) for the segments that held chunks the store no longer has (removed
// or replaced documents); then it swaps the manifest. Nothing is rebuilt, so adding 1,000
// documents to a large index costs those documents plus one scan of the store's chunk ids. When
// the manifest disagrees with the store in a way no catch-up explains (a chunk the store has at or
// below max_chunk_id that no segment holds, a missing or corrupt file, another analyzer), the
// segments are rebuilt from the store (the store is the source of truth).
//
// Merges follow a tiered policy (MergePolicy) and write one new segment from several (their
// deleted documents dropped, lexical::merge) with its dense vectors, then swap the manifest. They
// run under the directory lock but outside every lock a search takes: readers keep searching the
// snapshot they hold (shared_ptrs to immutable segments) and pick up the merged one at their next
// refresh.
//
// Crash safety: every file is written atomically before the manifest that names it, and the
// manifest swap is the commit point. A process killed at any moment leaves the previous manifest
// with all its files, plus unreferenced files and temporaries that the next writer deletes.
// Writers (catch-up, merge, garbage collection) of all processes are serialized by flock on
// <dir>/segments.lock, which the kernel releases when a process dies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "index/dense_index.h"
#include "index/manifest.h"
#include "lexical/inverted_index.h"
#include "lexical/live_docs.h"
#include "lexical/segment_searcher.h"

namespace winnow::store {
class DocumentStore;
}

namespace winnow::index {

// Tiered merging (in the spirit of Lucene's TieredMergePolicy, simplified): a segment's tier is
// floor(log_f(max(live documents, floor_docs) / floor_docs)) with f = segments_per_tier, so tier 0
// holds the segments up to floor_docs x f live documents, tier 1 up to floor_docs x f^2, and so on.
// When a tier holds segments_per_tier segments, they are merged into one (of the next tier):
// each document is rewritten about log_f(N / floor_docs) times over the life of an index of N
// documents, and an index holds at most (segments_per_tier - 1) segments per tier. Independently,
// a segment whose deleted share exceeds max_deleted_ratio is rewritten on its own (its tombstones
// dropped, which also brings BM25's statistics back to the live documents).
struct MergePolicy {
    std::size_t segments_per_tier = 10;
    std::size_t floor_docs = 10000;
    double max_deleted_ratio = 0.3;

    // "tiered" or "tiered(segments_per_tier=10,floor=10000,deletes=0.3)"; "none" disables merging
    // (segments_per_tier = 0). Throws Error(InvalidArgument) naming the bad key or value.
    static MergePolicy parse(std::string_view spec);
    std::string to_string() const;
    // One merge due under this policy: positions in manifest.segments (ascending), or empty.
    std::vector<std::size_t> select(const Manifest& manifest) const;
};

struct LoadedSegment {
    SegmentEntry entry;
    std::shared_ptr<const lexical::InvertedIndex> lexical;
    std::shared_ptr<const lexical::LiveDocs> live_docs;  // null: every document live
    std::shared_ptr<const dense::DenseIndex> dense;      // null: no vectors
};

// The dense side of a snapshot: one FAISS index per segment, searched together; the chunks a
// segment's deletions mark are skipped (each segment is asked for k + its deleted count).
class DenseSnapshot {
public:
    DenseSnapshot(std::string factory, std::size_t dimension, const std::vector<LoadedSegment>& segments);
    std::vector<dense::DenseHit> search(std::span<const float> query, std::size_t k, std::size_t ef_search = 0) const;
    const std::string& factory() const noexcept { return factory_; }
    std::size_t dimension() const noexcept { return dimension_; }
    std::size_t size() const noexcept { return live_; }  // live vectors

private:
    struct Part {
        std::shared_ptr<const dense::DenseIndex> index;
        std::size_t deleted = 0;
    };
    std::string factory_;
    std::size_t dimension_ = 0;
    std::size_t live_ = 0;
    std::vector<Part> parts_;
    std::unordered_set<std::int64_t> deleted_;  // chunk ids
};

// What one search reads: immutable, shared by the searches that took it.
struct Snapshot {
    Manifest manifest;
    std::vector<LoadedSegment> segments;
    std::shared_ptr<const lexical::SegmentSearcher> lexical;
    std::shared_ptr<const DenseSnapshot> dense;  // null when no segment has vectors
};

// flock(LOCK_EX) on <dir>/segments.lock for the object's lifetime (released by the kernel when the
// process dies). Throws Error(Io) when the lock file cannot be created (a read-only directory).
class DirectoryLock {
public:
    explicit DirectoryLock(const std::string& dir);
    // Without waiting: null when another process (or Index) holds the lock or it cannot be created.
    static std::unique_ptr<DirectoryLock> try_lock(const std::string& dir);
    ~DirectoryLock();
    DirectoryLock(const DirectoryLock&) = delete;
    DirectoryLock& operator=(const DirectoryLock&) = delete;

private:
    DirectoryLock() = default;
    int fd_ = -1;
};

class SegmentDirectory {
public:
    // dense_factory: the FAISS factory string of the dense side ("" for none).
    SegmentDirectory(std::string dir, std::string analyzer, std::string dense_factory);

    const std::string& dir() const noexcept { return dir_; }

    // The manifest's segments with their files, reusing the already loaded ones of `previous`;
    // nullopt when a file is missing or unreadable, or the manifest is of another analyzer.
    std::optional<Snapshot> open(const Manifest& manifest, const Snapshot* previous) const;

    struct CatchUpStats {
        std::size_t added = 0;    // chunks written to the new segment
        std::size_t deleted = 0;  // tombstones written
        bool rebuilt = false;     // the segments were rebuilt from the store
    };
    // Brings the segments to the store's state. The caller holds the DirectoryLock and runs this
    // inside one read snapshot of the store (DocumentStore::with_snapshot). `current` is the
    // manifest on disk (nullopt: none or unreadable) and `loaded` its opened snapshot if the caller
    // has it. When `persist` is false (the directory cannot be written) nothing is saved and the
    // snapshot lives in memory only.
    Snapshot catch_up(const store::DocumentStore& store, const std::optional<Manifest>& current, const Snapshot* loaded,
                      bool persist, CatchUpStats* stats = nullptr) const;

    // Runs the merges `policy` selects on the manifest on disk, one after the other, each
    // published by a manifest swap; takes the DirectoryLock for each. Returns the last snapshot
    // (nullopt when no merge was due).
    std::optional<Snapshot> merge(const MergePolicy& policy, const Snapshot* loaded) const;

    // Deletes the segment files (seg_*) that `manifest` does not name, the pre-segment files
    // (lexical.idx, dense.faiss) and the temporaries of dead processes. Caller holds the lock.
    void collect_garbage(const Manifest& manifest) const;
    // collect_garbage() for the manifest on disk when the lock is free right now (a reader opening
    // the index cleans up after a killed writer; with a writer at work it leaves the files alone).
    void collect_garbage_if_idle() const;

private:
    Snapshot make_snapshot(Manifest manifest, std::vector<LoadedSegment> segments) const;
    std::string path(const std::string& file) const;

    std::string dir_;
    std::string analyzer_;
    std::string dense_factory_;
};

}  // namespace winnow::index
