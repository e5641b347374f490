#include "core/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/log.h"
#include "winnow/error.h"

namespace winnow {
namespace fs = std::filesystem;
namespace {

std::atomic<std::uint64_t> g_tmp_counter{0};

std::string parent_dir(const std::string& path) {
    const fs::path parent = fs::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

void rename_into_place(const std::string& tmp, const std::string& path) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        WINNOW_THROW(Errc::Io, "{}: rename failed: {}", path, std::strerror(err));
    }
    sync_directory(parent_dir(path));
}

}  // namespace

std::string atomic_temporary_name(const std::string& path) {
    return fmt::format("{}.tmp.{}.{}", path, ::getpid(), g_tmp_counter.fetch_add(1));
}

void write_file_atomic(const std::string& path, std::string_view contents) {
    const std::string tmp = atomic_temporary_name(path);
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
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        WINNOW_THROW(Errc::Io, "{}: fsync failed: {}", tmp, std::strerror(err));
    }
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        WINNOW_THROW(Errc::Io, "{}: close failed: {}", tmp, std::strerror(err));
    }
    rename_into_place(tmp, path);
}

void write_file_atomic(const std::string& path, const std::function<bool(std::FILE*)>& write) {
    const std::string tmp = atomic_temporary_name(path);
    std::FILE* f = std::fopen(tmp.c_str(), "wbe");
    WINNOW_CHECK(f != nullptr, Errc::Io, "{}: cannot create: {}", tmp, std::strerror(errno));
    bool ok = false;
    try {
        ok = write(f);
    } catch (...) {
        std::fclose(f);
        ::unlink(tmp.c_str());
        throw;
    }
    const int err_write = errno;
    ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const int err = ok ? 0 : (errno != 0 ? errno : err_write);
    if (std::fclose(f) != 0) ok = false;
    if (!ok) {
        ::unlink(tmp.c_str());
        WINNOW_THROW(Errc::Io, "{}: write failed: {}", tmp, std::strerror(err));
    }
    rename_into_place(tmp, path);
}

std::size_t remove_stale_temporaries(const std::string& dir) {
    std::size_t removed = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        const auto at = name.rfind(".tmp.");
        if (at == std::string::npos || at == 0) continue;
        long pid = 0;  // <name>.tmp.<pid>.<n>
        const char* first = name.data() + at + 5;
        const char* last = name.data() + name.size();
        const auto [ptr, err] = std::from_chars(first, last, pid);
        if (err != std::errc() || ptr == last || *ptr != '.' || pid <= 0) continue;
        std::uint64_t n = 0;
        const auto [end, err2] = std::from_chars(ptr + 1, last, n);
        if (err2 != std::errc() || end != last) continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running
        std::error_code rm;
        if (fs::remove(entry.path(), rm)) {
            log::info("{}: removed the temporary of a killed process", entry.path().string());
            ++removed;
        }
    }
    return removed;
}

void sync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // not a directory we can open (a read-only mount): the rename stands
    ::fsync(fd);
    ::close(fd);
}

}  // namespace winnow
