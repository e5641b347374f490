#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/atomic_file.h"
#include "core/resident_file.h"
#include "winnow/error.h"

namespace fs = std::filesystem;

namespace {

// A folder of the running test's own (ctest runs the tests of this file in parallel processes).
fs::path temp_dir() {
    const fs::path dir = fs::temp_directory_path() /
                         ("winnow_resident_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()) +
                          "_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST(ResidentFile, ReadsContentsAlignedToHugePages) {
    const std::string path = (temp_dir() / "a.bin").string();
    std::string contents;
    for (int i = 0; i < 300000; ++i) contents += static_cast<char>('a' + i % 26);
    contents += std::string(5u << 20, 'z');  // past a few huge pages
    winnow::write_file_atomic(path, contents);
    const winnow::ResidentFile file(path);
    EXPECT_EQ(file.size(), contents.size());
    EXPECT_EQ(file.view(), contents);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(file.data()) % (std::uintptr_t{2} << 20), 0u);
    EXPECT_EQ(file.path(), path);
    fs::remove_all(temp_dir());
}

// The contents are the process's own: a file truncated and rewritten in place by someone else
// leaves them as read (a mapping would fault on the truncated pages).
TEST(ResidentFile, KeepsContentsWhenTheFileIsTruncatedInPlace) {
    const std::string path = (temp_dir() / "b.bin").string();
    winnow::write_file_atomic(path, std::string(100000, 'x'));
    winnow::ResidentFile file(path);
    { std::ofstream(path, std::ios::binary | std::ios::trunc) << "short"; }
    EXPECT_EQ(file.size(), 100000u);
    EXPECT_EQ(file.view(), std::string(100000, 'x'));
    const winnow::ResidentFile moved(std::move(file));
    EXPECT_EQ(moved.view(), std::string(100000, 'x'));
    EXPECT_EQ(file.size(), 0u);  // NOLINT(bugprone-use-after-move): a moved-from file is empty
    fs::remove_all(temp_dir());
}

TEST(ResidentFile, EmptyFileIsEmpty) {
    const std::string path = (temp_dir() / "empty").string();
    winnow::write_file_atomic(path, "");
    const winnow::ResidentFile file(path);
    EXPECT_EQ(file.size(), 0u);
    EXPECT_TRUE(file.view().empty());
    fs::remove_all(temp_dir());
}

TEST(ResidentFile, ErrorsNameThePath) {
    try {
        const winnow::ResidentFile file("/nonexistent/winnow/seg.lex");
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::NotFound);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/winnow/seg.lex"), std::string::npos);
    }
    const std::string dir = temp_dir().string();
    try {
        const winnow::ResidentFile file(dir);
        FAIL();
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find(dir), std::string::npos);
    }
    fs::remove_all(temp_dir());
}
