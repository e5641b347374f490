// Manifest: the list of an index directory's segments (<dir>/segments.json), the one file whose
// atomic replacement publishes a change of the derived indexes (a new segment, new tombstones, a
// merge). Every other file it names is immutable once written:
//   seg_<n>.lex          a lexical segment (lexical::InvertedIndex)
//   seg_<n>.dense        its dense vectors (dense::DenseIndex), when the index has a dense side
//   seg_<n>.del.<m>      version m of the segment's deletions (lexical::LiveDocs); none: all live
// Files no manifest names are leftovers of an interrupted write or of replaced versions; they are
// deleted under the directory lock (SegmentDirectory::collect_garbage).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::index {

struct SegmentEntry {
    std::string name;               // "seg_<n>": the stem of its files
    std::uint32_t doc_count = 0;    // documents in the segment, deleted or not
    std::uint32_t deleted = 0;      // of them deleted (tombstones in live_docs)
    std::string live_docs;          // file name of the current deletions ("" when none)
    bool dense = false;             // seg_<n>.dense exists
    std::int64_t min_chunk_id = 0;  // the chunk ids the segment holds lie in [min, max]
    std::int64_t max_chunk_id = 0;

    std::uint32_t live() const noexcept { return doc_count - deleted; }
    std::string lexical_file() const { return name + ".lex"; }
    std::string dense_file() const { return name + ".dense"; }
    bool operator==(const SegmentEntry&) const = default;
};

struct Manifest {
    static constexpr int kFormat = 1;
    static constexpr std::string_view kFileName = "segments.json";

    std::int64_t generation = -1;   // the store generation the segments reflect
    std::int64_t max_chunk_id = 0;  // every store chunk id up to this one was seen
    std::uint64_t next_file = 1;    // the number of the next file (seg_<n>, del.<n>)
    std::string analyzer;
    std::vector<SegmentEntry> segments;

    std::string to_json() const;
    // nullopt for text that is not a manifest of this format (the index is then rebuilt).
    static std::optional<Manifest> parse(std::string_view text);
    // <dir>/segments.json; nullopt when missing or unreadable.
    static std::optional<Manifest> load(const std::string& dir);
    void save(const std::string& dir) const;  // atomically; throws Error(Io)

    std::uint64_t live_count() const noexcept;
    bool operator==(const Manifest&) const = default;
};

}  // namespace winnow::index
