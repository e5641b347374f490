// Golden on the GPU (issue #19): the fixture cross-encoders and embedders loaded with
// Device::Cuda reproduce the reference (sentence-transformers on transformers, fp32) within 1e-4
// in fp32 and 0.05 in bf16/fp16, and agree with the CPU backend. Skipped without a usable device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/json.h"
#include "winnow/device.h"
#include "winnow/embedder.h"
#include "winnow/reranker.h"

namespace winnow {
namespace {

// The fixtures: WINNOW_SHARED_DIR from the environment where set (scripts/device-check runs this
// binary on another machine, from its bundle), else the build's shared/ folder.
const std::string kModels = [] {
    const char* env = std::getenv("WINNOW_SHARED_DIR");
    return std::string(env != nullptr && *env != '\0' ? env : WINNOW_SHARED_DIR) + "/fixtures/models/";
}();

#define WINNOW_REQUIRE_GPU()                                                                   \
    do {                                                                                       \
        if (!cuda_status().usable) GTEST_SKIP() << "no usable CUDA device: " << cuda_status().to_string(); \
    } while (0)

struct GpuCase {
    std::string model;
    Precision precision;
    double tolerance;
};

std::string case_name(const ::testing::TestParamInfo<GpuCase>& info) {
    std::string name = info.param.model + "_" + std::string(precision_name(info.param.precision));
    for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return name;
}

class GpuRerank : public ::testing::TestWithParam<GpuCase> {};

TEST_P(GpuRerank, LogitsMatchTheReference) {
    WINNOW_REQUIRE_GPU();
    const GpuCase& c = GetParam();
    const Json json = load_json_file(kModels + c.model + "/expected_scores.json");
    ModelOptions options;
    options.device = Device::Cuda;
    options.precision = c.precision;
    options.max_length = json["max_length"].get<std::size_t>();
    const auto reranker = Reranker::load(kModels + c.model, options);
    EXPECT_EQ(reranker->device(), Device::Cuda);
    EXPECT_EQ(reranker->precision(), c.precision);
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& p : json["pairs"]) pairs.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
    const auto scores = reranker->score_pairs(pairs);
    ASSERT_EQ(scores.size(), pairs.size());
    for (std::size_t i = 0; i < scores.size(); ++i) {
        EXPECT_NEAR(scores[i].raw_score, json["logits"][i].get<float>(), c.tolerance) << "pair " << i;
    }
    // One pair alone scores as in the batch (variable-length batching changes nothing).
    const auto alone = reranker->score_pairs(std::span(pairs).subspan(3, 1));
    EXPECT_NEAR(alone[0].raw_score, scores[3].raw_score, c.precision == Precision::Fp32 ? 1e-5 : 1e-2);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GpuRerank,
                         ::testing::Values(GpuCase{"bert-ce", Precision::Fp32, 1e-4},
                                           GpuCase{"bert-ce", Precision::Bf16, 0.05},
                                           GpuCase{"bert-ce", Precision::Fp16, 0.05},
                                           GpuCase{"xlmr-ce", Precision::Fp32, 1e-4},
                                           GpuCase{"xlmr-ce", Precision::Bf16, 0.05},
                                           GpuCase{"modernbert-ce", Precision::Fp32, 1e-4},
                                           GpuCase{"modernbert-ce", Precision::Bf16, 0.05}),
                         case_name);

// A call larger than one GPU segment (kGpuSegment pairs) is tokenized segment by segment, the next one
// while the current one is scored: every pair scores as it does in a small call, in input order.
TEST(GpuSegments, ALargeCallScoresAsSmallOnes) {
    WINNOW_REQUIRE_GPU();
    const Json json = load_json_file(kModels + "bert-ce/expected_scores.json");
    ModelOptions options;
    options.device = Device::Cuda;
    options.precision = Precision::Fp32;
    options.max_length = json["max_length"].get<std::size_t>();
    const auto reranker = Reranker::load(kModels + "bert-ce", options);
    std::vector<std::pair<std::string, std::string>> base;
    for (const auto& p : json["pairs"]) base.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
    const auto expected = reranker->score_pairs(base);
    std::vector<std::pair<std::string, std::string>> many;
    for (std::size_t i = 0; i < 2 * 4096 + 5; ++i) many.push_back(base[i % base.size()]);
    const auto scores = reranker->score_pairs(many);
    ASSERT_EQ(scores.size(), many.size());
    for (std::size_t i = 0; i < scores.size(); ++i) {
        ASSERT_NEAR(scores[i].raw_score, expected[i % base.size()].raw_score, 1e-4) << "pair " << i;
        ASSERT_EQ(scores[i].truncated, expected[i % base.size()].truncated) << "pair " << i;
    }
}

class GpuEmbed : public ::testing::TestWithParam<GpuCase> {};

TEST_P(GpuEmbed, EmbeddingsMatchTheReference) {
    WINNOW_REQUIRE_GPU();
    const GpuCase& c = GetParam();
    const Json json = load_json_file(kModels + c.model + "/expected_embeddings.json");
    ModelOptions options;
    options.device = Device::Cuda;
    options.precision = c.precision;
    const auto embedder = Embedder::load(kModels + c.model, options);
    const auto texts = json["texts"].get<std::vector<std::string>>();
    const auto vectors = embedder->embed(texts);
    ASSERT_EQ(vectors.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto expected = json["embeddings"][i].get<std::vector<float>>();
        ASSERT_EQ(vectors[i].size(), expected.size());
        double worst = 0;
        for (std::size_t d = 0; d < expected.size(); ++d) {
            worst = std::max(worst, std::abs(double(vectors[i][d]) - expected[d]));
        }
        EXPECT_LE(worst, c.tolerance) << "text " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GpuEmbed,
                         ::testing::Values(GpuCase{"bert-embed-mean", Precision::Fp32, 1e-4},
                                           GpuCase{"bert-embed-mean", Precision::Bf16, 0.05},
                                           GpuCase{"bert-embed-cls", Precision::Fp32, 1e-4}),
                         case_name);

TEST(GpuDevice, ProbeRanThisBuildsKernel) {
    WINNOW_REQUIRE_GPU();
    const CudaStatus& s = cuda_status();
    EXPECT_TRUE(s.built);
    EXPECT_GT(s.device_count, 0);
    EXPECT_NE(s.device.find("sm_"), std::string::npos);
}

}  // namespace
}  // namespace winnow
