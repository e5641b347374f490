// A model that computes NaN fails at the scoring layer (src/infer/finite_check.h) instead of
// handing NaN scores to the sorters of the CLI, server, pipeline and eval (issue 22 item 6).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <unistd.h>

#include "core/json.h"
#include "winnow/embedder.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow {
namespace {

namespace fs = std::filesystem;

const fs::path kModels = fs::path(WINNOW_SHARED_DIR) / "fixtures" / "models";

// A copy of fixture model `name` in a temp folder with every float of `tensor` set to NaN.
fs::path poisoned_copy(const std::string& name, const std::string& tensor) {
    const fs::path dir = fs::path(::testing::TempDir()) / ("winnow_nan_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::copy(kModels / name, dir, fs::copy_options::recursive);
    std::ifstream in(dir / "model.safetensors", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str();
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    const Json header = Json::parse(bytes.substr(8, n));
    const auto& offsets = header.at(tensor).at("data_offsets");
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t p = offsets[0].get<std::size_t>(); p < offsets[1].get<std::size_t>(); p += 4) {
        std::memcpy(bytes.data() + 8 + n + p, &nan, 4);
    }
    std::ofstream(dir / "model.safetensors", std::ios::binary | std::ios::trunc) << bytes;
    return dir;
}

TEST(NanScores, CrossEncoderWithNanWeightsIsAnErrorNotARanking) {
    if (!fs::exists(kModels / "bert-ce" / "model.safetensors")) GTEST_SKIP() << "no fixture models";
    const auto model = Reranker::load(poisoned_copy("bert-ce", "classifier.bias").string());
    const std::vector<std::string> docs{"a cat", "a dog", "nothing"};
    try {
        (void)model->rank("cat", docs);
        FAIL() << "NaN scores were returned";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Corrupt);
        EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
    }
    // The unpoisoned model still ranks.
    const auto good = Reranker::load((kModels / "bert-ce").string());
    EXPECT_EQ(good->rank("cat", docs).size(), 3u);
}

TEST(NanScores, EmbedderWithNanWeightsIsAnError) {
    if (!fs::exists(kModels / "bert-embed-mean" / "model.safetensors")) GTEST_SKIP() << "no fixture models";
    const auto model = Embedder::load(poisoned_copy("bert-embed-mean", "embeddings.LayerNorm.bias").string());
    const std::vector<std::string> texts{"a cat"};
    try {
        (void)model->embed(texts, EmbedKind::Document, 0);
        FAIL() << "a NaN vector was returned";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Corrupt);
        EXPECT_NE(std::string(e.what()).find("nan"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace winnow
