// Internal helpers of the lexical module's files (segments, live docs): a little-endian POD
// writer/reader over one buffer, the FNV-1a checksum every file ends with, and the atomic write.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace winnow::lexical::detail {

std::uint64_t fnv1a(const char* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ULL);

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
    void str(std::string_view s) {
        pod<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
        raw(s.data(), s.size());
    }
    // Appends the checksum of everything written so far.
    void seal() { pod(fnv1a(buf_.data(), buf_.size())); }
    std::string& buffer() { return buf_; }

private:
    std::string buf_;
};

class BufferReader {
public:
    explicit BufferReader(std::string_view data) : data_(data) {}
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
    bool at_end() const { return pos_ == data_.size(); }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

// Checks `data` = magic + body + checksum; returns the body or nullopt.
std::optional<std::string_view> checked_body(std::string_view data, std::string_view magic);

}  // namespace winnow::lexical::detail
