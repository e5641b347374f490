#include <gtest/gtest.h>

#include <cmath>

#include "models/pooling.h"
#include "models/sentence_transformers.h"
#include "safetensors_writer.h"
#include "winnow/error.h"

namespace winnow {
namespace {

// Two sequences of 3 and 2 tokens, 2 dims: rows [1,2] [3,4] [5,-6] | [10,0] [0,10].
Tensor hidden() {
    Tensor t(5, 2);
    const float v[] = {1, 2, 3, 4, 5, -6, 10, 0, 0, 10};
    std::copy(v, v + 10, t.data());
    return t;
}
const std::vector<std::uint32_t> kCu{0, 3, 5};

TEST(Pooling, EachModeByHand) {
    const Tensor h = hidden();
    auto pooled = [&](PoolingMode m) { return Pooling({m}).pool(h, kCu); };
    Tensor t = pooled(PoolingMode::Cls);
    EXPECT_EQ(t.row(0)[1], 2.0f);
    EXPECT_EQ(t.row(1)[0], 10.0f);
    t = pooled(PoolingMode::LastToken);
    EXPECT_EQ(t.row(0)[1], -6.0f);
    EXPECT_EQ(t.row(1)[1], 10.0f);
    t = pooled(PoolingMode::Max);
    EXPECT_EQ(t.row(0)[0], 5.0f);
    EXPECT_EQ(t.row(0)[1], 4.0f);
    t = pooled(PoolingMode::Mean);
    EXPECT_FLOAT_EQ(t.row(0)[0], 3.0f);
    EXPECT_FLOAT_EQ(t.row(0)[1], 0.0f);
    EXPECT_FLOAT_EQ(t.row(1)[1], 5.0f);
    t = pooled(PoolingMode::MeanSqrtLen);
    EXPECT_FLOAT_EQ(t.row(0)[0], 9.0f / std::sqrt(3.0f));
    t = pooled(PoolingMode::WeightedMean);
    EXPECT_FLOAT_EQ(t.row(0)[0], (1 * 1 + 2 * 3 + 3 * 5) / 6.0f);
    EXPECT_FLOAT_EQ(t.row(1)[1], (2 * 10) / 3.0f);
}

TEST(Pooling, SeveralModesConcatenateInCanonicalOrder) {
    const Pooling pooling({PoolingMode::Mean, PoolingMode::Cls});
    const Tensor t = pooling.pool(hidden(), kCu);
    ASSERT_EQ(t.cols(), 4u);
    EXPECT_EQ(t.row(0)[0], 1.0f);        // cls first
    EXPECT_FLOAT_EQ(t.row(0)[2], 3.0f);  // then mean
}

TEST(Pooling, ExcludingThePrompt) {
    const Pooling pooling({PoolingMode::Mean}, false);
    const std::vector<std::uint32_t> skip{1, 1};
    const Tensor t = pooling.pool(hidden(), kCu, skip);
    EXPECT_FLOAT_EQ(t.row(0)[0], 4.0f);
    EXPECT_FLOAT_EQ(t.row(1)[1], 10.0f);
}

TEST(Pooling, ConfigFormsAndErrors) {
    EXPECT_EQ(Pooling::from_json(Json::parse(R"({"pooling_mode": "lasttoken"})"), "p").modes(),
              std::vector<PoolingMode>{PoolingMode::LastToken});
    const auto legacy = Pooling::from_json(
        Json::parse(R"({"word_embedding_dimension": 8, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
                        "pooling_mode_max_tokens": true, "include_prompt": false})"),
        "p");
    EXPECT_EQ(legacy.modes(), (std::vector<PoolingMode>{PoolingMode::Max, PoolingMode::Mean}));
    EXPECT_FALSE(legacy.include_prompt());
    EXPECT_EQ(Pooling::from_json(Json::parse(R"({"pooling_mode": ["weightedmean", "mean_sqrt_len_tokens"]})"), "p").modes(),
              (std::vector<PoolingMode>{PoolingMode::MeanSqrtLen, PoolingMode::WeightedMean}));
    try {
        Pooling::from_json(Json::parse(R"({"pooling_mode": "median"})"), "1_Pooling/config.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Unsupported);
        EXPECT_NE(std::string(e.what()).find("median"), std::string::npos);
    }
    EXPECT_THROW(Pooling::from_json(Json::parse(R"({"include_prompt": true})"), "p"), Error);
}

TEST(Pooling, L2Normalize) {
    Tensor t(2, 2);
    const float v[] = {3, 4, 0, 0};
    std::copy(v, v + 4, t.data());
    l2_normalize_rows(t);
    EXPECT_FLOAT_EQ(t.row(0)[0], 0.6f);
    EXPECT_EQ(t.row(1)[1], 0.0f);
}

TEST(SentenceTransformersConfig, ReadsTheFixtureFolders) {
    const std::string models = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/";
    const auto mean = load_sentence_transformers_config(models + "bert-embed-mean");
    EXPECT_TRUE(mean.from_modules);
    EXPECT_EQ(mean.pooling.modes(), std::vector<PoolingMode>{PoolingMode::Mean});
    EXPECT_TRUE(mean.normalize);
    EXPECT_EQ(mean.transformer_folder, models + "bert-embed-mean");
    EXPECT_EQ(mean.prompt("query"), "");
    const auto cls = load_sentence_transformers_config(models + "bert-embed-cls");
    EXPECT_EQ(cls.pooling.modes(), std::vector<PoolingMode>{PoolingMode::Cls});
    EXPECT_FALSE(cls.normalize);
    const auto plain = load_sentence_transformers_config(models + "bert-ce");
    EXPECT_FALSE(plain.from_modules);
    EXPECT_EQ(plain.pooling.modes(), std::vector<PoolingMode>{PoolingMode::Mean});
}

TEST(SentenceTransformersConfig, LegacyLayoutPromptsAndUnsupportedModules) {
    test::TempDir dir("winnow_models_st_legacy");
    test::write_bytes(dir.path / "modules.json",
                      R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                          {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
                          {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}])");
    test::write_bytes(dir.path / "1_Pooling/config.json",
                      R"({"word_embedding_dimension": 4, "pooling_mode_cls_token": true})");
    test::write_bytes(dir.path / "sentence_bert_config.json", R"({"max_seq_length": 77, "do_lower_case": false})");
    test::write_bytes(dir.path / "config_sentence_transformers.json",
                      R"({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": null})");
    auto config = load_sentence_transformers_config(dir.path.string());
    EXPECT_EQ(config.max_seq_length, 77u);
    EXPECT_EQ(config.prompt("query"), "query: ");
    EXPECT_EQ(config.prompt("passage"), "passage: ");
    EXPECT_TRUE(config.normalize);
    EXPECT_EQ(config.pooling.modes(), std::vector<PoolingMode>{PoolingMode::Cls});

    test::write_bytes(dir.path / "modules.json",
                      R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
                          {"idx":1,"name":"1","path":"2_Dense","type":"sentence_transformers.models.Dense"}])");
    try {
        load_sentence_transformers_config(dir.path.string());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Unsupported);
        EXPECT_NE(std::string(e.what()).find("Dense"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("modules.json"), std::string::npos);
    }
}

}  // namespace
}  // namespace winnow
