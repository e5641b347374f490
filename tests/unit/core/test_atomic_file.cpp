#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/mmap_file.h"
#include "winnow/error.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("winnow_atomic_" + std::to_string(::getpid()));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::size_t count_entries(const fs::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

TEST(AtomicFile, StreamWriterReplacesAndLeavesNoTemporary) {
    TempDir dir;
    const std::string path = (dir.path / "a.bin").string();
    winnow::write_file_atomic(path, "old");
    winnow::write_file_atomic(path, [](std::FILE* f) { return std::fputs("new contents", f) >= 0; });
    EXPECT_EQ(winnow::read_file(path), "new contents");
    EXPECT_EQ(count_entries(dir.path), 1u);
}

TEST(AtomicFile, FailedStreamWriterKeepsTheOldFileAndRemovesTheTemporary) {
    TempDir dir;
    const std::string path = (dir.path / "a.bin").string();
    winnow::write_file_atomic(path, "old");
    EXPECT_THROW(winnow::write_file_atomic(path, [](std::FILE* f) { return std::fputs("half", f) < 0; }),
                 winnow::Error);
    EXPECT_THROW(
        winnow::write_file_atomic(path, [](std::FILE*) -> bool { throw winnow::Error(winnow::Errc::Io, "boom"); }),
        winnow::Error);
    EXPECT_EQ(winnow::read_file(path), "old");
    EXPECT_EQ(count_entries(dir.path), 1u);
}

TEST(AtomicFile, ErrorNamesTheFile) {
    try {
        winnow::write_file_atomic("/nonexistent/winnow/dir/file.idx", "x");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::Io);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/winnow/dir/file.idx"), std::string::npos);
    }
}

TEST(AtomicFile, TemporaryNamesAreUniquePerCall) {
    EXPECT_NE(winnow::atomic_temporary_name("/x/y"), winnow::atomic_temporary_name("/x/y"));
    EXPECT_EQ(winnow::atomic_temporary_name("/x/y").rfind("/x/y.tmp." + std::to_string(::getpid()) + ".", 0), 0u);
}

TEST(AtomicFile, RemovesOnlyTemporariesOfProcessesThatAreGone) {
    TempDir dir;
    // A pid that is certainly gone: a child that exited and was reaped.
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ASSERT_GT(child, 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    const std::string dead = "seg_1.lex.tmp." + std::to_string(child) + ".0";
    const std::string alive = "seg_2.lex.tmp." + std::to_string(::getpid()) + ".3";
    for (const std::string& name : {dead, alive, std::string("notes.tmp.txt"), std::string("store.sqlite")}) {
        std::ofstream(dir.path / name) << "x";
    }
    EXPECT_EQ(winnow::remove_stale_temporaries(dir.path.string()), 1u);
    EXPECT_FALSE(fs::exists(dir.path / dead));
    EXPECT_TRUE(fs::exists(dir.path / alive));
    EXPECT_TRUE(fs::exists(dir.path / "notes.tmp.txt"));
    EXPECT_TRUE(fs::exists(dir.path / "store.sqlite"));
}
