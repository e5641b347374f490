#include <gtest/gtest.h>

#include <cmath>

#include "lexical/bm25.h"
#include "winnow/error.h"

namespace winnow::lexical {
namespace {

TEST(SmallFloat, MatchesLuceneByte4) {
    for (std::uint32_t i = 0; i < 24; ++i) {
        EXPECT_EQ(int_to_byte4(i), i);
        EXPECT_EQ(byte4_to_int(static_cast<std::uint8_t>(i)), i);
    }
    // 100 - 24 = 76 = 0b1001100: 4 significant bits 1001 -> 72, +24 = 96.
    EXPECT_EQ(byte4_to_int(int_to_byte4(100)), 96u);
    EXPECT_EQ(byte4_to_int(int_to_byte4(24)), 24u);
    EXPECT_EQ(byte4_to_int(int_to_byte4(39)), 39u);
    EXPECT_EQ(byte4_to_int(int_to_byte4(40)), 40u);
    EXPECT_EQ(byte4_to_int(int_to_byte4(41)), 40u);
    EXPECT_EQ(int_to_byte4(0x7fffffffu), 255);
    // Monotonic and never above the true length, within 1/8 relative error.
    std::uint8_t prev = 0;
    for (std::uint32_t i = 0; i < 1'000'000; i += 7) {
        const std::uint8_t b = int_to_byte4(i);
        EXPECT_GE(b, prev);
        prev = b;
        const std::uint32_t back = byte4_to_int(b);
        EXPECT_LE(back, i);
        EXPECT_GE(static_cast<double>(back), static_cast<double>(i) * 0.875 - 1);
        EXPECT_EQ(int_to_byte4(back), b);
    }
}

TEST(Bm25Spec, Parses) {
    EXPECT_EQ(parse_bm25_spec("bm25"), Bm25Params{});
    auto p = parse_bm25_spec("bm25(k1=1.2,b=0.75)");
    EXPECT_FLOAT_EQ(p.k1, 1.2f);
    EXPECT_FLOAT_EQ(p.b, 0.75f);
    EXPECT_FLOAT_EQ(parse_bm25_spec("bm25( b = 0.3 )").b, 0.3f);
    EXPECT_EQ(bm25_spec(Bm25Params{}), "bm25(k1=0.9,b=0.4)");
    EXPECT_EQ(parse_bm25_spec(bm25_spec(p)), p);
    EXPECT_THROW(parse_bm25_spec("tfidf"), Error);
    EXPECT_THROW(parse_bm25_spec("bm25(k1=x)"), Error);
    EXPECT_THROW(parse_bm25_spec("bm25(b=2)"), Error);
    EXPECT_THROW(parse_bm25_spec("bm25(k3=1)"), Error);
    EXPECT_THROW(parse_bm25_spec("bm25(k1=1"), Error);
}

TEST(Bm25Similarity, LuceneFormula) {
    // 4 documents, 10 tokens in all: avgdl 2.5.
    Bm25Similarity sim(Bm25Params{0.9f, 0.4f}, 4, 10);
    EXPECT_FLOAT_EQ(sim.avgdl(), 2.5f);
    EXPECT_FLOAT_EQ(sim.idf(1), static_cast<float>(std::log(1 + (4 - 1 + 0.5) / (1 + 0.5))));
    // tf = 2 in a document of length 3: 0.9 * (0.6 + 0.4 * 3 / 2.5) = 0.972; tf / (tf + 0.972).
    const float w = sim.idf(1);
    const float s = Bm25Similarity::score(w, 2.0f, sim.norm_inverse(3));
    EXPECT_NEAR(s, w * 2.0 / (2.0 + 0.972), 1e-6);
}

}  // namespace
}  // namespace winnow::lexical
