// LiveDocs: which documents of one segment are still live (Lucene's liveDocs). A segment is
// immutable; deleting documents makes a new LiveDocs version, so a reader holding the old
// shared_ptr keeps its snapshot. Persisted as one small checksummed file per version, written
// atomically (temporary file, fsync, rename), so the segment layer can record tombstones.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace winnow::lexical {

class LiveDocs {
public:
    // Every one of `doc_count` documents live.
    explicit LiveDocs(std::uint32_t doc_count = 0);

    std::uint32_t doc_count() const noexcept { return doc_count_; }
    std::uint32_t deleted_count() const noexcept { return deleted_count_; }
    std::uint32_t live_count() const noexcept { return doc_count_ - deleted_count_; }
    bool is_live(std::uint32_t doc) const noexcept { return ((bits_[doc >> 6] >> (doc & 63)) & 1U) != 0; }
    bool is_deleted(std::uint32_t doc) const noexcept { return !is_live(doc); }

    // A new version with `docs` deleted as well (already deleted ones are fine; a doc number
    // >= doc_count() throws Error(InvalidArgument)). This version is unchanged.
    std::shared_ptr<const LiveDocs> with_deleted(std::span<const std::uint32_t> docs) const;

    // Writes atomically; throws Error(Io).
    void save(const std::string& path) const;
    // nullopt when missing, unreadable, corrupt, or not for a segment of `doc_count` documents.
    // Never throws for a bad file.
    static std::optional<LiveDocs> load(const std::string& path, std::uint32_t doc_count);

    // 64 documents per word, bit set = live (bits past doc_count are zero).
    std::span<const std::uint64_t> words() const noexcept { return bits_; }

private:
    std::uint32_t doc_count_ = 0;
    std::uint32_t deleted_count_ = 0;
    std::vector<std::uint64_t> bits_;
};

}  // namespace winnow::lexical
