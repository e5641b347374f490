#include <gtest/gtest.h>

#include <cmath>

#include "eval/significance.h"
#include "winnow/error.h"

namespace winnow::eval {
namespace {

TEST(Significance, IncompleteBetaKnownValues) {
    EXPECT_NEAR(regularized_incomplete_beta(1.0, 1.0, 0.3), 0.3, 1e-12);  // uniform
    EXPECT_NEAR(regularized_incomplete_beta(2.0, 1.0, 0.5), 0.25, 1e-12);  // x^a
    EXPECT_NEAR(regularized_incomplete_beta(1.0, 3.0, 0.2), 1.0 - std::pow(0.8, 3), 1e-12);
    EXPECT_NEAR(regularized_incomplete_beta(5.0, 7.0, 0.4) + regularized_incomplete_beta(7.0, 5.0, 0.6), 1.0, 1e-12);
    EXPECT_EQ(regularized_incomplete_beta(2.0, 2.0, 0.0), 0.0);
    EXPECT_EQ(regularized_incomplete_beta(2.0, 2.0, 1.0), 1.0);
    EXPECT_THROW(regularized_incomplete_beta(0.0, 1.0, 0.5), Error);
}

TEST(Significance, StudentTClosedForms) {
    // df = 1 (Cauchy): P(|T| > t) = 1 - 2 atan(t) / pi.
    EXPECT_NEAR(student_t_two_sided_p(2.0, 1.0), 1.0 - 2.0 * std::atan(2.0) / M_PI, 1e-10);
    // df = 2: P(|T| > t) = 1 - t / sqrt(t^2 + 2).
    EXPECT_NEAR(student_t_two_sided_p(2.0, 2.0), 1.0 - 2.0 / std::sqrt(6.0), 1e-10);
    EXPECT_NEAR(student_t_two_sided_p(-2.0, 2.0), 1.0 - 2.0 / std::sqrt(6.0), 1e-10);
    // Large df tends to the normal: P(|Z| > 1.96) = erfc(1.96 / sqrt(2)).
    EXPECT_NEAR(student_t_two_sided_p(1.96, 1e7), std::erfc(1.96 / std::sqrt(2.0)), 1e-6);
    EXPECT_NEAR(student_t_two_sided_p(0.0, 10.0), 1.0, 1e-12);
}

TEST(Significance, PairedTTestHandComputed) {
    // d = (1, 0, 1, 1, 2): mean 1, sd sqrt(0.5), t = 1 / (sqrt(0.5) / sqrt(5)) = sqrt(10).
    auto r = compare_paired({1, 2, 3, 4, 5}, {2, 2, 4, 5, 7});
    EXPECT_EQ(r.n, 5u);
    EXPECT_DOUBLE_EQ(r.delta, 1.0);
    EXPECT_NEAR(r.t, std::sqrt(10.0), 1e-12);
    EXPECT_NEAR(r.t_p, student_t_two_sided_p(std::sqrt(10.0), 4.0), 1e-15);
    EXPECT_GT(r.t_p, 0.03);
    EXPECT_LT(r.t_p, 0.04);
    EXPECT_EQ(r.wins, 4u);
    EXPECT_EQ(r.ties, 1u);
    EXPECT_EQ(r.losses, 0u);
    // Exact permutation p: 2 of the 16 sign patterns of the 4 non-zero differences reach |sum| = 5.
    auto exact = compare_paired({1, 2, 3, 4, 5}, {2, 2, 4, 5, 7}, {20000, 7});
    EXPECT_NEAR(exact.permutation_p, 2.0 / 16.0, 0.01);
}

TEST(Significance, PermutationIsSeededAndEdgeCases) {
    std::vector<double> a{0.1, 0.5, 0.3, 0.9, 0.2, 0.4};
    std::vector<double> b{0.2, 0.4, 0.5, 0.8, 0.6, 0.4};
    EXPECT_EQ(compare_paired(a, b, {1000, 3}).permutation_p, compare_paired(a, b, {1000, 3}).permutation_p);
    auto same = compare_paired(a, a);
    EXPECT_EQ(same.t_p, 1.0);
    EXPECT_EQ(same.permutation_p, 1.0);
    EXPECT_EQ(same.ties, a.size());
    auto shifted = compare_paired({0, 0, 0}, {1, 1, 1});  // constant difference: sd 0, t infinite
    EXPECT_EQ(shifted.t_p, 0.0);
    EXPECT_THROW(compare_paired({1}, {1, 2}), Error);
    EXPECT_EQ(compare_paired({}, {}).n, 0u);
}

}  // namespace
}  // namespace winnow::eval
