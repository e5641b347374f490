#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/atomic_file.h"
#include "core/mmap_file.h"
#include "winnow/error.h"

namespace fs = std::filesystem;

TEST(MmapFile, MapsContentsAndAtomicWriteReplaces) {
    const fs::path dir = fs::temp_directory_path() / "winnow_mmap_test";
    fs::create_directories(dir);
    const std::string path = (dir / "a.bin").string();
    winnow::write_file_atomic(path, "hello world");
    winnow::MmapFile file(path);
    EXPECT_EQ(file.size(), 11u);
    EXPECT_EQ(file.view(), "hello world");
    winnow::write_file_atomic(path, "second");
    EXPECT_EQ(winnow::read_file(path), "second");
    fs::remove_all(dir);
}

TEST(MmapFile, MissingFileNamesPath) {
    try {
        winnow::MmapFile file("/nonexistent/winnow/x.safetensors");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::NotFound);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/winnow/x.safetensors"), std::string::npos);
    }
}

TEST(MmapFile, EmptyFileMapsToEmptyView) {
    const std::string path = (fs::temp_directory_path() / "winnow_empty_file").string();
    winnow::write_file_atomic(path, "");
    winnow::MmapFile file(path);
    EXPECT_EQ(file.size(), 0u);
    EXPECT_TRUE(file.view().empty());
    fs::remove(path);
}

namespace {

// A folder of the running test's own (ctest runs the tests of this file in parallel processes).
fs::path temp_dir() {
    const fs::path dir = fs::temp_directory_path() /
                         ("winnow_mmap_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) +
                          "_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST(MmapFileResident, ReadsContentsAlignedToHugePages) {
    const std::string path = (temp_dir() / "a.bin").string();
    std::string contents;
    for (int i = 0; i < 300000; ++i) contents += static_cast<char>('a' + i % 26);
    contents += std::string(5u << 20, 'z');  // past a few huge pages
    winnow::write_file_atomic(path, contents);
    const winnow::MmapFile file(path, winnow::MmapFile::Mode::resident);
    EXPECT_EQ(file.size(), contents.size());
    EXPECT_EQ(file.view(), contents);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(file.data()) % (std::uintptr_t{2} << 20), 0u);
    EXPECT_EQ(file.path(), path);
    fs::remove_all(temp_dir());
}

// The contents are the process's own: a file truncated and rewritten in place by someone else
// leaves them as read (a mapping would fault on the truncated pages).
TEST(MmapFileResident, KeepsContentsWhenTheFileIsTruncatedInPlace) {
    const std::string path = (temp_dir() / "b.bin").string();
    winnow::write_file_atomic(path, std::string(100000, 'x'));
    winnow::MmapFile file(path, winnow::MmapFile::Mode::resident);
    { std::ofstream(path, std::ios::binary | std::ios::trunc) << "short"; }
    EXPECT_EQ(file.size(), 100000u);
    EXPECT_EQ(file.view(), std::string(100000, 'x'));
    const winnow::MmapFile moved(std::move(file));
    EXPECT_EQ(moved.view(), std::string(100000, 'x'));
    EXPECT_EQ(file.size(), 0u);  // NOLINT(bugprone-use-after-move): a moved-from file is empty
    fs::remove_all(temp_dir());
}

TEST(MmapFileResident, EmptyFileIsEmpty) {
    const std::string path = (temp_dir() / "empty").string();
    winnow::write_file_atomic(path, "");
    const winnow::MmapFile file(path, winnow::MmapFile::Mode::resident);
    EXPECT_EQ(file.size(), 0u);
    EXPECT_TRUE(file.view().empty());
    fs::remove_all(temp_dir());
}

TEST(MmapFileResident, ErrorsNameThePath) {
    try {
        const winnow::MmapFile file("/nonexistent/winnow/seg.lex", winnow::MmapFile::Mode::resident);
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::NotFound);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/winnow/seg.lex"), std::string::npos);
    }
    const std::string dir = temp_dir().string();
    try {
        const winnow::MmapFile file(dir, winnow::MmapFile::Mode::resident);
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find(dir), std::string::npos);
    }
    fs::remove_all(temp_dir());
}
