#include "core/resident_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

ResidentFile::ResidentFile(const std::string& path) : path_(path) {
    const Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) {
        const int err = errno;
        WINNOW_THROW(err == ENOENT ? Errc::NotFound : Errc::Io, "cannot open '{}': {}", path, std::strerror(err));
    }
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) {
        WINNOW_THROW(Errc::Io, "cannot stat '{}': {}", path, std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) WINNOW_THROW(Errc::InvalidArgument, "'{}' is a directory, expected a file", path);
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0) return;
    // One huge page more than the file, so that the data can start on a huge-page boundary.
    const std::size_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
    region_size_ = rounded + kHugePage;
    region_ = ::mmap(nullptr, region_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region_ == MAP_FAILED) {
        const int err = errno;
        region_ = nullptr;
        region_size_ = 0;
        WINNOW_THROW(Errc::Io, "cannot allocate {} bytes for '{}': {}", size, path, std::strerror(err));
    }
    const auto start = (reinterpret_cast<std::uintptr_t>(region_) + kHugePage - 1) / kHugePage * kHugePage;
    data_ = reinterpret_cast<std::uint8_t*>(start);
    ::madvise(data_, rounded, MADV_HUGEPAGE);  // advice only: no huge pages is no error
    std::size_t done = 0;
    while (done < size) {
        const ::ssize_t n = ::read(file.fd, data_ + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : 0;
            release();
            WINNOW_THROW(Errc::Io, "cannot read '{}': {}", path,
                         err != 0 ? std::strerror(err) : "the file shrank while it was read");
        }
        done += static_cast<std::size_t>(n);
    }
    size_ = size;
}

ResidentFile::~ResidentFile() { release(); }

ResidentFile::ResidentFile(ResidentFile&& other) noexcept
    : path_(std::move(other.path_)),
      region_(std::exchange(other.region_, nullptr)),
      region_size_(std::exchange(other.region_size_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

ResidentFile& ResidentFile::operator=(ResidentFile&& other) noexcept {
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

void ResidentFile::release() noexcept {
    if (region_ != nullptr) ::munmap(region_, region_size_);
    region_ = nullptr;
    region_size_ = 0;
    data_ = nullptr;
    size_ = 0;
}

}  // namespace winnow
