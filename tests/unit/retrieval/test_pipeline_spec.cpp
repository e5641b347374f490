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
    EXPECT_EQ(c.first_stage.first_stage, winnow::FirstStageKind::Hybrid);
    EXPECT_EQ(c.first_stage.k, 100u);
    EXPECT_EQ(c.first_stage.hybrid.fusion, winnow::FusionMethod::Rrf);
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
    EXPECT_NE(error_of("bm25 > rerank(precision=fp8)").find("auto|fp32|bf16|fp16|int8"), std::string::npos);
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

// First-stage settings are typed once, when the spec compiles: BM25 parameters, hybrid options,
// ef_search (no string map handed on to be parsed again).
TEST(PipelineSpec, FirstStageOptionsAreTyped) {
    auto c = PipelineConfig::from_spec(PipelineSpec::parse(
        "hybrid(k=50, k1=1.2, b=0.75, fusion=weighted, weight=0.3, rrf_k=10, k_lexical=200, k_dense=300, ef_search=64)"));
    EXPECT_EQ(c.first_stage.first_stage, winnow::FirstStageKind::Hybrid);
    EXPECT_EQ(c.first_stage.k, 50u);
    ASSERT_TRUE(c.first_stage.bm25.has_value());
    EXPECT_FLOAT_EQ(c.first_stage.bm25->k1, 1.2f);
    EXPECT_FLOAT_EQ(c.first_stage.bm25->b, 0.75f);
    EXPECT_EQ(c.first_stage.hybrid.fusion, winnow::FusionMethod::Weighted);
    EXPECT_DOUBLE_EQ(c.first_stage.hybrid.weight, 0.3);
    EXPECT_DOUBLE_EQ(c.first_stage.hybrid.rrf_k, 10.0);
    EXPECT_EQ(c.first_stage.hybrid.k_lexical, 200u);
    EXPECT_EQ(c.first_stage.hybrid.k_dense, 300u);
    EXPECT_EQ(c.first_stage.ef_search, 64u);
    // Only k1: b keeps the default; neither: the index's own parameters.
    auto k1 = PipelineConfig::from_spec(PipelineSpec::parse("bm25(k1=1.5)"));
    ASSERT_TRUE(k1.first_stage.bm25.has_value());
    EXPECT_FLOAT_EQ(k1.first_stage.bm25->b, 0.4f);
    EXPECT_FALSE(PipelineConfig::from_spec(PipelineSpec::parse("bm25")).first_stage.bm25.has_value());
    EXPECT_EQ(PipelineConfig::from_spec(PipelineSpec::parse("bm25")).first_stage.k, 100u);
    EXPECT_THROW(PipelineSpec::parse("bm25(b=1.5)"), winnow::Error);  // b in [0, 1]
    EXPECT_THROW(PipelineConfig::from_spec(PipelineSpec::parse("bm25(b=2)")), winnow::Error);
}

// A huge k is refused when the spec is parsed (it used to reach the index and end in bad_alloc).
TEST(PipelineSpec, HugeCountsAreRefused) {
    for (const char* spec : {"bm25(k=1000000000000)", "hybrid(k=1000000000)", "hybrid(k=10, k_lexical=1000000000)",
                             "hybrid(k=10, k_dense=100001)", "dense(ef_search=1000000000)"}) {
        try {
            PipelineSpec::parse(spec);
            ADD_FAILURE() << spec << " was accepted";
        } catch (const winnow::Error& e) {
            EXPECT_EQ(e.code(), winnow::Errc::InvalidArgument) << spec;
            EXPECT_NE(std::string(e.what()).find("100000"), std::string::npos) << e.what();
        }
    }
    EXPECT_NO_THROW(PipelineSpec::parse("bm25(k=100000)"));
    PipelineSpec s = PipelineSpec::parse("bm25(k=10)");
    EXPECT_THROW(s.apply_override("k=1000000000000"), winnow::Error);
    EXPECT_EQ(s.to_string(), "bm25(k=10)");
}

// Each first-stage kind takes only the keys it uses: a key it would ignore is refused.
TEST(PipelineSpec, FirstStageKeysBelongToTheirKind) {
    EXPECT_NE(error_of("bm25(fusion=rrf)").find("'fusion'"), std::string::npos);
    EXPECT_NE(error_of("bm25(ef_search=64)").find("'ef_search'"), std::string::npos);
    EXPECT_NE(error_of("dense(k1=1.2)").find("'k1'"), std::string::npos);
    EXPECT_NE(error_of("dense(k_lexical=5)").find("'k_lexical'"), std::string::npos);
    EXPECT_NO_THROW(PipelineSpec::parse("dense(k=5, ef_search=64)"));
    EXPECT_NO_THROW(PipelineSpec::parse("bm25(k=5, k1=1.2, b=0.7)"));
    auto spec = PipelineSpec::parse("bm25(k=5)");
    EXPECT_THROW(spec.apply_override("ef_search=64"), winnow::Error);  // no stage of this spec uses it
    spec.apply_override("hybrid.ef_search=64");
    EXPECT_EQ(spec.to_string(), "hybrid(k=5, ef_search=64)");
}
