// LambdaMART training: XGBoost's C API grows the trees on NDCG lambda gradients computed here, with
// early stopping on a validation split carved from the training queries; the model is the same,
// byte for byte, for a fixed seed whatever the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace winnow::ltr {

// Rows grouped by query, in query order.
struct TrainingData {
    std::size_t n_features = 0;
    std::vector<float> x;               // row-major
    std::vector<float> labels;          // graded relevance per row
    std::vector<unsigned> group_sizes;  // rows per query
    std::vector<std::string> qids;      // one per group
    std::vector<std::string> doc_ids;   // one per row

    std::size_t n_rows() const noexcept { return labels.size(); }
    std::size_t n_queries() const noexcept { return group_sizes.size(); }
    // Appends one query's rows (row-major features, n_features each).
    void add_query(const std::string& qid, const std::vector<float>& features, const std::vector<float>& query_labels,
                   const std::vector<std::string>& query_doc_ids);
    // The queries at the given group indices, in that order.
    TrainingData subset(const std::vector<std::size_t>& groups) const;
};

// Splits the queries into (train, validation) with `fraction` of them (at least one, when there
// are two or more) in validation, chosen by a seeded shuffle.
std::pair<TrainingData, TrainingData> split_by_query(const TrainingData& data, double fraction, std::uint64_t seed);

// A permutation of 0..n-1 from a seeded Fisher-Yates shuffle (splitmix64; identical everywhere).
std::vector<std::size_t> seeded_permutation(std::size_t n, std::uint64_t seed);

struct TrainOptions {
    std::uint64_t seed = 42;
    int threads = 1;
    std::size_t max_rounds = 500;
    std::size_t early_stopping = 50;  // rounds without a better validation score before stopping
    double valid_fraction = 0.2;
    double eta = 0.05;
    int max_depth = 4;
    double min_child_weight = 1.0;
    double subsample = 0.8;
    double colsample_bytree = 0.8;
    double lambda = 1.0;
    std::string metric = "ndcg@10";  // ndcg@K only
};

struct TrainResult {
    std::string model_json;     // XGBoost's JSON model, sliced to the best iteration
    std::size_t best_round = 0; // 1-based number of trees kept
    std::size_t rounds_run = 0;
    double valid_metric = 0.0;  // at best_round
    double train_metric = 0.0;  // at best_round
    std::size_t train_queries = 0, valid_queries = 0, train_rows = 0, valid_rows = 0;
    std::vector<double> valid_curve;  // validation metric after each round
};

// Trains on `data`, carving the validation split from it. Throws Error(InvalidArgument) when
// there are fewer than two queries or no graded row.
TrainResult train_lambdamart(const TrainingData& data, const TrainOptions& options);
// Trains on explicit train/validation sets.
TrainResult train_lambdamart(const TrainingData& train, const TrainingData& valid, const TrainOptions& options);

}  // namespace winnow::ltr
