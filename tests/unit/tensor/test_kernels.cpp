// Kernels against plain reference implementations.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tensor/kernels.h"
#include "tensor/linear.h"
#include "tensor/linear_precision.h"
#include "winnow/error.h"

namespace winnow {
namespace {

Tensor random_tensor(std::size_t rows, std::size_t cols, std::mt19937& rng, float scale = 1.0f) {
    std::normal_distribution<float> dist(0.0f, scale);
    Tensor t(rows, cols);
    for (float& v : t.span()) v = dist(rng);
    return t;
}

struct LinearCase {
    std::size_t rows, in, out;
    bool bias;
    Activation activation;
};

class LinearTest : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearTest, MatchesReference) {
    const auto c = GetParam();
    std::mt19937 rng(42);
    const Tensor weight = random_tensor(c.out, c.in, rng, 0.2f);
    const Tensor bias = c.bias ? random_tensor(1, c.out, rng) : Tensor();
    const Tensor x = random_tensor(c.rows, c.in, rng);
    const Linear linear(weight, bias, Precision::Fp32);
    EXPECT_EQ(linear.in_features(), c.in);
    EXPECT_EQ(linear.out_features(), c.out);
    Tensor y;
    linear.forward(x, y, c.activation);
    std::vector<float> expected(c.rows * c.out);
    linear_reference(x.data(), c.rows, weight, c.bias ? bias.data() : nullptr, expected.data(), c.activation);
    ASSERT_EQ(y.rows(), c.rows);
    ASSERT_EQ(y.cols(), c.out);
    for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(y.data()[i], expected[i], 2e-5f) << i;
    // Same layer, different row count: the cached primitive for another shape must not interfere.
    Tensor y1;
    Tensor x1(1, c.in);
    std::copy(x.row(0), x.row(0) + c.in, x1.data());
    linear.forward(x1, y1, c.activation);
    for (std::size_t o = 0; o < c.out; ++o) ASSERT_NEAR(y1.data()[o], expected[o], 2e-5f);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearTest,
                         ::testing::Values(LinearCase{1, 8, 4, true, Activation::None},
                                           LinearCase{17, 64, 192, true, Activation::Gelu},
                                           LinearCase{300, 48, 96, false, Activation::None},
                                           LinearCase{33, 96, 1, true, Activation::Tanh},
                                           LinearCase{64, 32, 40, true, Activation::GeluTanh},
                                           LinearCase{5, 16, 16, false, Activation::Silu},
                                           LinearCase{9, 16, 24, true, Activation::Relu}));

TEST(Linear, OtherPrecisionsAreUnsupportedForNow) {
    std::mt19937 rng(1);
    const Tensor w = random_tensor(4, 4, rng);
    try {
        Linear(w, Tensor(), Precision::Int8);
        // A build with int8 support is fine too.
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Unsupported);
    }
    // Auto resolves to a concrete precision (resolve_precision: bf16 where the CPU has AVX512-BF16, else fp32).
    EXPECT_EQ(Linear(w, Tensor(), Precision::Auto).precision(), resolve_precision(Precision::Auto));
    EXPECT_NE(Linear(w, Tensor(), Precision::Auto).precision(), Precision::Auto);
}

TEST(Kernels, LayerNormMatchesReference) {
    std::mt19937 rng(3);
    const std::size_t rows = 7, cols = 384;
    const Tensor x = random_tensor(rows, cols, rng, 3.0f);
    const Tensor gamma = random_tensor(1, cols, rng);
    const Tensor beta = random_tensor(1, cols, rng);
    const Tensor residual = random_tensor(rows, cols, rng);
    Tensor y(rows, cols);
    layer_norm(x.data(), y.data(), rows, cols, gamma.data(), beta.data(), 1e-12f);
    Tensor fused = x.clone();
    add_layer_norm(fused.data(), residual.data(), rows, cols, gamma.data(), beta.data(), 1e-12f);
    for (std::size_t r = 0; r < rows; ++r) {
        for (int with_residual = 0; with_residual < 2; ++with_residual) {
            std::vector<double> v(cols);
            for (std::size_t c = 0; c < cols; ++c) v[c] = x.row(r)[c] + (with_residual ? residual.row(r)[c] : 0.0);
            double mean = 0, var = 0;
            for (double e : v) mean += e;
            mean /= cols;
            for (double e : v) var += (e - mean) * (e - mean);
            var /= cols;
            const Tensor& got = with_residual ? fused : y;
            for (std::size_t c = 0; c < cols; ++c) {
                const double expected = (v[c] - mean) / std::sqrt(var + 1e-12) * gamma.data()[c] + beta.data()[c];
                ASSERT_NEAR(got.row(r)[c], expected, 1e-4) << r << "," << c;
            }
        }
    }
}

TEST(Kernels, RmsNormSoftmaxGatedAndBias) {
    std::mt19937 rng(5);
    const Tensor x = random_tensor(3, 16, rng);
    const Tensor gamma = random_tensor(1, 16, rng);
    Tensor y(3, 16);
    rms_norm(x.data(), y.data(), 3, 16, gamma.data(), 1e-6f);
    for (std::size_t r = 0; r < 3; ++r) {
        double sq = 0;
        for (std::size_t c = 0; c < 16; ++c) sq += double(x.row(r)[c]) * x.row(r)[c];
        const double inv = 1.0 / std::sqrt(sq / 16 + 1e-6);
        for (std::size_t c = 0; c < 16; ++c) ASSERT_NEAR(y.row(r)[c], x.row(r)[c] * inv * gamma.data()[c], 1e-5);
    }

    std::vector<float> s{1.0f, 2.0f, 3.0f, 1000.0f};
    softmax_inplace(s.data(), 3);
    EXPECT_NEAR(s[0] + s[1] + s[2], 1.0f, 1e-6f);
    EXPECT_NEAR(s[2] / s[1], std::exp(1.0f), 1e-4f);
    EXPECT_EQ(s[3], 1000.0f);  // untouched beyond n
    std::vector<float> big{1000.0f, 1000.0f};
    softmax_inplace(big.data(), 2);
    EXPECT_FLOAT_EQ(big[0], 0.5f);

    const Tensor ug = random_tensor(2, 8, rng);  // rows of [input(4) | gate(4)]
    Tensor out(2, 4);
    gated_activation(ug.data(), out.data(), 2, 4, Activation::Gelu);
    for (std::size_t r = 0; r < 2; ++r) {
        for (std::size_t c = 0; c < 4; ++c) {
            const double u = ug.row(r)[c];
            const double gelu = 0.5 * u * (1 + std::erf(u / std::sqrt(2.0)));
            ASSERT_NEAR(out.row(r)[c], gelu * ug.row(r)[4 + c], 1e-6);
        }
    }

    Tensor z = Tensor::zeros(2, 3);
    const float bias[] = {1.0f, -1.0f, 0.5f};
    bias_activation(z.data(), 2, 3, bias, Activation::Relu);
    EXPECT_EQ(z.row(1)[0], 1.0f);
    EXPECT_EQ(z.row(1)[1], 0.0f);
    EXPECT_EQ(z.row(1)[2], 0.5f);
    EXPECT_NEAR(activate(Activation::Silu, 1.0f), 1.0f / (1.0f + std::exp(-1.0f)), 1e-7f);
    EXPECT_NEAR(activate(Activation::GeluTanh, 1.0f), 0.841192f, 1e-5f);
}

TEST(Tensor, ResizeKeepsCapacityAndZeros) {
    Tensor t = Tensor::zeros(4, 4);
    for (float v : t.span()) EXPECT_EQ(v, 0.0f);
    const float* p = t.data();
    t.resize(2, 3);
    EXPECT_EQ(t.data(), p);
    EXPECT_EQ(t.size(), 6u);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
    const Tensor c = t.clone();
    EXPECT_EQ(c.rows(), 2u);
    EXPECT_NE(c.data(), t.data());
}

}  // namespace
}  // namespace winnow
