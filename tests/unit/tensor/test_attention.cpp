// Variable-length attention and RoPE against a naive per-sequence implementation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "tensor/attention.h"
#include "tensor/attention_fused.h"
#include "tensor/tensor.h"

namespace winnow {
namespace {

// out for one query head over one sequence, straight from the definition.
void naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, std::size_t begin, std::size_t len,
                     std::size_t h, std::size_t kv_h, const AttentionShape& shape, Tensor& out) {
    const std::size_t d = shape.head_dim;
    for (std::size_t i = 0; i < len; ++i) {
        std::vector<double> w(len, 0.0);
        double max_w = -1e300;
        for (std::size_t j = 0; j < len; ++j) {
            const bool visible = (shape.window == 0 || (i > j ? i - j : j - i) <= shape.window) && (!shape.causal || j <= i);
            if (!visible) {
                w[j] = -INFINITY;
                continue;
            }
            double s = 0;
            for (std::size_t c = 0; c < d; ++c) s += double(q.row(begin + i)[h * d + c]) * k.row(begin + j)[kv_h * d + c];
            w[j] = s * shape.scale;
            max_w = std::max(max_w, w[j]);
        }
        double sum = 0;
        for (double& x : w) sum += (x = std::isinf(x) ? 0.0 : std::exp(x - max_w));
        for (std::size_t c = 0; c < d; ++c) {
            double o = 0;
            for (std::size_t j = 0; j < len; ++j) o += w[j] / sum * v.row(begin + j)[kv_h * d + c];
            out.row(begin + i)[h * d + c] = static_cast<float>(o);
        }
    }
}

// A [rows x cols] tensor of standard normal values.
Tensor normal_tensor(std::size_t rows, std::size_t cols, std::mt19937& rng) {
    std::normal_distribution<float> dist;
    Tensor t(rows, cols);
    for (float& x : t.span()) x = dist(rng);
    return t;
}

struct AttentionCase {
    std::size_t n_heads, n_kv_heads, head_dim, window;
    bool causal;
    Precision precision = Precision::Fp32;  // Bf16/Int8: bf16 products where the CPU has them (error ~ 2^-8 relative)
};

class AttentionTest : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(AttentionTest, MatchesNaiveOnMixedLengths) {
    const auto c = GetParam();
    const std::vector<std::uint32_t> cu{0, 1, 8, 41, 44, 194};  // 150: several 64-key panels and a tail
    const std::size_t n_tokens = cu.back();
    std::mt19937 rng(7);
    const Tensor q = normal_tensor(n_tokens, c.n_heads * c.head_dim, rng);
    const Tensor k = normal_tensor(n_tokens, c.n_kv_heads * c.head_dim, rng);
    const Tensor v = normal_tensor(n_tokens, c.n_kv_heads * c.head_dim, rng);
    AttentionShape shape{c.n_heads, c.n_kv_heads, c.head_dim, 1.0f / std::sqrt(float(c.head_dim)), c.window, c.causal,
                         c.precision};
    Tensor out(n_tokens, c.n_heads * c.head_dim);
    attention_varlen({q.data(), q.cols()}, {k.data(), k.cols()}, {v.data(), v.cols()}, cu, out.data(), out.cols(),
                     shape);
    Tensor expected(n_tokens, out.cols());
    for (std::size_t s = 0; s + 1 < cu.size(); ++s) {
        for (std::size_t h = 0; h < c.n_heads; ++h) {
            naive_attention(q, k, v, cu[s], cu[s + 1] - cu[s], h, h / (c.n_heads / c.n_kv_heads), shape, expected);
        }
    }
    const float tolerance = c.precision == Precision::Fp32 ? 1e-5f : 2e-2f;
    double worst = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        ASSERT_NEAR(out.data()[i], expected.data()[i], tolerance) << i;
        worst = std::max(worst, std::fabs(double(out.data()[i]) - expected.data()[i]));
    }
    // Where the CPU has the bf16 kernel, its rounding shows: the reduced-precision path really ran.
    if (c.precision != Precision::Fp32 && fused_attention_supported(c.head_dim, AttentionProducts::Bf16)) {
        EXPECT_GT(worst, 1e-4) << "bf16 attention was requested but f32 results came back";
    }
}

INSTANTIATE_TEST_SUITE_P(Masks, AttentionTest,
                         ::testing::Values(AttentionCase{4, 4, 16, 0, false}, AttentionCase{2, 2, 32, 3, false},
                                           AttentionCase{3, 3, 32, 0, false}, AttentionCase{2, 1, 64, 0, false},
                                           AttentionCase{2, 2, 24, 0, false},
                                           AttentionCase{4, 2, 8, 0, true}, AttentionCase{3, 1, 5, 2, true},
                                           // head sizes of the fused kernels (32, 64, 128), f32 and bf16
                                           AttentionCase{2, 2, 128, 0, true}, AttentionCase{2, 1, 64, 5, true},
                                           AttentionCase{2, 2, 64, 17, false},
                                           AttentionCase{3, 3, 32, 0, false, Precision::Bf16},
                                           AttentionCase{2, 2, 32, 3, false, Precision::Bf16},
                                           AttentionCase{2, 1, 64, 0, false, Precision::Bf16},
                                           AttentionCase{2, 1, 64, 5, true, Precision::Bf16},
                                           AttentionCase{2, 2, 128, 0, true, Precision::Int8},
                                           AttentionCase{3, 3, 32, 4, false, Precision::Int8},
                                           AttentionCase{4, 4, 16, 0, false, Precision::Bf16}),
                         [](const auto& info) {
                             const AttentionCase& c = info.param;
                             return "h" + std::to_string(c.n_heads) + "kv" + std::to_string(c.n_kv_heads) + "d" +
                                    std::to_string(c.head_dim) + "w" + std::to_string(c.window) +
                                    (c.causal ? "causal" : "") +
                                    (c.precision == Precision::Fp32   ? "fp32"
                                     : c.precision == Precision::Bf16 ? "bf16"
                                                                      : "int8");
                         });

// The first-token-only attention (a classification head's last layer) equals the first rows of the full one.
TEST_P(AttentionTest, FirstTokensEqualTheFullAttentionsFirstRows) {
    const auto c = GetParam();  // its precision does not matter: the first-token attention always runs in f32
    const std::vector<std::uint32_t> cu{0, 1, 8, 41, 44, 194};
    const std::size_t n_tokens = cu.back();
    std::mt19937 rng(8);
    const Tensor q = normal_tensor(n_tokens, c.n_heads * c.head_dim, rng);
    const Tensor k = normal_tensor(n_tokens, c.n_kv_heads * c.head_dim, rng);
    const Tensor v = normal_tensor(n_tokens, c.n_kv_heads * c.head_dim, rng);
    const AttentionShape shape{c.n_heads, c.n_kv_heads, c.head_dim, 1.0f / std::sqrt(float(c.head_dim)), c.window,
                               c.causal, c.precision};
    AttentionShape f32_shape = shape;
    f32_shape.precision = Precision::Fp32;
    Tensor full(n_tokens, c.n_heads * c.head_dim), first(cu.size() - 1, c.n_heads * c.head_dim);
    attention_varlen({q.data(), q.cols()}, {k.data(), k.cols()}, {v.data(), v.cols()}, cu, full.data(), full.cols(),
                     f32_shape);
    Tensor first_queries(cu.size() - 1, q.cols());
    for (std::size_t s = 0; s + 1 < cu.size(); ++s) std::copy(q.row(cu[s]), q.row(cu[s]) + q.cols(), first_queries.row(s));
    attention_first_tokens({first_queries.data(), q.cols()}, {k.data(), k.cols()}, {v.data(), v.cols()}, cu,
                           first.data(), first.cols(), shape);
    for (std::size_t s = 0; s + 1 < cu.size(); ++s) {
        for (std::size_t i = 0; i < first.cols(); ++i) ASSERT_NEAR(first.row(s)[i], full.row(cu[s])[i], 1e-5) << s;
    }
}

// Non-temporal stores (used for outputs larger than the caches) change where results go, not what they are.
TEST(FusedAttention, NonTemporalStoresGiveTheSameOutput) {
    const std::size_t len = 77, d = 32, stride = 3 * d;
    std::mt19937 rng(5);
    const Tensor qkv = normal_tensor(len, stride, rng);
    for (AttentionProducts products : {AttentionProducts::F32, AttentionProducts::Bf16Values, AttentionProducts::Bf16}) {
        if (!fused_attention_supported(d, products)) continue;
        AttentionShape shape{1, 1, d, 1.0f / std::sqrt(float(d))};
        FusedAttentionScratch scratch;
        Tensor normal(len, d), streamed(len, d);
        fused_attend(qkv.data(), stride, qkv.data() + d, stride, qkv.data() + 2 * d, stride, len, shape, products, scratch,
                     normal.data(), d, false);
        fused_attend(qkv.data(), stride, qkv.data() + d, stride, qkv.data() + 2 * d, stride, len, shape, products, scratch,
                     streamed.data(), d, true);
        for (std::size_t i = 0; i < normal.size(); ++i) ASSERT_EQ(normal.data()[i], streamed.data()[i]) << i;
    }
}

TEST(Rope, RotatesPairsByPositionWithinEachSequence) {
    const std::size_t d = 8, n_heads = 2;
    const RopeTable rope(d, 16, 10000.0);
    const std::vector<std::uint32_t> cu{0, 3, 5};
    std::mt19937 rng(9);
    std::normal_distribution<float> dist;
    Tensor x(5, n_heads * d);
    for (float& v : x.span()) v = dist(rng);
    const Tensor original = x.clone();
    rope.apply(x.data(), x.cols(), n_heads, cu);
    for (std::size_t t = 0; t < 5; ++t) {
        const std::size_t pos = t < 3 ? t : t - 3;
        for (std::size_t h = 0; h < n_heads; ++h) {
            for (std::size_t c = 0; c < d / 2; ++c) {
                const double angle = pos * std::pow(10000.0, -2.0 * c / d);
                const double a = original.row(t)[h * d + c], b = original.row(t)[h * d + c + d / 2];
                ASSERT_NEAR(x.row(t)[h * d + c], a * std::cos(angle) - b * std::sin(angle), 1e-5);
                ASSERT_NEAR(x.row(t)[h * d + c + d / 2], b * std::cos(angle) + a * std::sin(angle), 1e-5);
            }
        }
    }
}

}  // namespace
}  // namespace winnow
