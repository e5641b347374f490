// A read-only file in memory. Throws winnow::Error(Io/NotFound) naming the path.
//
// Mode::mapped (the default) maps the file's page-cache pages. Mode::resident reads it whole into
// the process's own memory, aligned to 2 MiB and advised for transparent huge pages
// (MADV_HUGEPAGE), for data read at random for a long time (a large lexical segment searched query
// after query): a search touching a few bytes in each of many places of a 3 GiB segment then walks
// one page table entry per 2 MiB instead of per 4 KiB (measured on the 10M topical corpus: BM25
// top-10 p50 1.40-1.90 -> 1.24-1.34 ms, top-1000 7.9-8.3 -> 6.9-7.4 ms; bench/README.md, session
// 12). It costs reading the file at once (and first touch of the memory), and another process
// truncating or rewriting the file in place cannot fault a resident reader (SIGBUS), as it can a
// mapping's. Where the kernel gives no huge pages the memory is ordinary pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace winnow {

class MmapFile {
public:
    enum class Mode { mapped, resident };

    MmapFile() = default;
    explicit MmapFile(const std::string& path, Mode mode = Mode::mapped);
    ~MmapFile();
    MmapFile(MmapFile&& other) noexcept;
    MmapFile& operator=(MmapFile&& other) noexcept;
    MmapFile(const MmapFile&) = delete;
    MmapFile& operator=(const MmapFile&) = delete;

    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }
    std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
    const std::string& path() const noexcept { return path_; }

private:
    void read_resident(int fd, std::size_t size);
    void release() noexcept;

    std::string path_;
    void* region_ = nullptr;  // what release() unmaps (resident: data_ lies 2 MiB-aligned within it)
    std::size_t region_size_ = 0;
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

// Reads a whole file into a string (small files: JSON configs). Throws Error naming the path.
std::string read_file(const std::string& path);

}  // namespace winnow
