// End to end on a tiny generated BEIR collection: train-ltr's training (model + sidecar) and
// cross-validation, then the `ltr(model=...)` stage inside a pipeline over the collection's index.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/json.h"
#include "core/mmap_file.h"
#include "eval/harness.h"
#include "ltr/features.h"
#include "ltr/ltr_model.h"
#include "ltr/train_command.h"
#include "winnow/error.h"
#include "winnow/index.h"
#include "winnow/ltr.h"
#include "winnow/pipeline.h"

using namespace winnow;
namespace fs = std::filesystem;

namespace {

// 60 documents over 40 words; 30 queries of 2 words; a document is relevant (grade 1) when its
// title has a query word and grade 2 when its title has both.
class TinyCollection : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        root_ = fs::temp_directory_path() / ("winnow_ltr_stage_" + std::to_string(::getpid()));
        fs::remove_all(root_);
        write_collection(root_ / "tiny", 11);
        write_collection(root_ / "tiny2", 12);  // a second collection for leave-one-out
    }
    static void write_collection(const fs::path& dir, unsigned seed) {
        fs::create_directories(dir / "qrels");
        std::mt19937 rng(seed);
        auto word = [&] { return "w" + std::to_string(rng() % 40); };
        std::vector<std::vector<std::string>> titles;
        std::ofstream corpus(dir / "corpus.jsonl");
        for (int d = 0; d < 60; ++d) {
            std::vector<std::string> t = {word(), word()};
            std::string text;
            const int n = 6 + static_cast<int>(rng() % 14);
            for (int i = 0; i < n; ++i) text += word() + " ";
            titles.push_back(t);
            corpus << Json{{"_id", "d" + std::to_string(d)}, {"title", t[0] + " " + t[1]}, {"text", text}}.dump() << "\n";
        }
        std::ofstream queries(dir / "queries.jsonl");
        std::ofstream qrels(dir / "qrels" / "train.tsv");
        qrels << "query-id\tcorpus-id\tscore\n";
        for (int q = 0; q < 30; ++q) {
            const std::string a = word(), b = word();
            queries << Json{{"_id", "q" + std::to_string(q)}, {"text", a + " " + b}}.dump() << "\n";
            for (int d = 0; d < 60; ++d) {
                const auto& t = titles[d];
                const int grade = (std::count(t.begin(), t.end(), a) > 0) + (std::count(t.begin(), t.end(), b) > 0);
                if (grade > 0) qrels << "q" << q << "\td" << d << "\t" << grade << "\n";
            }
        }
    }
    static void TearDownTestSuite() { fs::remove_all(root_); }

    static ltr::TrainRequest request() {
        ltr::TrainRequest r;
        r.datasets = {(root_ / "tiny").string()};
        r.split = "train";
        r.pipeline = "bm25(k=20)";
        r.cache_dir = (root_ / "cache").string();
        r.train.max_rounds = 30;
        r.train.early_stopping = 10;
        r.train.eta = 0.3;
        r.command_line = "winnow train-ltr (test)";
        return r;
    }

    static fs::path root_;
};
fs::path TinyCollection::root_;

}  // namespace

TEST_F(TinyCollection, TrainWritesModelAndSidecarDeterministically) {
    ltr::TrainRequest r = request();
    r.out = (root_ / "a.ltr").string();
    const Json sidecar = ltr::run_training(r);
    ASSERT_TRUE(fs::exists(r.out));
    ASSERT_TRUE(fs::exists(ltr::sidecar_path(r.out)));
    const Json on_disk = load_json_file(ltr::sidecar_path(r.out));
    EXPECT_EQ(on_disk, sidecar);
    EXPECT_EQ(sidecar["features"].size(), ltr::kFeatureCount);
    EXPECT_EQ(sidecar["features"][0]["name"], "bm25_chunk");
    EXPECT_EQ(sidecar["training"]["datasets"][0]["name"], "tiny");
    EXPECT_EQ(sidecar["training"]["datasets"][0]["split"], "train");
    EXPECT_GT(sidecar["training"]["valid_queries"].get<int>(), 0);
    EXPECT_GE(sidecar["metrics"]["best_round"].get<int>(), 1);
    EXPECT_EQ(sidecar["command"], "winnow train-ltr (test)");
    EXPECT_EQ(sidecar["params"]["objective"], "rank:ndcg");
    // Same seed, same model.
    r.out = (root_ / "b.ltr").string();
    ltr::run_training(r);
    EXPECT_EQ(read_file((root_ / "a.ltr").string()), read_file((root_ / "b.ltr").string()));
    EXPECT_NO_THROW(ltr::LtrModel::load((root_ / "a.ltr").string()));
}

TEST_F(TinyCollection, CrossValidationComparesAgainstTheFirstStage) {
    ltr::TrainRequest r = request();
    r.cv_folds = 3;
    const Json report = ltr::run_cross_validation(r);
    ASSERT_EQ(report["datasets"].size(), 1u);
    const Json& d = report["datasets"][0];
    EXPECT_EQ(d["fold_models"].size(), 3u);
    const Json& ndcg = d["measures"]["ndcg_cut_10"];
    EXPECT_GE(ndcg["first"].get<double>(), 0.0);
    EXPECT_NEAR(ndcg["delta"].get<double>(), ndcg["ltr"].get<double>() - ndcg["first"].get<double>(), 1e-9);
    EXPECT_EQ(ndcg["wins"].get<int>() + ndcg["ties"].get<int>() + ndcg["losses"].get<int>(), d["queries"].get<int>());
    // Relevance here is about titles, which the ltr features see and BM25 on "title text" blurs.
    EXPECT_GT(ndcg["ltr"].get<double>(), ndcg["first"].get<double>());
    EXPECT_NE(ltr::format_cross_validation(report).find("ndcg_cut_10"), std::string::npos);
    r.cv_folds = 100;
    EXPECT_THROW(ltr::run_cross_validation(r), Error);
}

TEST_F(TinyCollection, LeaveOneCollectionOutTrainsOnTheOthers) {
    ltr::TrainRequest r = request();
    EXPECT_THROW(ltr::run_leave_one_out(r), Error);  // one dataset: nothing to leave out
    r.datasets.push_back((root_ / "tiny2").string());
    r.out = (root_ / "loo.json").string();
    const Json report = ltr::run_leave_one_out(r);
    EXPECT_EQ(report["mode"], "leave-one-out");
    EXPECT_EQ(load_json_file(r.out), report);
    ASSERT_EQ(report["datasets"].size(), 2u);
    double first = 0, ltr_sum = 0;
    for (std::size_t i = 0; i < 2; ++i) {
        const Json& d = report["datasets"][i];
        EXPECT_EQ(d["dataset"], i == 0 ? "tiny" : "tiny2");
        ASSERT_EQ(d["trained_on"].size(), 1u);
        EXPECT_EQ(d["trained_on"][0], i == 0 ? "tiny2" : "tiny");  // never its own judgments
        EXPECT_GE(d["best_round"].get<int>(), 1);
        const Json& ndcg = d["measures"]["ndcg_cut_10"];
        EXPECT_EQ(ndcg["wins"].get<int>() + ndcg["ties"].get<int>() + ndcg["losses"].get<int>(), d["queries"].get<int>());
        first += ndcg["first"].get<double>();
        ltr_sum += ndcg["ltr"].get<double>();
    }
    const Json& mean = report["mean"]["ndcg_cut_10"];
    EXPECT_NEAR(mean["first"].get<double>(), first / 2, 1e-12);
    EXPECT_NEAR(mean["delta"].get<double>(), (ltr_sum - first) / 2, 1e-12);
    // Both collections judge by title words: a model from one transfers to the other.
    EXPECT_GT(mean["delta"].get<double>(), 0.0);
    EXPECT_NE(ltr::format_cross_validation(report).find("mean over collections"), std::string::npos);
}

TEST_F(TinyCollection, LtrStageInAPipeline) {
    ltr::TrainRequest r = request();
    r.out = (root_ / "stage.ltr").string();
    ltr::run_training(r);
    ltr::register_stages();
    ASSERT_TRUE(has_scorer("ltr"));
    const eval::Dataset ds = eval::load_dataset((root_ / "tiny").string());
    const std::string index_dir = eval::open_dataset_index(ds, r.cache_dir, false)->dir();

    const Pipeline pipeline = Pipeline::open_index(index_dir, PipelineSpec::parse("bm25(k=20) > ltr(model=\"" + r.out + "\")"));
    const std::string query = ds.queries.front().text;
    const PipelineResult res = pipeline.run(query);
    EXPECT_NE(res.spec.find("index="), std::string::npos);
    EXPECT_EQ(res.scorer, "ltr(" + r.out + ")");
    ASSERT_FALSE(res.hits.empty());
    EXPECT_EQ(res.n_reranked, res.hits.size() + res.cut.size());
    for (std::size_t i = 1; i < res.hits.size(); ++i) EXPECT_GE(*res.hits[i - 1].rerank_raw, *res.hits[i].rerank_raw);

    // The stage's scores are the model's predictions over the features of the first-stage list.
    std::vector<const PipelineHit*> by_rank;
    for (const auto& h : res.hits) by_rank.push_back(&h);
    for (const auto& h : res.cut) by_rank.push_back(&h);
    std::sort(by_rank.begin(), by_rank.end(), [](auto* a, auto* b) { return a->first_stage_rank < b->first_stage_rank; });
    std::vector<Candidate> cands;
    for (const auto* h : by_rank) {
        Candidate c = h->candidate;
        c.score = h->first_stage_score;
        cands.push_back(std::move(c));
    }
    const ltr::FeatureExtractor fx(ltr::CorpusStats::open_index(index_dir));
    const auto x = fx.extract(query, cands);
    const auto y = ltr::LtrModel::load(r.out)->predict(x.data(), cands.size());
    for (std::size_t i = 0; i < cands.size(); ++i) EXPECT_FLOAT_EQ(*by_rank[i]->rerank_raw, y[i]) << i;

    // A missing model is a clear error naming it.
    const Pipeline bad = Pipeline::open_index(index_dir, PipelineSpec::parse("bm25(k=5) > ltr(model=/nonexistent.ltr)"));
    EXPECT_THROW(bad.run(query), Error);
}
