// A file read whole into the process's own memory, for data read at random for a long time (a
// lexical segment searched query after query). Throws winnow::Error(Io/NotFound) naming the path.
//
// Why not a mapping: the memory is aligned to 2 MiB and advised for transparent huge pages
// (MADV_HUGEPAGE), so a search that touches a few bytes in each of many places of a 3 GiB segment
// walks one page table entry per 2 MiB instead of per 4 KiB page-cache page (measured on the 10M
// topical corpus: BM25 top-10 p50 1.40-1.90 -> 1.24-1.34 ms, top-1000 7.9-8.3 -> 6.9-7.4 ms;
// bench/README.md). Loading reads every byte anyway (its checksum), so reading it costs no more
// than faulting the mapping in. And a file truncated or rewritten in place by another process
// cannot fault a reader (SIGBUS), as it could through a mapping. Where the kernel gives no huge
// pages (transparent_hugepage "never"), the memory is ordinary pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace winnow {

class ResidentFile {
public:
    ResidentFile() = default;
    explicit ResidentFile(const std::string& path);
    ~ResidentFile();
    ResidentFile(ResidentFile&& other) noexcept;
    ResidentFile& operator=(ResidentFile&& other) noexcept;
    ResidentFile(const ResidentFile&) = delete;
    ResidentFile& operator=(const ResidentFile&) = delete;

    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }
    std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
    const std::string& path() const noexcept { return path_; }

private:
    void release() noexcept;

    std::string path_;
    void* region_ = nullptr;  // the whole allocation (data_ lies 2 MiB-aligned within it)
    std::size_t region_size_ = 0;
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace winnow
