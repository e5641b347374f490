// LambdaMART through XGBoost: DMatrix with query groups, one boosting round at a time with the
// validation metric read back after each, early stopping, the model sliced to the best round.
//
// The gradients and the metric are computed here, not by XGBoost's rank:ndcg objective and ndcg
// metric, so that the model does not depend on the thread count. XGBoost 1.7 samples its pairs
// from one RNG per OpenMP thread, all seeded alike, so which queries share a random stream (and
// hence the pairs, the trees and the model) changed with --threads; and its histograms add
// gradients in an order that depends on how rows are split between threads. Here every query's
// gradients are computed in order with a generator seeded by (seed, round, query), row
// subsampling is a seeded per-(round, row) coin, and gradients and hessians are rounded to
// multiples of 2^-18 so that every sum XGBoost forms of them (in doubles) is exact, whatever the
// order. XGBoost itself then only grows trees (tree_method hist) and keeps its JSON format.
#include "ltr/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "ltr/xgb_check.h"

namespace winnow::ltr {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void make_matrix(const TrainingData& data, DMatrix& m) {
    WINNOW_XGB(XGDMatrixCreateFromMat(data.x.data(), data.n_rows(), data.n_features,
                                      std::numeric_limits<float>::quiet_NaN(), &m.handle));
    WINNOW_XGB(XGDMatrixSetFloatInfo(m.handle, "label", data.labels.data(), data.n_rows()));
    WINNOW_XGB(XGDMatrixSetUIntInfo(m.handle, "group", data.group_sizes.data(), data.group_sizes.size()));
}

// "ndcg@10" -> 10; other metrics are refused.
std::size_t ndcg_cutoff(const std::string& metric) {
    std::size_t k = 0;
    const bool ok = metric.rfind("ndcg@", 0) == 0 && metric.size() > 5 &&
                    std::all_of(metric.begin() + 5, metric.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (ok) k = static_cast<std::size_t>(std::strtoul(metric.c_str() + 5, nullptr, 10));
    WINNOW_CHECK(ok && k > 0, Errc::InvalidArgument, "ltr: metric '{}' is not supported (ndcg@K)", metric);
    return k;
}

double gain(float label) { return std::exp2(static_cast<double>(label)) - 1.0; }
double discount(std::size_t position) { return 1.0 / std::log2(static_cast<double>(position) + 2.0); }

// Mean ndcg@k over the queries (ties in the prediction keep row order; a query without any
// relevant row counts 1, as XGBoost's ndcg does).
double mean_ndcg(const TrainingData& d, const float* pred, std::size_t k) {
    double sum = 0.0;
    std::size_t begin = 0;
    std::vector<std::size_t> order;
    std::vector<float> ideal;
    for (unsigned size : d.group_sizes) {
        order.resize(size);
        for (std::size_t i = 0; i < size; ++i) order[i] = begin + i;
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return pred[a] > pred[b]; });
        ideal.assign(d.labels.begin() + static_cast<std::ptrdiff_t>(begin),
                     d.labels.begin() + static_cast<std::ptrdiff_t>(begin + size));
        std::sort(ideal.begin(), ideal.end(), std::greater<>());
        double dcg = 0.0, idcg = 0.0;
        for (std::size_t i = 0; i < std::min<std::size_t>(k, size); ++i) {
            dcg += gain(d.labels[order[i]]) * discount(i);
            idcg += gain(ideal[i]) * discount(i);
        }
        sum += idcg > 0.0 ? dcg / idcg : 1.0;
        begin += size;
    }
    return d.n_queries() ? sum / static_cast<double>(d.n_queries()) : 0.0;
}

// Gradients and hessians are multiples of 2^-18 below 2^6 in magnitude: exact in a float (24-bit
// significand), and any sum of up to 2^29 of them exact in a double, in any order.
constexpr double kQuantum = 1.0 / 262144.0;
constexpr double kLimit = 63.0;
float quantize(double v) {
    return static_cast<float>(std::nearbyint(std::clamp(v, -kLimit, kLimit) / kQuantum) * kQuantum);
}

// One round's LambdaMART gradients of NDCG (all pairs of rows with different grades in a query,
// each weighted by the |change in NDCG| of swapping the two in the current ranking, sigma 1) for
// the rows kept by this round's subsample; dropped rows get zero. Ties in the current scores are
// broken by a seeded shuffle (round 0 scores every row alike).
void lambda_gradients(const TrainingData& d, const float* pred, const TrainOptions& options, std::size_t round,
                      std::vector<float>& grad, std::vector<float>& hess) {
    const std::size_t n = d.n_rows();
    std::vector<double> g(n, 0.0), h(n, 0.0);
    std::vector<std::size_t> order;
    std::vector<std::uint64_t> tie;
    std::vector<std::size_t> position(n, 0);
    std::vector<std::size_t> by_grade;
    std::vector<float> ideal;
    std::size_t begin = 0;
    for (std::size_t q = 0; q < d.n_queries(); ++q) {
        const std::size_t size = d.group_sizes[q];
        std::uint64_t state = options.seed ^ (0x51ED27ull * (round + 1)) ^ (0x9E3779B1ull * (q + 1));
        order.resize(size);
        tie.resize(size);
        for (std::size_t i = 0; i < size; ++i) {
            order[i] = begin + i;
            tie[i] = splitmix64(state);
        }
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            if (pred[a] != pred[b]) return pred[a] > pred[b];
            return tie[a - begin] < tie[b - begin];
        });
        for (std::size_t i = 0; i < size; ++i) position[order[i]] = i;
        ideal.assign(d.labels.begin() + static_cast<std::ptrdiff_t>(begin),
                     d.labels.begin() + static_cast<std::ptrdiff_t>(begin + size));
        std::sort(ideal.begin(), ideal.end(), std::greater<>());
        double idcg = 0.0;
        for (std::size_t i = 0; i < size; ++i) idcg += gain(ideal[i]) * discount(i);
        if (idcg > 0.0) {
            // Rows by grade, best first: each row pairs with the rows after the end of its grade.
            by_grade.resize(size);
            for (std::size_t i = 0; i < size; ++i) by_grade[i] = begin + i;
            std::stable_sort(by_grade.begin(), by_grade.end(),
                             [&](std::size_t x, std::size_t y) { return d.labels[x] > d.labels[y]; });
            std::size_t lower = 0;  // first position in by_grade with a lower grade than by_grade[i]
            for (std::size_t i = 0; i < size; ++i) {
                const std::size_t a = by_grade[i];
                if (lower <= i) lower = i + 1;
                while (lower < size && d.labels[by_grade[lower]] >= d.labels[a]) ++lower;
                for (std::size_t j = lower; j < size; ++j) {
                    const std::size_t b = by_grade[j];  // a is the better row of the pair
                    const double delta = std::abs((gain(d.labels[a]) - gain(d.labels[b])) *
                                                  (discount(position[a]) - discount(position[b]))) / idcg;
                    const double p = 1.0 / (1.0 + std::exp(static_cast<double>(pred[a]) - pred[b]));
                    const double w = std::max(p * (1.0 - p), 1e-16) * 2.0 * delta;
                    g[a] -= p * delta;
                    g[b] += p * delta;
                    h[a] += w;
                    h[b] += w;
                }
            }
        }
        begin += size;
    }
    grad.resize(n);
    hess.resize(n);
    std::uint64_t coin = options.seed * 0x2545F4914F6CDD1Dull + round;
    const bool all = options.subsample >= 1.0;
    // Below 2^64 for a subsample below 1 (checked by the caller: in (0, 1]).
    const auto threshold = all ? 0 : static_cast<std::uint64_t>(options.subsample * 18446744073709551616.0);
    for (std::size_t i = 0; i < n; ++i) {
        const bool kept = all || splitmix64(coin) < threshold;
        grad[i] = kept ? quantize(g[i]) : 0.0f;
        hess[i] = kept ? quantize(h[i]) : 0.0f;
    }
}

// The booster's margin for every row of `m` (the prediction cache makes the training matrix's cheap).
const float* predict(const Booster& booster, const DMatrix& m, std::size_t rows, bool training) {
    bst_ulong len = 0;
    const float* out = nullptr;
    WINNOW_XGB(XGBoosterPredict(booster.handle, m.handle, 1, 0, training ? 1 : 0, &len, &out));
    WINNOW_CHECK(len == rows, Errc::Internal, "xgboost: {} predictions for {} rows", len, rows);
    return out;
}

std::string num(double v) { return fmt::format("{}", v); }

}  // namespace

void TrainingData::add_query(const std::string& qid, const std::vector<float>& features,
                             const std::vector<float>& query_labels, const std::vector<std::string>& query_doc_ids) {
    WINNOW_CHECK(n_features > 0, Errc::InvalidArgument, "ltr: training data without a feature count");
    WINNOW_CHECK(features.size() == query_labels.size() * n_features, Errc::InvalidArgument,
                 "ltr: query {}: {} feature values for {} rows of {}", qid, features.size(), query_labels.size(), n_features);
    WINNOW_CHECK(query_doc_ids.size() == query_labels.size(), Errc::InvalidArgument, "ltr: query {}: {} ids for {} rows",
                 qid, query_doc_ids.size(), query_labels.size());
    if (query_labels.empty()) return;
    x.insert(x.end(), features.begin(), features.end());
    labels.insert(labels.end(), query_labels.begin(), query_labels.end());
    doc_ids.insert(doc_ids.end(), query_doc_ids.begin(), query_doc_ids.end());
    group_sizes.push_back(static_cast<unsigned>(query_labels.size()));
    qids.push_back(qid);
}

TrainingData TrainingData::subset(const std::vector<std::size_t>& groups) const {
    std::vector<std::size_t> start(group_sizes.size() + 1, 0);
    for (std::size_t g = 0; g < group_sizes.size(); ++g) start[g + 1] = start[g] + group_sizes[g];
    TrainingData out;
    out.n_features = n_features;
    for (std::size_t g : groups) {
        WINNOW_ASSERT(g < group_sizes.size());
        const std::size_t b = start[g], e = start[g + 1];
        out.x.insert(out.x.end(), x.begin() + b * n_features, x.begin() + e * n_features);
        out.labels.insert(out.labels.end(), labels.begin() + b, labels.begin() + e);
        out.doc_ids.insert(out.doc_ids.end(), doc_ids.begin() + b, doc_ids.begin() + e);
        out.group_sizes.push_back(group_sizes[g]);
        out.qids.push_back(qids[g]);
    }
    return out;
}

std::vector<std::size_t> seeded_permutation(std::size_t n, std::uint64_t seed) {
    std::vector<std::size_t> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = i;
    std::uint64_t state = seed;
    for (std::size_t i = n; i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(splitmix64(state) % i);
        std::swap(p[i - 1], p[j]);
    }
    return p;
}

std::pair<TrainingData, TrainingData> split_by_query(const TrainingData& data, double fraction, std::uint64_t seed) {
    WINNOW_CHECK(fraction > 0.0 && fraction < 1.0, Errc::InvalidArgument,
                 "ltr: the validation fraction must be in (0, 1), not {}", fraction);
    const std::size_t n = data.n_queries();
    std::size_t n_valid = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
    if (n >= 2) n_valid = std::clamp<std::size_t>(n_valid, 1, n - 1);
    else n_valid = 0;
    std::vector<std::size_t> perm = seeded_permutation(n, seed);
    std::vector<std::size_t> valid(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(n_valid));
    std::vector<std::size_t> train(perm.begin() + static_cast<std::ptrdiff_t>(n_valid), perm.end());
    std::sort(valid.begin(), valid.end());
    std::sort(train.begin(), train.end());
    return {data.subset(train), data.subset(valid)};
}

TrainResult train_lambdamart(const TrainingData& data, const TrainOptions& options) {
    WINNOW_CHECK(data.n_queries() >= 2, Errc::InvalidArgument,
                 "ltr: training needs at least two queries with candidates, got {}", data.n_queries());
    auto [train, valid] = split_by_query(data, options.valid_fraction, options.seed);
    return train_lambdamart(train, valid, options);
}

TrainResult train_lambdamart(const TrainingData& train, const TrainingData& valid, const TrainOptions& options) {
    WINNOW_CHECK(train.n_queries() >= 1 && valid.n_queries() >= 1, Errc::InvalidArgument,
                 "ltr: training needs training and validation queries ({} and {})", train.n_queries(), valid.n_queries());
    WINNOW_CHECK(std::any_of(train.labels.begin(), train.labels.end(), [](float l) { return l > 0.0f; }),
                 Errc::InvalidArgument, "ltr: no relevant candidate in the training data (check the judgments and k)");
    WINNOW_CHECK(options.max_rounds >= 1, Errc::InvalidArgument, "ltr: max_rounds must be at least 1");
    WINNOW_CHECK(options.subsample > 0.0 && options.subsample <= 1.0, Errc::InvalidArgument,
                 "ltr: subsample must be in (0, 1], not {}", options.subsample);
    const std::size_t k = ndcg_cutoff(options.metric);
    DMatrix dtrain, dvalid;
    make_matrix(train, dtrain);
    make_matrix(valid, dvalid);
    Booster booster;
    DMatrixHandle cache[] = {dtrain.handle, dvalid.handle};
    WINNOW_XGB(XGBoosterCreate(cache, 2, &booster.handle));
    auto set = [&](const char* key, const std::string& value) { WINNOW_XGB(XGBoosterSetParam(booster.handle, key, value.c_str())); };
    set("objective", "rank:ndcg");  // the model's type; the gradients come from lambda_gradients
    set("tree_method", "hist");
    set("seed", std::to_string(options.seed));
    set("nthread", std::to_string(std::max(1, options.threads)));
    set("eta", num(options.eta));
    set("max_depth", std::to_string(options.max_depth));
    set("min_child_weight", num(options.min_child_weight));
    set("subsample", "1");  // rows are subsampled in lambda_gradients
    set("colsample_bytree", num(options.colsample_bytree));
    set("lambda", num(options.lambda));
    set("verbosity", "0");

    TrainResult result;
    result.train_queries = train.n_queries();
    result.valid_queries = valid.n_queries();
    result.train_rows = train.n_rows();
    result.valid_rows = valid.n_rows();
    double best = -1.0;
    std::vector<float> grad, hess;
    for (std::size_t round = 0; round < options.max_rounds; ++round) {
        lambda_gradients(train, predict(booster, dtrain, train.n_rows(), true), options, round, grad, hess);
        WINNOW_XGB(XGBoosterBoostOneIter(booster.handle, dtrain.handle, grad.data(), hess.data(), grad.size()));
        const double v = mean_ndcg(valid, predict(booster, dvalid, valid.n_rows(), false), k);
        result.valid_curve.push_back(v);
        result.rounds_run = round + 1;
        if (v > best + 1e-12) {
            best = v;
            result.best_round = round + 1;
            result.valid_metric = v;
            result.train_metric = mean_ndcg(train, predict(booster, dtrain, train.n_rows(), true), k);
        } else if (round + 1 - result.best_round >= options.early_stopping) {
            break;
        }
    }
    Booster sliced;
    WINNOW_XGB(XGBoosterSlice(booster.handle, 0, static_cast<int>(result.best_round), 1, &sliced.handle));
    bst_ulong len = 0;
    const char* bytes = nullptr;
    WINNOW_XGB(XGBoosterSaveModelToBuffer(sliced.handle, R"({"format": "json"})", &len, &bytes));
    result.model_json.assign(bytes, len);
    return result;
}

}  // namespace winnow::ltr
