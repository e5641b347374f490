// LambdaMART through XGBoost: DMatrix with query groups, one boosting round at a time with the
// validation metric read back after each, early stopping, the model sliced to the best round.
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

// "[3]\ttrain-ndcg@10:0.51\tvalid-ndcg@10:0.49" -> the value of `name` ("valid-ndcg@10").
double metric_value(const char* text, const std::string& name) {
    const std::string s(text);
    const auto at = s.find(name + ":");
    WINNOW_CHECK(at != std::string::npos, Errc::Internal, "xgboost: no {} metric in \"{}\"", name, s);
    return std::strtod(s.c_str() + at + name.size() + 1, nullptr);
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
    DMatrix dtrain, dvalid;
    make_matrix(train, dtrain);
    make_matrix(valid, dvalid);
    Booster booster;
    DMatrixHandle cache[] = {dtrain.handle, dvalid.handle};
    WINNOW_XGB(XGBoosterCreate(cache, 2, &booster.handle));
    auto set = [&](const char* key, const std::string& value) { WINNOW_XGB(XGBoosterSetParam(booster.handle, key, value.c_str())); };
    set("objective", "rank:ndcg");
    set("eval_metric", options.metric);
    set("tree_method", "hist");
    set("seed", std::to_string(options.seed));
    set("nthread", std::to_string(std::max(1, options.threads)));
    set("eta", num(options.eta));
    set("max_depth", std::to_string(options.max_depth));
    set("min_child_weight", num(options.min_child_weight));
    set("subsample", num(options.subsample));
    set("colsample_bytree", num(options.colsample_bytree));
    set("lambda", num(options.lambda));
    set("verbosity", "0");

    TrainResult result;
    result.train_queries = train.n_queries();
    result.valid_queries = valid.n_queries();
    result.train_rows = train.n_rows();
    result.valid_rows = valid.n_rows();
    double best = -1.0;
    const char* names[] = {"train", "valid"};
    for (std::size_t round = 0; round < options.max_rounds; ++round) {
        WINNOW_XGB(XGBoosterUpdateOneIter(booster.handle, static_cast<int>(round), dtrain.handle));
        const char* text = nullptr;
        WINNOW_XGB(XGBoosterEvalOneIter(booster.handle, static_cast<int>(round), cache, names, 2, &text));
        const double v = metric_value(text, std::string("valid-") + options.metric);
        result.valid_curve.push_back(v);
        result.rounds_run = round + 1;
        if (v > best + 1e-12) {
            best = v;
            result.best_round = round + 1;
            result.valid_metric = v;
            result.train_metric = metric_value(text, std::string("train-") + options.metric);
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
