#include "eval/significance.h"

#include <cmath>
#include <limits>
#include <random>

#include "winnow/error.h"

namespace winnow::eval {
namespace {

constexpr double kTieEpsilon = 1e-12;

// Continued fraction for I_x(a, b) (modified Lentz), valid for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
    constexpr int kMaxIterations = 500;
    constexpr double kEps = 1e-15;
    constexpr double kTiny = 1e-300;
    const double qab = a + b;
    const double qap = a + 1.0;
    const double qam = a - 1.0;
    double c = 1.0;
    double d = 1.0 - qab * x / qap;
    if (std::fabs(d) < kTiny) d = kTiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= kMaxIterations; ++m) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (std::fabs(d) < kTiny) d = kTiny;
        c = 1.0 + aa / c;
        if (std::fabs(c) < kTiny) c = kTiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (std::fabs(d) < kTiny) d = kTiny;
        c = 1.0 + aa / c;
        if (std::fabs(c) < kTiny) c = kTiny;
        d = 1.0 / d;
        const double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1.0) < kEps) break;
    }
    return h;
}

}  // namespace

double regularized_incomplete_beta(double a, double b, double x) {
    WINNOW_CHECK(a > 0.0 && b > 0.0, Errc::InvalidArgument, "incomplete beta: a={} b={} must be positive", a, b);
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                             b * std::log1p(-x);
    const double front = std::exp(log_front);
    if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
    return 1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
    WINNOW_CHECK(df > 0.0, Errc::InvalidArgument, "t distribution: df={} must be positive", df);
    if (std::isnan(t)) return 1.0;
    if (std::isinf(t)) return 0.0;
    return regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

PairedComparison compare_paired(const std::vector<double>& a, const std::vector<double>& b,
                                const PermutationOptions& options) {
    WINNOW_CHECK(a.size() == b.size(), Errc::InvalidArgument, "paired test: {} values against {}", a.size(),
                 b.size());
    PairedComparison r;
    r.n = a.size();
    if (r.n == 0) return r;
    std::vector<double> diff(r.n);
    for (std::size_t i = 0; i < r.n; ++i) {
        r.mean_a += a[i];
        r.mean_b += b[i];
        diff[i] = b[i] - a[i];
        if (diff[i] > kTieEpsilon) {
            ++r.wins;
        } else if (diff[i] < -kTieEpsilon) {
            ++r.losses;
        } else {
            ++r.ties;
        }
    }
    const double n = static_cast<double>(r.n);
    r.mean_a /= n;
    r.mean_b /= n;
    double mean = 0.0;
    for (double d : diff) mean += d;
    mean /= n;
    r.delta = mean;

    if (r.n >= 2) {
        double ss = 0.0;
        for (double d : diff) ss += (d - mean) * (d - mean);
        const double sd = std::sqrt(ss / (n - 1.0));
        if (sd > 0.0) {
            r.t = mean / (sd / std::sqrt(n));
            r.t_p = student_t_two_sided_p(r.t, n - 1.0);
        } else if (std::fabs(mean) > kTieEpsilon) {
            r.t = mean > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
            r.t_p = 0.0;
        }
    }

    // Sign-flip permutation test on the mean difference; p = (hits + 1) / (rounds + 1).
    if (options.rounds > 0) {
        const double observed = std::fabs(mean * n);
        std::mt19937_64 rng(options.seed);
        std::size_t hits = 0;
        for (std::size_t round = 0; round < options.rounds; ++round) {
            double sum = 0.0;
            std::uint64_t bits = 0;
            for (std::size_t i = 0; i < r.n; ++i) {
                if (i % 64 == 0) bits = rng();
                sum += (bits & 1) ? diff[i] : -diff[i];
                bits >>= 1;
            }
            if (std::fabs(sum) >= observed - 1e-9) ++hits;
        }
        r.permutation_p = static_cast<double>(hits + 1) / static_cast<double>(options.rounds + 1);
    }
    return r;
}

}  // namespace winnow::eval

namespace winnow::eval {
namespace {

std::ptrdiff_t measure_index(const EvalResult& r, std::string_view name) {
    for (std::size_t i = 0; i < r.measures.size(); ++i) {
        if (r.measures[i].name() == name) return static_cast<std::ptrdiff_t>(i);
    }
    return -1;
}

}  // namespace

std::vector<MeasureComparison> compare_results(const EvalResult& a, const EvalResult& b,
                                               const PermutationOptions& options) {
    std::vector<MeasureComparison> out;
    for (std::size_t ia = 0; ia < a.measures.size(); ++ia) {
        const std::string name = a.measures[ia].name();
        const auto ib = measure_index(b, name);
        if (ib < 0 || a.measures[ia].is_sum()) continue;
        std::vector<double> va;
        std::vector<double> vb;
        for (const auto& [qid, values] : a.per_query) {
            auto it = b.per_query.find(qid);
            if (it == b.per_query.end()) continue;
            va.push_back(values[ia]);
            vb.push_back(it->second[static_cast<std::size_t>(ib)]);
        }
        out.push_back({name, compare_paired(va, vb, options)});
    }
    return out;
}

std::vector<std::pair<std::string, double>> per_query_deltas(const EvalResult& a, const EvalResult& b,
                                                             std::string_view measure) {
    const auto ia = measure_index(a, measure);
    const auto ib = measure_index(b, measure);
    WINNOW_CHECK(ia >= 0 && ib >= 0, Errc::NotFound, "measure '{}' is not in both results", measure);
    std::vector<std::pair<std::string, double>> out;
    for (const auto& [qid, values] : a.per_query) {
        auto it = b.per_query.find(qid);
        if (it == b.per_query.end()) continue;
        out.emplace_back(qid, it->second[static_cast<std::size_t>(ib)] - values[static_cast<std::size_t>(ia)]);
    }
    return out;
}

}  // namespace winnow::eval
