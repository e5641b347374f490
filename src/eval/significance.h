// Paired significance tests between two systems over the same queries: Student's paired t-test
// (two-sided p from the t distribution's CDF via the regularized incomplete beta function) and a
// seeded randomized permutation (sign-flip) test, plus per-query win/tie/loss counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace winnow::eval {

// I_x(a, b), the regularized incomplete beta function (continued fraction, Lentz's method).
double regularized_incomplete_beta(double a, double b, double x);
// P(|T| >= |t|) for Student's t with df degrees of freedom.
double student_t_two_sided_p(double t, double df);

struct PairedComparison {
    std::size_t n = 0;        // queries compared
    double mean_a = 0.0;
    double mean_b = 0.0;
    double delta = 0.0;       // mean(b - a)
    double t = 0.0;           // paired t statistic (0 when every difference is 0)
    double t_p = 1.0;         // two-sided p of the t-test
    double permutation_p = 1.0;  // two-sided p of the sign-flip permutation test
    std::size_t wins = 0;     // queries where b > a (beyond 1e-12)
    std::size_t ties = 0;
    std::size_t losses = 0;
};

struct PermutationOptions {
    std::size_t rounds = 10000;
    std::uint64_t seed = 42;
};

// a[i] and b[i] belong to the same query. Throws Error(InvalidArgument) when the sizes differ.
PairedComparison compare_paired(const std::vector<double>& a, const std::vector<double>& b,
                                const PermutationOptions& options = {});

}  // namespace winnow::eval

#include <map>
#include <string_view>

#include "winnow/eval.h"

namespace winnow::eval {

struct MeasureComparison {
    std::string measure;
    PairedComparison test;
};

// Compares every measure the two results share, over the queries both evaluated (b against a).
std::vector<MeasureComparison> compare_results(const EvalResult& a, const EvalResult& b,
                                               const PermutationOptions& options = {});

// Per-query b - a of one measure over the shared queries, in query id order.
std::vector<std::pair<std::string, double>> per_query_deltas(const EvalResult& a, const EvalResult& b,
                                                             std::string_view measure);

}  // namespace winnow::eval
