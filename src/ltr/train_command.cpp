// `winnow train-ltr`: training and cross-validation over test collections.
#include "ltr/train_command.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <xgboost/c_api.h>

#include "core/atomic_file.h"
#include "eval/significance.h"
#include "eval/sweep.h"
#include "ltr/features.h"
#include "ltr/ltr_model.h"
#include "ltr/training_set.h"
#include "winnow/error.h"
#include "winnow/eval.h"
#include "winnow/pipeline.h"

namespace winnow::ltr {
namespace {

const std::vector<std::string> kCvMeasures = {"ndcg_cut_10", "P_10", "map", "recip_rank"};

PipelineSpec checked_spec(const std::string& text) {
    PipelineSpec spec = PipelineSpec::parse(text);
    for (const auto& st : spec.stages) {
        WINNOW_CHECK(st.name == spec.stages.front().name || st.name == "ltr", Errc::InvalidArgument,
                     "train-ltr: --pipeline takes a first stage and optionally ltr(embed_model=..., rerank_model=...), "
                     "not '{}'", st.name);
    }
    return spec;
}

CollectionOptions collection_options(const TrainRequest& r) {
    CollectionOptions o;
    o.cache_dir = r.cache_dir;
    o.index_dir = r.index_dir;
    o.progress = r.progress;
    return o;
}

Json options_json(const TrainOptions& o) {
    return Json{{"objective", "rank:ndcg"}, {"eval_metric", o.metric}, {"tree_method", "hist"},
                {"seed", o.seed}, {"nthread", o.threads}, {"max_rounds", o.max_rounds},
                {"early_stopping_rounds", o.early_stopping}, {"valid_fraction", o.valid_fraction}, {"eta", o.eta},
                {"max_depth", o.max_depth}, {"min_child_weight", o.min_child_weight}, {"subsample", o.subsample},
                {"colsample_bytree", o.colsample_bytree}, {"lambda", o.lambda}};
}

std::vector<eval::Measure> measures() {
    std::vector<eval::Measure> m;
    for (const auto& n : kCvMeasures) m.push_back(eval::Measure::parse(n));
    return m;
}

// Ranked documents of one query (candidate order by `scores` descending, first-stage order on ties).
std::vector<eval::RankedDoc> ranked(const QueryCandidates& q, const std::vector<float>* scores) {
    std::vector<std::size_t> order(q.candidates.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (scores) {
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return (*scores)[a] > (*scores)[b]; });
    }
    std::vector<eval::RankedDoc> out;
    std::map<std::string, bool> seen;
    for (std::size_t i : order) {
        const auto& c = q.candidates[i];
        if (!seen.emplace(c.doc_id, true).second) continue;
        eval::RankedDoc d;
        d.doc_id = c.doc_id;
        d.score = scores ? (*scores)[i] : c.score;
        out.push_back(std::move(d));
    }
    return out;
}

void append(TrainingData& all, const TrainingData& d) {
    all.x.insert(all.x.end(), d.x.begin(), d.x.end());
    all.labels.insert(all.labels.end(), d.labels.begin(), d.labels.end());
    all.doc_ids.insert(all.doc_ids.end(), d.doc_ids.begin(), d.doc_ids.end());
    all.group_sizes.insert(all.group_sizes.end(), d.group_sizes.begin(), d.group_sizes.end());
    all.qids.insert(all.qids.end(), d.qids.begin(), d.qids.end());
}

// The first stage's order against the order of `scores` (one vector per query of `c`, empty for a
// query without candidates) on c's judgments: per measure, both means, the delta, a paired t-test,
// a permutation test and wins/ties/losses. `n_queries` receives the number of queries evaluated.
Json compare_orders(const Collection& c, const std::vector<std::vector<float>>& scores, std::size_t& n_queries) {
    eval::Run first, ltr;
    first.name = "first";
    ltr.name = "ltr";
    for (std::size_t i = 0; i < c.queries.size(); ++i) {
        const auto& q = c.queries[i];
        if (q.candidates.empty()) continue;
        first.results[q.qid] = eval::to_run_entries(ranked(q, nullptr));
        ltr.results[q.qid] = eval::to_run_entries(ranked(q, &scores[i]));
    }
    const eval::Qrels& qrels = c.dataset.qrels(c.split);
    const auto ms = measures();
    const eval::EvalResult a = eval::evaluate(first, qrels, ms);
    const eval::EvalResult b = eval::evaluate(ltr, qrels, ms);
    Json per_measure = Json::object();
    for (const auto& cmp : eval::compare_results(a, b)) {
        const auto& t = cmp.test;
        per_measure[cmp.measure] = {{"first", t.mean_a}, {"ltr", t.mean_b}, {"delta", t.delta}, {"t_p", t.t_p},
                                    {"permutation_p", t.permutation_p}, {"wins", t.wins}, {"ties", t.ties},
                                    {"losses", t.losses}};
    }
    n_queries = a.n_queries;
    return per_measure;
}

}  // namespace

Json run_training(const TrainRequest& request) {
    WINNOW_CHECK(!request.datasets.empty(), Errc::InvalidArgument, "train-ltr: no --dataset");
    WINNOW_CHECK(!request.out.empty(), Errc::InvalidArgument, "train-ltr: no --out model file");
    WINNOW_CHECK(request.index_dir.empty() || request.datasets.size() == 1, Errc::InvalidArgument,
                 "train-ltr: --index goes with a single --dataset");
    const PipelineSpec spec = checked_spec(request.pipeline);
    TrainingData all;
    all.n_features = kFeatureCount;
    Json datasets = Json::array();
    for (const auto& dir : request.datasets) {
        const Collection c = collect_candidates(dir, request.split, spec, collection_options(request));
        const std::string prefix = request.datasets.size() > 1 ? c.dataset.name + "/" : "";
        const TrainingData d = to_training_data(c, prefix);
        append(all, d);
        datasets.push_back({{"name", c.dataset.name}, {"dir", dir}, {"split", c.split},
                            {"judged_queries", c.queries.size()}, {"queries_with_relevant_candidates", d.n_queries()},
                            {"rows", d.n_rows()}});
    }
    const auto t0 = std::chrono::steady_clock::now();
    const TrainResult r = train_lambdamart(all, request.train);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    Json features = Json::array();
    for (const auto& f : feature_infos()) features.push_back({{"name", f.name}, {"definition", f.definition}});
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    Json sidecar = {
        {"format", "winnow-ltr/1"},
        {"model", std::filesystem::path(request.out).filename().string()},
        {"xgboost", fmt::format("{}.{}.{}", major, minor, patch)},
        {"features", features},
        {"training",
         {{"datasets", datasets}, {"pipeline", spec.to_string()}, {"train_queries", r.train_queries},
          {"valid_queries", r.valid_queries}, {"train_rows", r.train_rows}, {"valid_rows", r.valid_rows},
          {"seconds", seconds}}},
        {"params", options_json(request.train)},
        {"metrics",
         {{"best_round", r.best_round}, {"rounds_run", r.rounds_run},
          {"valid_" + request.train.metric, r.valid_metric}, {"train_" + request.train.metric, r.train_metric}}},
        {"command", request.command_line},
    };
    write_file_atomic(request.out, r.model_json);
    write_file_atomic(sidecar_path(request.out), sidecar.dump(2) + "\n");
    return sidecar;
}

Json run_cross_validation(const TrainRequest& request) {
    WINNOW_CHECK(!request.datasets.empty(), Errc::InvalidArgument, "train-ltr: no --dataset");
    WINNOW_CHECK(request.cv_folds >= 2, Errc::InvalidArgument, "train-ltr: --cv needs at least 2 folds");
    const PipelineSpec spec = checked_spec(request.pipeline);
    Json out = {{"pipeline", spec.to_string()}, {"folds", request.cv_folds}, {"params", options_json(request.train)},
                {"command", request.command_line}, {"datasets", Json::array()}};
    for (const auto& dir : request.datasets) {
        const Collection c = collect_candidates(dir, request.split, spec, collection_options(request));
        const std::size_t n = c.queries.size();
        WINNOW_CHECK(n >= request.cv_folds, Errc::InvalidArgument, "train-ltr: {} has {} judged queries for {} folds",
                     c.dataset.name, n, request.cv_folds);
        const std::vector<std::size_t> perm = seeded_permutation(n, request.train.seed);
        std::vector<std::size_t> fold_of(n);
        for (std::size_t i = 0; i < n; ++i) fold_of[perm[i]] = i % request.cv_folds;
        std::vector<std::vector<float>> scores(n);
        Json folds = Json::array();
        for (std::size_t f = 0; f < request.cv_folds; ++f) {
            Collection train_part;
            train_part.dataset = c.dataset;
            train_part.split = c.split;
            for (std::size_t i = 0; i < n; ++i) {
                if (fold_of[i] != f) train_part.queries.push_back(c.queries[i]);
            }
            const TrainResult r = train_lambdamart(to_training_data(train_part), request.train);
            const LtrModel model(r.model_json, feature_names());
            for (std::size_t i = 0; i < n; ++i) {
                if (fold_of[i] == f) scores[i] = model.predict(c.queries[i].features.data(), c.queries[i].candidates.size());
            }
            folds.push_back({{"fold", f}, {"best_round", r.best_round}, {"valid_ndcg@10", r.valid_metric}});
        }
        std::size_t n_queries = 0;
        Json per_measure = compare_orders(c, scores, n_queries);
        out["datasets"].push_back({{"dataset", c.dataset.name}, {"split", c.split}, {"queries", n_queries},
                                   {"fold_models", folds}, {"measures", std::move(per_measure)}});
    }
    if (!request.out.empty()) write_file_atomic(request.out, out.dump(2) + "\n");
    return out;
}

Json run_leave_one_out(const TrainRequest& request) {
    WINNOW_CHECK(request.datasets.size() >= 2, Errc::InvalidArgument,
                 "train-ltr: --leave-one-out needs at least two --dataset (got {})", request.datasets.size());
    WINNOW_CHECK(request.index_dir.empty(), Errc::InvalidArgument, "train-ltr: --index goes with a single --dataset");
    const PipelineSpec spec = checked_spec(request.pipeline);
    std::vector<Collection> collections;
    std::vector<TrainingData> data;
    for (const auto& dir : request.datasets) {
        collections.push_back(collect_candidates(dir, request.split, spec, collection_options(request)));
        data.push_back(to_training_data(collections.back(), collections.back().dataset.name + "/"));
    }
    Json out = {{"mode", "leave-one-out"}, {"pipeline", spec.to_string()}, {"params", options_json(request.train)},
                {"command", request.command_line}, {"datasets", Json::array()}};
    std::map<std::string, std::pair<double, double>> sums;  // measure -> (first, ltr) summed over collections
    for (std::size_t held = 0; held < collections.size(); ++held) {
        TrainingData train;
        train.n_features = kFeatureCount;
        Json trained_on = Json::array();
        for (std::size_t i = 0; i < collections.size(); ++i) {
            if (i == held) continue;
            append(train, data[i]);
            trained_on.push_back(collections[i].dataset.name);
        }
        const TrainResult r = train_lambdamart(train, request.train);
        const LtrModel model(r.model_json, feature_names());
        const Collection& c = collections[held];
        std::vector<std::vector<float>> scores(c.queries.size());
        for (std::size_t i = 0; i < c.queries.size(); ++i) {
            const auto& q = c.queries[i];
            if (!q.candidates.empty()) scores[i] = model.predict(q.features.data(), q.candidates.size());
        }
        std::size_t n_queries = 0;
        Json per_measure = compare_orders(c, scores, n_queries);
        for (const auto& [name, m] : per_measure.items()) {
            sums[name].first += m["first"].get<double>();
            sums[name].second += m["ltr"].get<double>();
        }
        out["datasets"].push_back({{"dataset", c.dataset.name}, {"split", c.split}, {"queries", n_queries},
                                   {"trained_on", std::move(trained_on)}, {"train_queries", r.train_queries},
                                   {"best_round", r.best_round}, {"measures", std::move(per_measure)}});
    }
    Json mean = Json::object();
    const auto n = static_cast<double>(collections.size());
    for (const auto& [name, s] : sums) {
        mean[name] = {{"first", s.first / n}, {"ltr", s.second / n}, {"delta", (s.second - s.first) / n}};
    }
    out["mean"] = std::move(mean);
    if (!request.out.empty()) write_file_atomic(request.out, out.dump(2) + "\n");
    return out;
}

std::string format_cross_validation(const Json& report) {
    const bool loo = report.contains("mode") && report["mode"] == "leave-one-out";
    std::string s = loo ? fmt::format("leave one collection out (each trained on all the others), {} vs {} > ltr\n",
                                      report["pipeline"].get<std::string>(), report["pipeline"].get<std::string>())
                        : fmt::format("{}-fold cross-validation by query, {} vs {} > ltr\n",
                                      report["folds"].get<std::size_t>(), report["pipeline"].get<std::string>(),
                                      report["pipeline"].get<std::string>());
    s += fmt::format("{:<24} {:>7} {:<12} {:>8} {:>8} {:>8} {:>9} {:>9} {:>12}\n", "dataset", "queries", "measure",
                     "first", "ltr", "delta", "t-test p", "perm p", "win/tie/loss");
    for (const auto& d : report["datasets"]) {
        for (const auto& name : kCvMeasures) {
            if (!d["measures"].contains(name)) continue;
            const auto& m = d["measures"][name];
            s += fmt::format("{:<24} {:>7} {:<12} {:>8.4f} {:>8.4f} {:>+8.4f} {:>9.4f} {:>9.4f} {:>12}\n",
                             d["dataset"].get<std::string>(), d["queries"].get<std::size_t>(), name,
                             m["first"].get<double>(), m["ltr"].get<double>(), m["delta"].get<double>(),
                             m["t_p"].get<double>(), m["permutation_p"].get<double>(),
                             fmt::format("{}/{}/{}", m["wins"].get<std::size_t>(), m["ties"].get<std::size_t>(),
                                         m["losses"].get<std::size_t>()));
        }
    }
    if (loo) {
        for (const auto& name : kCvMeasures) {
            if (!report["mean"].contains(name)) continue;
            const auto& m = report["mean"][name];
            s += fmt::format("{:<24} {:>7} {:<12} {:>8.4f} {:>8.4f} {:>+8.4f}\n", "mean over collections",
                             report["datasets"].size(), name, m["first"].get<double>(), m["ltr"].get<double>(),
                             m["delta"].get<double>());
        }
    }
    return s;
}

}  // namespace winnow::ltr
