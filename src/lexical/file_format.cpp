#include "lexical/file_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <iterator>

#include "winnow/error.h"

namespace winnow::lexical::detail {
namespace {
std::atomic<std::uint64_t> g_tmp_counter{0};
}

std::uint64_t fnv1a(const char* data, std::size_t n, std::uint64_t h) {
    for (std::size_t i = 0; i < n; ++i) {
        h ^= static_cast<unsigned char>(data[i]);
        h *= 0x100000001b3ULL;
    }
    return h;
}

void write_atomic(const std::string& path, std::string_view contents) {
    const std::string tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), g_tmp_counter.fetch_add(1));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    WINNOW_CHECK(fd >= 0, Errc::Io, "{}: cannot create: {}", tmp, std::strerror(errno));
    std::size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            WINNOW_THROW(Errc::Io, "{}: write failed: {}", tmp, std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(tmp.c_str());
        WINNOW_THROW(Errc::Io, "{}: fsync failed: {}", tmp, std::strerror(errno));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        WINNOW_THROW(Errc::Io, "{}: rename failed: {}", path, std::strerror(err));
    }
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string data;
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0) return std::nullopt;
    data.resize(static_cast<std::size_t>(size));
    in.seekg(0);
    if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) return std::nullopt;
    return data;
}

std::optional<std::string_view> checked_body(std::string_view data, std::string_view magic) {
    if (data.size() < magic.size() + 8 || data.substr(0, magic.size()) != magic) return std::nullopt;
    std::uint64_t stored = 0;
    std::memcpy(&stored, data.data() + data.size() - 8, 8);
    if (fnv1a(data.data(), data.size() - 8) != stored) return std::nullopt;
    return data.substr(magic.size(), data.size() - magic.size() - 8);
}

}  // namespace winnow::lexical::detail
