// Fixed row blocks (row_blocks.h): every batch size is covered exactly once by blocks from a set of
// 16 row counts, a Linear layer gives the same rows whatever the batch around them, and after each
// block size has been seen once no batch size makes a new oneDNN primitive at any precision.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "tensor/kernel_stats.h"
#include "tensor/linear.h"
#include "tensor/linear_precision.h"
#include "tensor/row_blocks.h"

namespace winnow {
namespace {

TEST(RowBlocks, CoverEveryRowOnceFromAFixedSetOfSizes) {
    std::set<std::size_t> sizes;
    for (std::size_t rows = 0; rows <= 3000; ++rows) {
        std::size_t next = 0, calls = 0;
        row_blocks::for_each(rows, [&](const row_blocks::Block& b) {
            EXPECT_EQ(b.first, next) << rows;
            EXPECT_GT(b.rows, 0u);
            EXPECT_GE(b.gemm_rows, b.rows);
            EXPECT_LT(b.gemm_rows - b.rows, row_blocks::kTailRows);
            next += b.rows;
            ++calls;
            sizes.insert(b.gemm_rows);
        });
        EXPECT_EQ(next, rows);
        EXPECT_LE(calls, rows / row_blocks::kBlockRows + 2) << rows;
    }
    EXPECT_EQ(sizes.size(), row_blocks::kShapes);
}

Tensor random_tensor(std::size_t rows, std::size_t cols, std::mt19937& rng, float scale) {
    std::normal_distribution<float> dist(0.0f, scale);
    Tensor t(rows, cols);
    for (float& v : t.span()) v = dist(rng);
    return t;
}

class RowBlocksPrecision : public ::testing::TestWithParam<Precision> {
protected:
    void SetUp() override {
        if (GetParam() == Precision::Bf16 && !cpu_has_bf16()) GTEST_SKIP() << "no AVX512-BF16";
        if (GetParam() == Precision::Int8 && !cpu_has_vnni()) GTEST_SKIP() << "no AVX512-VNNI";
    }
};

// A row's output does not depend on how many rows share its call (padding rows included): the first
// rows of a 1100-row batch equal the same rows run alone in a batch of every size from 1 to 70.
TEST_P(RowBlocksPrecision, RowsDoNotDependOnTheBatch) {
    std::mt19937 rng(7);
    const Tensor weight = random_tensor(40, 24, rng, 0.1f);
    const Tensor bias = random_tensor(1, 40, rng, 0.5f);
    const Tensor x = random_tensor(1100, 24, rng, 1.0f);
    const Linear layer(weight, bias, GetParam());
    std::vector<float> all(1100 * 40);
    layer.forward(x.data(), 1100, all.data(), Activation::Gelu);
    std::vector<float> reference(1100 * 40);
    linear_reference(x.data(), 1100, weight, bias.data(), reference.data(), Activation::Gelu);
    const double tolerance = GetParam() == Precision::Fp32 ? 1e-4 : 0.1;
    for (std::size_t i = 0; i < all.size(); ++i) ASSERT_NEAR(all[i], reference[i], tolerance) << i;
    for (std::size_t rows : {1, 2, 7, 8, 9, 31, 63, 64, 65, 70}) {
        std::vector<float> part(rows * 40);
        layer.forward(x.data(), rows, part.data(), Activation::Gelu);
        for (std::size_t i = 0; i < part.size(); ++i) {
            // Same rows quantized/rounded the same way: equal up to the GEMM's summation order.
            ASSERT_NEAR(part[i], all[i], GetParam() == Precision::Fp32 ? 1e-5 : 1e-3) << rows << " " << i;
        }
    }
}

// After one pass over every block size, 100 random batch sizes make no new primitive.
TEST_P(RowBlocksPrecision, PrimitivesStopBeingMadeAfterEveryBlockSizeWasSeen) {
    std::mt19937 rng(11);
    const Tensor weight = random_tensor(56, 48, rng, 0.1f);
    const Linear layer(weight, Tensor(), GetParam());
    const Tensor x = random_tensor(2200, 48, rng, 1.0f);
    std::vector<float> y(2200 * 56);
    const auto before = kernel_stats().primitives_created;
    for (std::size_t rows = 1; rows <= 64; ++rows) layer.forward(x.data(), rows, y.data(), Activation::None);
    for (std::size_t rows = 128; rows <= 512; rows += 64) layer.forward(x.data(), rows, y.data(), Activation::None);
    const auto warm = kernel_stats().primitives_created;
    EXPECT_LE(warm - before, row_blocks::kShapes);
    std::uniform_int_distribution<std::size_t> size(1, 2200);
    for (int i = 0; i < 100; ++i) layer.forward(x.data(), size(rng), y.data(), Activation::None);
    EXPECT_EQ(kernel_stats().primitives_created, warm);
}

// With eager warm-up (the server's setting), a layer's first call makes every row-block size at once:
// no later batch size makes another.
TEST_P(RowBlocksPrecision, EagerWarmUpMakesTheWholeFamilyOnTheFirstCall) {
    std::mt19937 rng(13);
    const Tensor weight = random_tensor(72, 40, rng, 0.1f);
    const Linear layer(weight, Tensor(), GetParam());
    const Tensor x = random_tensor(1500, 40, rng, 1.0f);
    std::vector<float> y(1500 * 72);
    set_eager_kernel_warmup(true);
    const auto before = kernel_stats().primitives_created;
    layer.forward(x.data(), 3, y.data(), Activation::Relu);
    const auto first = kernel_stats().primitives_created;
    EXPECT_GT(first - before, 1u);
    EXPECT_LE(first - before, row_blocks::kShapes);
    std::uniform_int_distribution<std::size_t> size(1, 1500);
    for (int i = 0; i < 40; ++i) layer.forward(x.data(), size(rng), y.data(), Activation::Relu);
    set_eager_kernel_warmup(false);
    EXPECT_EQ(kernel_stats().primitives_created, first);
}

TEST(RowBlocks, GemmRowCountsAreTheBlockSizes) {
    std::set<long> made;
    for (std::size_t rows = 1; rows <= 1100; ++rows) {
        row_blocks::for_each(rows, [&](const row_blocks::Block& b) { made.insert(static_cast<long>(b.gemm_rows)); });
    }
    const std::set<long> listed(row_blocks::kGemmRowCounts.begin(), row_blocks::kGemmRowCounts.end());
    EXPECT_EQ(made, listed);
}

INSTANTIATE_TEST_SUITE_P(Precisions, RowBlocksPrecision,
                         ::testing::Values(Precision::Fp32, Precision::Bf16, Precision::Int8),
                         [](const auto& info) { return std::string(precision_name(info.param)); });

}  // namespace
}  // namespace winnow
