// Internal helpers of the lexical module's files (segments, live docs): a little-endian POD
// writer/reader over one buffer, with columns aligned to 64 bytes so that a mapped file's arrays
// are used in place (column.h); the CRC-32 (zlib) every file ends with; the atomic write.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lexical/column.h"

namespace winnow {
class ThreadPool;
}

namespace winnow::lexical::detail {

// CRC-32 (zlib's, as Lucene's file footers) of `data`, computed in parts on `pool` when given and
// the data is large (the parts' checksums combined: the same value).
std::uint32_t checksum(std::string_view data, ThreadPool* pool = nullptr);

// Columns start at a multiple of this offset in the file (and a mapping starts on a page).
constexpr std::size_t kColumnAlignment = 64;

// Atomic replace (core/atomic_file.h: temporary per process and call, fsync, rename). Throws Error(Io).
void write_atomic(const std::string& path, std::string_view contents);

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

class BufferWriter {
public:
    template <typename T>
    void pod(const T& v) {
        raw(&v, sizeof(T));
    }
    template <typename T>
    void array(const std::vector<T>& v) {
        pod<std::uint64_t>(v.size());
        raw(v.data(), v.size() * sizeof(T));
    }
    void raw(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
    // Count, zeros up to the next aligned offset, then the elements.
    template <typename T>
    void column(std::span<const T> v) {
        pod<std::uint64_t>(v.size());
        buf_.append((kColumnAlignment - buf_.size() % kColumnAlignment) % kColumnAlignment, '\0');
        raw(v.data(), v.size() * sizeof(T));
    }
    void str(std::string_view s) {
        pod<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
        raw(s.data(), s.size());
    }
    // Appends the checksum of everything written so far.
    void seal() { pod<std::uint64_t>(checksum(buf_)); }
    std::string& buffer() { return buf_; }

private:
    std::string buf_;
};

class BufferReader {
public:
    // Reads `data` from offset `pos` (columns are aligned relative to data's start).
    explicit BufferReader(std::string_view data, std::size_t pos = 0) : data_(data), pos_(pos) {}
    template <typename T>
    bool pod(T& v) {
        if (data_.size() - pos_ < sizeof(T)) return false;
        std::memcpy(&v, data_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return true;
    }
    template <typename T>
    bool array(std::vector<T>& v) {
        std::uint64_t n = 0;
        if (!pod(n) || n > (data_.size() - pos_) / sizeof(T)) return false;
        v.resize(n);
        if (n > 0) std::memcpy(v.data(), data_.data() + pos_, n * sizeof(T));
        pos_ += n * sizeof(T);
        return true;
    }
    bool str(std::string& s) {
        std::uint32_t n = 0;
        if (!pod(n) || n > data_.size() - pos_) return false;
        s.assign(data_.data() + pos_, n);
        pos_ += n;
        return true;
    }
    // A column written by BufferWriter::column, viewed in place (`keep` holds the data alive).
    template <typename T>
    bool column(Column<T>& c, const std::shared_ptr<const void>& keep) {
        std::uint64_t n = 0;
        if (!pod(n)) return false;
        const std::size_t pad = (kColumnAlignment - pos_ % kColumnAlignment) % kColumnAlignment;
        if (data_.size() - pos_ < pad) return false;
        pos_ += pad;
        if (n > (data_.size() - pos_) / sizeof(T)) return false;
        const char* p = data_.data() + pos_;
        if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) != 0) return false;
        c = Column<T>::mapped(std::span<const T>(reinterpret_cast<const T*>(p), n), keep);
        pos_ += n * sizeof(T);
        return true;
    }
    bool at_end() const { return pos_ == data_.size(); }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

// Checks `data` = magic + body + checksum; returns the body or nullopt.
std::optional<std::string_view> checked_body(std::string_view data, std::string_view magic);
// The same check; returns magic + body (a reader over it starts at magic.size()).
std::optional<std::string_view> checked_file(std::string_view data, std::string_view magic, ThreadPool* pool = nullptr);

}  // namespace winnow::lexical::detail
