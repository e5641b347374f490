#include "core/mmap_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "winnow/error.h"

namespace winnow {

MmapFile::MmapFile(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        WINNOW_THROW(err == ENOENT ? Errc::NotFound : Errc::Io, "cannot open '{}': {}", path, std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        WINNOW_THROW(Errc::Io, "cannot stat '{}': {}", path, std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        WINNOW_THROW(Errc::InvalidArgument, "'{}' is a directory, expected a file", path);
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            WINNOW_THROW(Errc::Io, "cannot mmap '{}': {}", path, std::strerror(err));
        }
        data_ = static_cast<std::uint8_t*>(p);
    }
    ::close(fd);
}

MmapFile::~MmapFile() { release(); }

MmapFile::MmapFile(MmapFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
}

MmapFile& MmapFile::operator=(MmapFile&& other) noexcept {
    if (this != &other) {
        release();
        path_ = std::move(other.path_);
        data_ = other.data_;
        size_ = other.size_;
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

void MmapFile::release() noexcept {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        struct stat st {};
        WINNOW_THROW(::stat(path.c_str(), &st) != 0 ? Errc::NotFound : Errc::Io, "cannot open '{}'", path);
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) WINNOW_THROW(Errc::Io, "cannot read '{}'", path);
    return std::move(ss).str();
}

}  // namespace winnow
