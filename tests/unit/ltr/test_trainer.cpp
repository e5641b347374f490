// LambdaMART training on small synthetic data: it learns, it is deterministic, splits are by query.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include "core/atomic_file.h"
#include "ltr/ltr_model.h"
#include "ltr/trainer.h"
#include "winnow/error.h"

using namespace winnow;
using namespace winnow::ltr;

namespace {

// 3 features: f0 decides the grade, f1 is noise, f2 is weakly related.
TrainingData synthetic(std::size_t n_queries, std::size_t per_query, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    TrainingData d;
    d.n_features = 3;
    for (std::size_t q = 0; q < n_queries; ++q) {
        std::vector<float> x, y;
        std::vector<std::string> ids;
        for (std::size_t i = 0; i < per_query; ++i) {
            const float f0 = u(rng), f1 = u(rng);
            const float grade = f0 > 0.8f ? 2.0f : f0 > 0.5f ? 1.0f : 0.0f;
            x.insert(x.end(), {f0, f1, grade * 0.2f + u(rng)});
            y.push_back(grade);
            ids.push_back("d" + std::to_string(i));
        }
        d.add_query("q" + std::to_string(q), x, y, ids);
    }
    return d;
}

TrainOptions fast_options() {
    TrainOptions o;
    o.max_rounds = 40;
    o.early_stopping = 10;
    o.eta = 0.3;
    o.max_depth = 3;
    return o;
}

std::filesystem::path temp_dir(const std::string& name) {
    auto p = std::filesystem::temp_directory_path() / ("winnow_ltr_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    return p;
}

}  // namespace

TEST(LtrTrainer, SplitByQueryIsSeededAndDisjoint) {
    const TrainingData d = synthetic(20, 5, 1);
    auto [train, valid] = split_by_query(d, 0.25, 7);
    EXPECT_EQ(valid.n_queries(), 5u);
    EXPECT_EQ(train.n_queries(), 15u);
    EXPECT_EQ(train.n_rows() + valid.n_rows(), d.n_rows());
    std::set<std::string> t(train.qids.begin(), train.qids.end());
    for (const auto& q : valid.qids) EXPECT_FALSE(t.count(q)) << q;
    auto [train2, valid2] = split_by_query(d, 0.25, 7);
    EXPECT_EQ(valid.qids, valid2.qids);
    EXPECT_EQ(valid.x, valid2.x);
    auto [train3, valid3] = split_by_query(d, 0.25, 8);
    EXPECT_NE(valid.qids, valid3.qids);
    EXPECT_EQ(seeded_permutation(10, 3), seeded_permutation(10, 3));
    EXPECT_THROW(split_by_query(d, 1.5, 1), Error);
}

TEST(LtrTrainer, LearnsTheInformativeFeature) {
    const TrainResult r = train_lambdamart(synthetic(40, 12, 2), fast_options());
    EXPECT_GE(r.best_round, 1u);
    EXPECT_LE(r.best_round, r.rounds_run);
    EXPECT_EQ(r.valid_curve.size(), r.rounds_run);
    EXPECT_GT(r.valid_metric, 0.8);
    const LtrModel model(r.model_json, {"f0", "f1", "f2"});
    // Held-out rows: a high f0 must outscore a low one whatever the noise.
    const std::vector<float> rows = {0.95f, 0.1f, 0.5f, 0.05f, 0.9f, 0.5f};
    const auto y = model.predict(rows.data(), 2);
    EXPECT_GT(y[0], y[1]);
}

TEST(LtrTrainer, DeterministicWithAFixedSeed) {
    const TrainingData d = synthetic(24, 8, 3);
    for (int threads : {1, 2}) {
        TrainOptions o = fast_options();
        o.max_rounds = 20;
        o.threads = threads;
        const TrainResult a = train_lambdamart(d, o);
        const TrainResult b = train_lambdamart(d, o);
        EXPECT_EQ(a.best_round, b.best_round);
        EXPECT_EQ(a.model_json, b.model_json);
        const LtrModel ma(a.model_json, {"f0", "f1", "f2"}), mb(b.model_json, {"f0", "f1", "f2"});
        EXPECT_EQ(ma.predict(d.x.data(), d.n_rows()), mb.predict(d.x.data(), d.n_rows()));
    }
}

// The thread count must not change the model: XGBoost's own rank:ndcg objective samples pairs from
// one RNG per OpenMP thread and its histograms add in a thread-dependent order, so before the
// trainer computed the gradients itself, 1 and 2 threads gave different trees here. Enough rows
// (300 queries x 40) that XGBoost splits the work between both threads.
TEST(LtrTrainer, ThreadCountDoesNotChangeTheModel) {
    const TrainingData d = synthetic(300, 40, 11);
    TrainOptions o = fast_options();
    o.max_rounds = 30;
    o.eta = 0.1;
    o.max_depth = 5;
    o.threads = 1;
    const TrainResult one = train_lambdamart(d, o);
    o.threads = 2;
    const TrainResult two = train_lambdamart(d, o);
    EXPECT_EQ(one.best_round, two.best_round);
    EXPECT_EQ(one.valid_curve, two.valid_curve);
    EXPECT_TRUE(one.model_json == two.model_json) << "the models differ between --threads 1 and 2";
}

TEST(LtrTrainer, RejectsUnusableData) {
    EXPECT_THROW(train_lambdamart(synthetic(1, 5, 4), fast_options()), Error);
    TrainingData zeros;
    zeros.n_features = 1;
    zeros.add_query("a", {0.1f, 0.2f}, {0.0f, 0.0f}, {"x", "y"});
    zeros.add_query("b", {0.1f, 0.2f}, {0.0f, 0.0f}, {"x", "y"});
    EXPECT_THROW(train_lambdamart(zeros, fast_options()), Error);
    EXPECT_THROW(zeros.add_query("c", {0.1f}, {0.0f, 1.0f}, {"x", "y"}), Error);
}

TEST(LtrModelFile, LoadChecksTheSidecar) {
    const auto dir = temp_dir("model");
    const std::string path = (dir / "m.ltr").string();
    EXPECT_THROW(LtrModel::load(path), Error);
    const TrainResult r = train_lambdamart(synthetic(20, 8, 5), fast_options());
    write_file_atomic(path, r.model_json);
    try {
        LtrModel::load(path);
        FAIL() << "no sidecar";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::NotFound);
    }
    write_file_atomic(sidecar_path(path), R"({"features": [{"name": "f0"}, {"name": "f1"}, {"name": "f2"}]})");
    try {
        LtrModel::load(path);
        FAIL() << "features differ from this build's";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::Unsupported);
    }
    write_file_atomic(sidecar_path(path), R"({"features": 3})");
    EXPECT_THROW(LtrModel::load(path), Error);
    EXPECT_THROW(LtrModel("not a model", {"f0"}), Error);
    std::filesystem::remove_all(dir);
}
