// A fresh, empty directory under the system temporary directory for one test, removed with its
// contents when the object goes away. Names are unique per process and object.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace winnow::testing {

struct TempDir {
    std::filesystem::path path;

    explicit TempDir(std::string_view prefix = "winnow_test") {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               (std::string(prefix) + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // Writes `contents` to `name` (relative to the directory, parents created); returns its path.
    std::string write(const std::string& name, std::string_view contents) const {
        const auto p = path / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << contents;
        return p.string();
    }
};

}  // namespace winnow::testing
