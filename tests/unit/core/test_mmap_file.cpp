#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

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
