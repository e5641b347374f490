// bf16 and int8 Linear layers against the fp32 reference, and a whole cross-encoder scored at each
// precision against its fp32 logits.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/linear.h"
#include "tensor/linear_precision.h"
#include "winnow/error.h"
#include "winnow/reranker.h"

namespace winnow {
namespace {

Tensor random_tensor(std::size_t rows, std::size_t cols, std::mt19937& rng, float scale) {
    std::normal_distribution<float> dist(0.0f, scale);
    Tensor t(rows, cols);
    for (float& v : t.span()) v = dist(rng);
    return t;
}

struct PrecisionCase {
    Precision precision;
    std::size_t rows, in, out;
    bool bias;
    Activation activation;
    double tolerance;  // relative to the output's RMS
};

class LinearPrecisionTest : public ::testing::TestWithParam<PrecisionCase> {};

TEST_P(LinearPrecisionTest, MatchesFp32Reference) {
    const PrecisionCase c = GetParam();
    if (c.precision == Precision::Bf16 && !cpu_has_bf16()) GTEST_SKIP() << "no AVX512-BF16";
    if (c.precision == Precision::Int8 && !cpu_has_vnni()) GTEST_SKIP() << "no AVX512-VNNI";
    std::mt19937 rng(static_cast<unsigned>(c.rows * 31 + c.in * 7 + c.out));
    const Tensor weight = random_tensor(c.out, c.in, rng, 0.05f);
    const Tensor bias = c.bias ? random_tensor(1, c.out, rng, 0.5f) : Tensor();
    const Tensor x = random_tensor(c.rows, c.in, rng, 1.0f);
    const Linear layer(weight, bias, c.precision);
    EXPECT_EQ(layer.precision(), c.precision);
    EXPECT_EQ(layer.out_features(), c.out);
    Tensor y;
    layer.forward(x, y, c.activation);
    std::vector<float> expected(c.rows * c.out);
    linear_reference(x.data(), c.rows, weight, c.bias ? bias.data() : nullptr, expected.data(), c.activation);
    double sum_sq = 0.0, max_err = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        sum_sq += static_cast<double>(expected[i]) * expected[i];
        max_err = std::max(max_err, std::fabs(static_cast<double>(y.data()[i]) - expected[i]));
    }
    const double rms = std::sqrt(sum_sq / static_cast<double>(expected.size()));
    EXPECT_LT(max_err, c.tolerance * rms) << "rms " << rms;
    // Not accidentally fp32: reduced precision leaves a visible error on random data.
    EXPECT_GT(max_err, 1e-6 * rms);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearPrecisionTest,
                         ::testing::Values(PrecisionCase{Precision::Bf16, 1, 384, 384, true, Activation::None, 0.03},
                                           PrecisionCase{Precision::Bf16, 137, 384, 1536, true, Activation::Gelu, 0.03},
                                           PrecisionCase{Precision::Bf16, 64, 1536, 384, false, Activation::None, 0.03},
                                           PrecisionCase{Precision::Bf16, 5, 33, 7, true, Activation::Tanh, 0.03},
                                           PrecisionCase{Precision::Int8, 1, 384, 384, true, Activation::None, 0.12},
                                           PrecisionCase{Precision::Int8, 137, 384, 1536, true, Activation::Gelu, 0.12},
                                           PrecisionCase{Precision::Int8, 64, 1536, 384, false, Activation::None, 0.12},
                                           PrecisionCase{Precision::Int8, 5, 33, 7, true, Activation::Relu, 0.12}));

// feed_forward runs int8 pairs chunk by chunk without writing the intermediate out; the result must be exactly
// that of the two layers run one after the other (same values quantized the same way), at every precision.
TEST(LinearPrecision, FeedForwardEqualsTheTwoLayers) {
    std::mt19937 rng(11);
    const Tensor up_weight = random_tensor(1536, 384, rng, 0.05f);
    const Tensor up_bias = random_tensor(1, 1536, rng, 0.5f);
    const Tensor down_weight = random_tensor(384, 1536, rng, 0.03f);
    const Tensor down_bias = random_tensor(1, 384, rng, 0.5f);
    for (Precision precision : {Precision::Fp32, Precision::Bf16, Precision::Int8}) {
        if (precision == Precision::Bf16 && !cpu_has_bf16()) continue;
        if (precision == Precision::Int8 && !cpu_has_vnni()) continue;
        const Linear up(up_weight, up_bias, precision);
        const Linear down(down_weight, down_bias, precision);
        for (std::size_t rows : {1, 64, 137}) {  // one partial chunk, one full chunk, full chunks and a tail
            const Tensor x = random_tensor(rows, 384, rng, 1.0f);
            Tensor hidden, expected;
            up.forward(x, hidden, Activation::Gelu);
            down.forward(hidden, expected);
            Tensor y, scratch;
            EXPECT_EQ(feed_forward(up, down, x, scratch, y, Activation::Gelu), precision == Precision::Int8);
            ASSERT_EQ(y.rows(), rows);
            ASSERT_EQ(y.cols(), 384u);
            for (std::size_t i = 0; i < y.size(); ++i) {
                ASSERT_EQ(y.data()[i], expected.data()[i]) << precision_name(precision) << " rows " << rows << " at " << i;
            }
        }
    }
}

// Outputs of kNonTemporalBytes or more are written with non-temporal stores: a batch that large must give exactly the
// rows that small batches (normal stores) give, for one layer and for a feed-forward pair.
TEST(LinearPrecision, Int8LargeOutputsEqualSmallBatches) {
    if (!cpu_has_vnni()) GTEST_SKIP() << "no AVX512-VNNI";
    std::mt19937 rng(12);
    const Linear up(random_tensor(1536, 384, rng, 0.05f), random_tensor(1, 1536, rng, 0.5f), Precision::Int8);
    const Linear down(random_tensor(384, 1536, rng, 0.03f), random_tensor(1, 384, rng, 0.5f), Precision::Int8);
    const std::size_t rows = kNonTemporalBytes / (384 * sizeof(float)) + 70;  // the pair's 384-wide output too
    const Tensor x = random_tensor(rows, 384, rng, 1.0f);
    Tensor hidden, y, scratch, pair;
    up.forward(x, hidden, Activation::Gelu);
    ASSERT_GE(hidden.size() * sizeof(float), kNonTemporalBytes);
    ASSERT_TRUE(feed_forward(up, down, x, scratch, pair, Activation::Gelu));
    ASSERT_GE(pair.size() * sizeof(float), kNonTemporalBytes);
    const std::size_t slice = 100;
    for (std::size_t r0 = 0; r0 < rows; r0 += 37 * slice) {  // a sample of slices across the batch
        const std::size_t n = std::min(slice, rows - r0);
        Tensor part(n, 384);
        std::memcpy(part.data(), x.row(r0), n * 384 * sizeof(float));
        Tensor part_hidden, part_pair;
        up.forward(part, part_hidden, Activation::Gelu);
        feed_forward(up, down, part, scratch, part_pair, Activation::Gelu);
        for (std::size_t i = 0; i < part_hidden.size(); ++i) ASSERT_EQ(part_hidden.data()[i], hidden.row(r0)[i]) << r0;
        for (std::size_t i = 0; i < part_pair.size(); ++i) ASSERT_EQ(part_pair.data()[i], pair.row(r0)[i]) << r0;
    }
}

TEST(LinearPrecision, ZeroRowsAndZeroInput) {
    if (!cpu_has_vnni()) GTEST_SKIP() << "no AVX512-VNNI";
    std::mt19937 rng(3);
    const Tensor weight = random_tensor(16, 32, rng, 0.1f);
    const Tensor bias = random_tensor(1, 16, rng, 1.0f);
    const Linear layer(weight, bias, Precision::Int8);
    layer.forward(nullptr, 0, nullptr);  // no rows: nothing to do
    // An all-zero input (scale 0) gives exactly the bias.
    const Tensor x = Tensor::zeros(3, 32);
    Tensor y;
    layer.forward(x, y);
    for (std::size_t r = 0; r < 3; ++r) {
        for (std::size_t o = 0; o < 16; ++o) EXPECT_FLOAT_EQ(y.row(r)[o], bias.data()[o]);
    }
}

TEST(LinearPrecision, AutoResolvesToBf16WhereTheCpuHasIt) {
    const Precision expected = cpu_has_bf16() ? Precision::Bf16 : Precision::Fp32;
    EXPECT_EQ(resolve_precision(Precision::Auto), expected);
    for (Precision p : {Precision::Fp32, Precision::Bf16, Precision::Int8}) EXPECT_EQ(resolve_precision(p), p);
    std::mt19937 rng(4);
    const Linear layer(random_tensor(4, 8, rng, 0.1f), Tensor(), Precision::Auto);
    EXPECT_EQ(layer.precision(), expected);
}

TEST(LinearPrecision, CrossEncoderLogitsStayClose) {
    const std::string model = std::string(WINNOW_SHARED_DIR) + "/fixtures/models/bert-ce";
    const std::string query = "how do cross-encoders rerank search results";
    const std::vector<std::string> docs{
        "A cross-encoder reads the query and the document together and outputs one relevance score.",
        "The weather in the mountains changes quickly; bring a jacket.",
        "Reranking the top candidates of a BM25 retriever with a transformer improves precision.",
        "Bananas are rich in potassium.",
        "Dense retrieval encodes queries and documents separately, then compares the vectors with a dot product "
        "to find nearest neighbours quickly, while a cross-encoder attends across both texts at once.",
    };
    ModelOptions options;
    options.precision = Precision::Fp32;
    const auto reference = Reranker::load(model, options)->score(query, docs);
    for (const auto& [precision, tolerance] : {std::pair{Precision::Bf16, 0.05}, std::pair{Precision::Int8, 0.15}}) {
        if (precision == Precision::Bf16 && !cpu_has_bf16()) continue;
        if (precision == Precision::Int8 && !cpu_has_vnni()) continue;
        options.precision = precision;
        const auto reranker = Reranker::load(model, options);
        EXPECT_EQ(reranker->precision(), precision);
        const auto scores = reranker->score(query, docs);
        ASSERT_EQ(scores.size(), reference.size());
        for (std::size_t i = 0; i < scores.size(); ++i) {
            EXPECT_NEAR(scores[i].raw_score, reference[i].raw_score, tolerance)
                << precision_name(precision) << " doc " << i;
        }
    }
}

TEST(LinearPrecision, MissingCpuFeatureIsUnsupported) {
    // The error names the feature; only checkable on a CPU that lacks it.
    std::mt19937 rng(5);
    const Tensor weight = random_tensor(4, 8, rng, 0.1f);
    if (!cpu_has_bf16()) {
        try {
            Linear(weight, Tensor(), Precision::Bf16);
            FAIL();
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Errc::Unsupported);
            EXPECT_NE(std::string(e.what()).find("AVX512-BF16"), std::string::npos);
        }
    } else {
        EXPECT_NO_THROW(Linear(weight, Tensor(), Precision::Bf16));
    }
}

}  // namespace
}  // namespace winnow
