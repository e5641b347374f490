// Test helper: builds safetensors images in memory and writes model folders.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

#include "core/json.h"

namespace winnow::test {

struct FakeTensor {
    std::string name;
    std::string dtype = "F32";
    std::vector<std::size_t> shape;
    std::vector<float> values;  // written as F32 (other dtypes: raw zero bytes of the right size)
};

inline std::string safetensors_image(const std::vector<FakeTensor>& tensors) {
    Json header = Json::object();
    std::string data;
    for (const auto& t : tensors) {
        std::size_t n = 1;
        for (auto d : t.shape) n *= d;
        const std::size_t begin = data.size();
        if (t.dtype == "F32") {
            std::vector<float> v = t.values;
            v.resize(n, 0.0f);
            data.append(reinterpret_cast<const char*>(v.data()), n * 4);
        } else {
            const std::size_t width = t.dtype == "F16" || t.dtype == "BF16" ? 2 : 4;
            data.append(n * width, '\0');
        }
        header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
    }
    const std::string text = header.dump();
    std::string out(8, '\0');
    std::uint64_t len = text.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
    return out + text + data;
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

// A fresh temporary folder, removed at scope exit (the shared one; `name` is its prefix).
using TempDir = winnow::testing::TempDir;

}  // namespace winnow::test
