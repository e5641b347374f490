#include <gtest/gtest.h>

#include "winnow/error.h"
#include "winnow/pipeline.h"

using winnow::PipelineConfig;
using winnow::PipelineSpec;

namespace {

std::string error_of(std::string_view spec) {
    try {
        PipelineSpec::parse(spec);
    } catch (const winnow::Error& e) {
        EXPECT_EQ(e.code(), winnow::Errc::InvalidArgument);
        return e.what();
    }
    ADD_FAILURE() << "no error for " << spec;
    return "";
}

}  // namespace

TEST(PipelineSpec, ParsesStagesAndValues) {
    auto spec = PipelineSpec::parse(
        "hybrid(k=100, fusion=rrf) > rerank(model=BAAI/bge-reranker-base, top_n=20, long_doc=maxp) > "
        "cutoff(min_score=0.3, score_gap=0.5, tokens=3000)");
    ASSERT_EQ(spec.stages.size(), 3u);
    EXPECT_EQ(spec.stages[0].name, "hybrid");
    EXPECT_EQ(spec.stages[1].get("model"), "BAAI/bge-reranker-base");
    EXPECT_EQ(spec.to_string(),
              "hybrid(k=100, fusion=rrf) > rerank(model=BAAI/bge-reranker-base, top_n=20, long_doc=maxp) > "
              "cutoff(min_score=0.3, score_gap=0.5, tokens=3000)");
    EXPECT_EQ(PipelineSpec::parse(spec.to_string()).to_string(), spec.to_string());
    auto c = PipelineConfig::from_spec(spec);
    EXPECT_EQ(c.first_stage.kind, "hybrid");
    EXPECT_EQ(c.first_stage.k, 100u);
    EXPECT_EQ(c.first_stage.params.at("fusion"), "rrf");
    EXPECT_TRUE(c.rerank.enabled);
    EXPECT_EQ(c.rerank.long_doc, winnow::LongDocMode::MaxP);
    EXPECT_EQ(c.rerank.precision, winnow::Precision::Auto);
    EXPECT_EQ(c.cutoff.top_n, 20u);
    EXPECT_DOUBLE_EQ(*c.cutoff.min_score, 0.3);
    EXPECT_DOUBLE_EQ(*c.cutoff.score_gap, 0.5);
    EXPECT_EQ(c.cutoff.tokens, 3000u);
}

TEST(PipelineSpec, QuotedValuesAndBareStages) {
    auto spec = PipelineSpec::parse(R"spec(bm25 > rerank(model="/models/my ce (v2)", normalize=minmax) > pack(tokens=2048))spec");
    EXPECT_EQ(spec.stages[1].get("model"), "/models/my ce (v2)");
    EXPECT_EQ(PipelineSpec::parse(spec.to_string()).stages[1].get("model"), "/models/my ce (v2)");
    auto c = PipelineConfig::from_spec(spec);
    EXPECT_EQ(c.first_stage.k, 100u);  // default
    EXPECT_EQ(c.rerank.normalize, winnow::ScoreNormalization::MinMax);
    EXPECT_EQ(c.pack.context_tokens, 2048u);
    EXPECT_FALSE(PipelineConfig::from_spec(PipelineSpec::parse("bm25()")).rerank.enabled);
}

TEST(PipelineSpec, ErrorsNameTheProblem) {
    EXPECT_NE(error_of("").find("empty"), std::string::npos);
    EXPECT_NE(error_of("rerank(model=x)").find("must start with a first stage"), std::string::npos);
    EXPECT_NE(error_of("bm25(k=ten)").find("bm25.k"), std::string::npos);
    EXPECT_NE(error_of("bm25(k=10) > rerank(top=5)").find("'top'"), std::string::npos);
    EXPECT_NE(error_of("bm25(k=10) > frobnicate").find("unknown stage 'frobnicate'"), std::string::npos);
    EXPECT_NE(error_of("bm25 > cutoff(top_n=3) > rerank(model=x)").find("out of place"), std::string::npos);
    EXPECT_NE(error_of("bm25 > bm25").find("out of place"), std::string::npos);
    EXPECT_NE(error_of("bm25(k=1,").find("position"), std::string::npos);
    EXPECT_NE(error_of("bm25(k=1, k=2)").find("twice"), std::string::npos);
    EXPECT_NE(error_of("bm25 > rerank(model=\"x)").find("unterminated"), std::string::npos);
    EXPECT_NE(error_of("bm25 > rerank(long_doc=chunks)").find("truncate|maxp"), std::string::npos);
    EXPECT_NE(error_of("bm25 > diversify(mmr=1.5)").find("[0, 1]"), std::string::npos);
    EXPECT_NE(error_of("bm25 > rerank(precision=fp16)").find("auto|fp32|bf16|int8"), std::string::npos);
    EXPECT_EQ(PipelineConfig::from_spec(PipelineSpec::parse("bm25 > rerank(model=m, precision=int8)")).rerank.precision,
              winnow::Precision::Int8);
    EXPECT_THROW(PipelineConfig::from_spec(PipelineSpec::parse("bm25(k=0)")), winnow::Error);
}

TEST(PipelineSpec, PerQueryOverrides) {
    auto spec = PipelineSpec::parse("bm25(k=100) > rerank(model=m, top_n=20)");
    spec.apply_override("k=50");
    spec.apply_override("top_n=5");          // the stage that already has it
    spec.apply_override("min_score=0.4");    // a rerank stage accepts cutoff keys: goes there
    spec.apply_override("cutoff.tokens=900");  // adds the stage
    spec.apply_override("per_doc=2");
    spec.apply_override("rerank.long_doc=maxp");
    EXPECT_EQ(spec.to_string(),
              "bm25(k=50) > rerank(model=m, top_n=5, min_score=0.4, per_doc=2, long_doc=maxp) > cutoff(tokens=900)");
    spec.apply_override("hybrid.k=30");  // switch the first stage kind
    EXPECT_EQ(spec.stages[0].to_string(), "hybrid(k=30)");
    spec.apply_override("rerank.top_n=");  // remove
    EXPECT_FALSE(spec.stages[1].get("top_n").has_value());
    EXPECT_THROW(spec.apply_override("k=abc"), winnow::Error);
    EXPECT_THROW(spec.apply_override("nonsense"), winnow::Error);
    EXPECT_THROW(spec.apply_override("zzz=1"), winnow::Error);
    EXPECT_EQ(spec.stages[0].get("k"), "30");  // a failed override changes nothing
    auto plain = PipelineSpec::parse("bm25");
    plain.apply_overrides({{"top_n", "3"}, {"mmr", "0.5"}});
    EXPECT_EQ(plain.to_string(), "bm25 > diversify(mmr=0.5) > cutoff(top_n=3)");
}
