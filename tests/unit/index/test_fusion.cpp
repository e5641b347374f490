#include <gtest/gtest.h>

#include "index/fusion.h"
#include "winnow/error.h"

namespace winnow::index {
namespace {

TEST(Fusion, ReciprocalRankFusionHandExample) {
    // BM25: A B C ; dense: C A D.  k = 60:
    //   A = 1/61 + 1/62, C = 1/63 + 1/61, B = 1/62, D = 1/63.
    const std::vector<std::vector<Candidate>> lists = {{{1, 9.0f}, {2, 5.0f}, {3, 1.0f}},
                                                       {{3, 0.9f}, {1, 0.8f}, {4, 0.7f}}};
    const auto fused = reciprocal_rank_fusion(lists, 60.0, 10);
    ASSERT_EQ(fused.size(), 4u);
    EXPECT_EQ(fused[0].chunk_id, 1);
    EXPECT_NEAR(fused[0].score, 1.0 / 61 + 1.0 / 62, 1e-7);
    EXPECT_EQ(fused[1].chunk_id, 3);
    EXPECT_NEAR(fused[1].score, 1.0 / 63 + 1.0 / 61, 1e-7);
    EXPECT_EQ(fused[2].chunk_id, 2);
    EXPECT_NEAR(fused[2].score, 1.0 / 62, 1e-7);
    EXPECT_EQ(fused[3].chunk_id, 4);
    // top_k cuts; k = 0 makes the first rank dominate.
    EXPECT_EQ(reciprocal_rank_fusion(lists, 60.0, 2).size(), 2u);
    const auto k0 = reciprocal_rank_fusion(lists, 0.0, 10);
    EXPECT_NEAR(k0[0].score, 1.0 + 1.0 / 2, 1e-7);
}

TEST(Fusion, RrfTiesBreakByChunkId) {
    const std::vector<std::vector<Candidate>> lists = {{{5, 1.0f}, {6, 0.5f}}, {{6, 1.0f}, {5, 0.5f}}};
    const auto fused = reciprocal_rank_fusion(lists, 60.0, 10);
    ASSERT_EQ(fused.size(), 2u);
    EXPECT_EQ(fused[0].chunk_id, 5);
    EXPECT_FLOAT_EQ(fused[0].score, fused[1].score);
}

TEST(Fusion, WeightedMinMax) {
    // list 1 scores 10, 6, 2 -> 1, 0.5, 0 ; list 2 scores 0.9, 0.5 -> 1, 0.
    const std::vector<std::vector<Candidate>> lists = {{{1, 10.0f}, {2, 6.0f}, {3, 2.0f}}, {{3, 0.9f}, {2, 0.5f}}};
    const std::vector<double> w = {0.3, 0.7};
    const auto fused = weighted_score_fusion(lists, w, 10);
    ASSERT_EQ(fused.size(), 3u);
    EXPECT_EQ(fused[0].chunk_id, 3);  // 0.3 * 0 + 0.7 * 1
    EXPECT_NEAR(fused[0].score, 0.7, 1e-6);
    EXPECT_EQ(fused[1].chunk_id, 1);  // 0.3
    EXPECT_NEAR(fused[1].score, 0.3, 1e-6);
    EXPECT_EQ(fused[2].chunk_id, 2);  // 0.15 + 0
    EXPECT_NEAR(fused[2].score, 0.15, 1e-6);
    // A list of equal scores normalizes to 1.
    const std::vector<std::vector<Candidate>> flat = {{{8, 3.0f}, {9, 3.0f}}};
    const std::vector<double> one = {1.0};
    EXPECT_NEAR(weighted_score_fusion(flat, one, 10)[0].score, 1.0, 1e-6);
    EXPECT_THROW(weighted_score_fusion(lists, one, 10), Error);
}

TEST(Fusion, ParseMethod) {
    EXPECT_EQ(parse_fusion_method("rrf"), FusionMethod::Rrf);
    EXPECT_EQ(parse_fusion_method("weighted"), FusionMethod::Weighted);
    EXPECT_THROW(parse_fusion_method("borda"), Error);
}

}  // namespace
}  // namespace winnow::index
