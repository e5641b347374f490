#include "core/mmap_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "winnow/error.h"

namespace winnow {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Closes the descriptor on every way out of the constructor.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

MmapFile::MmapFile(const std::string& path, Mode mode) : path_(path) {
    const Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) {
        const int err = errno;
        WINNOW_THROW(err == ENOENT ? Errc::NotFound : Errc::Io, "cannot open '{}': {}", path, std::strerror(err));
    }
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) WINNOW_THROW(Errc::Io, "cannot stat '{}': {}", path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) WINNOW_THROW(Errc::InvalidArgument, "'{}' is a directory, expected a file", path);
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0) return;
    if (mode == Mode::resident) {
        read_resident(file.fd, size);
        return;
    }
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd, 0);
    if (p == MAP_FAILED) WINNOW_THROW(Errc::Io, "cannot mmap '{}': {}", path, std::strerror(errno));
    region_ = p;
    region_size_ = size;
    data_ = static_cast<std::uint8_t*>(p);
    size_ = size;
}

void MmapFile::read_resident(int fd, std::size_t size) {
    // One huge page more than the file, so that the data can start on a huge-page boundary.
    const std::size_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
    void* region = ::mmap(nullptr, rounded + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
        WINNOW_THROW(Errc::Io, "cannot allocate {} bytes for '{}': {}", size, path_, std::strerror(errno));
    }
    region_ = region;
    region_size_ = rounded + kHugePage;
    data_ = reinterpret_cast<std::uint8_t*>((reinterpret_cast<std::uintptr_t>(region) + kHugePage - 1) / kHugePage *
                                            kHugePage);
    ::madvise(data_, rounded, MADV_HUGEPAGE);  // advice only: no huge pages is no error
    for (std::size_t done = 0; done < size;) {
        const ::ssize_t n = ::read(fd, data_ + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : 0;
            release();
            WINNOW_THROW(Errc::Io, "cannot read '{}': {}", path_,
                         err != 0 ? std::strerror(err) : "the file shrank while it was read");
        }
        done += static_cast<std::size_t>(n);
    }
    size_ = size;
}

MmapFile::~MmapFile() { release(); }

MmapFile::MmapFile(MmapFile&& other) noexcept
    : path_(std::move(other.path_)),
      region_(std::exchange(other.region_, nullptr)),
      region_size_(std::exchange(other.region_size_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MmapFile& MmapFile::operator=(MmapFile&& other) noexcept {
    if (this != &other) {
        release();
        path_ = std::move(other.path_);
        region_ = std::exchange(other.region_, nullptr);
        region_size_ = std::exchange(other.region_size_, 0);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void MmapFile::release() noexcept {
    if (region_ != nullptr) ::munmap(region_, region_size_);
    region_ = nullptr;
    region_size_ = 0;
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
