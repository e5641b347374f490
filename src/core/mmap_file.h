// Read-only memory-mapped file. Throws winnow::Error(Io/NotFound) naming the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace winnow {

class MmapFile {
public:
    MmapFile() = default;
    explicit MmapFile(const std::string& path);
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
    void release() noexcept;

    std::string path_;
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

// Reads a whole file into a string (small files: JSON configs). Throws Error naming the path.
std::string read_file(const std::string& path);

}  // namespace winnow
