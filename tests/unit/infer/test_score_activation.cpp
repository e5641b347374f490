#include <gtest/gtest.h>

#include <cmath>

#include "infer/score_activation.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow {
namespace {

ScoreActivation from(const char* json) { return score_activation_from_config(Json::parse(json), "config.json"); }

TEST(ScoreActivation, AsSentenceTransformersDecides) {
    EXPECT_EQ(from(R"({"id2label": {"0": "LABEL_0"}})"), ScoreActivation::Sigmoid);
    EXPECT_EQ(from(R"({"num_labels": 3})"), ScoreActivation::Identity);
    EXPECT_EQ(from(R"({"id2label": {"0": "a", "1": "b"}})"), ScoreActivation::Identity);
    EXPECT_EQ(from(R"({"sentence_transformers": {"activation_fn": "torch.nn.modules.linear.Identity"}})"),
              ScoreActivation::Identity);
    EXPECT_EQ(from(R"({"sbert_ce_default_activation_function": "torch.nn.modules.activation.Sigmoid", "num_labels": 2})"),
              ScoreActivation::Sigmoid);
    // The current key wins over the legacy one.
    EXPECT_EQ(from(R"({"sentence_transformers": {"activation_fn": "torch.nn.Tanh"},
                      "sbert_ce_default_activation_function": "torch.nn.Sigmoid"})"),
              ScoreActivation::Tanh);
    try {
        from(R"({"sentence_transformers": {"activation_fn": "my.module.Softplus"}})");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Unsupported);
        EXPECT_NE(std::string(e.what()).find("Softplus"), std::string::npos);
    }
}

TEST(ScoreActivation, Values) {
    EXPECT_FLOAT_EQ(apply_score_activation(ScoreActivation::Sigmoid, 0.0f), 0.5f);
    EXPECT_FLOAT_EQ(apply_score_activation(ScoreActivation::Sigmoid, 2.0f), 1.0f / (1.0f + std::exp(-2.0f)));
    EXPECT_EQ(apply_score_activation(ScoreActivation::Identity, -3.25f), -3.25f);
    EXPECT_FLOAT_EQ(apply_score_activation(ScoreActivation::Tanh, 0.5f), std::tanh(0.5f));
}

TEST(Precision, NamesRoundTrip) {
    for (auto p : {Precision::Auto, Precision::Fp32, Precision::Bf16, Precision::Fp16, Precision::Int8}) {
        EXPECT_EQ(parse_precision(precision_name(p)), p);
    }
    EXPECT_THROW(parse_precision("fp8"), Error);
}

}  // namespace
}  // namespace winnow
