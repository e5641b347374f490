// `winnow train-ltr`: trains the learning-to-rank reranker (LambdaMART, XGBoost rank:ndcg) on a
// collection's judgments, or cross-validates it by query folds (--cv N).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "command.h"
#include "core/progress.h"
#include "ltr/train_command.h"
#include "winnow/error.h"

namespace winnow::cli {
namespace {

std::string shell_quote(const std::string& s) {
    if (!s.empty() && s.find_first_of(" \t\"'()<>|&;$\\*?") == std::string::npos) return s;
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

CommandRegistrar registrar("train-ltr", [](CLI::App& app) {
    auto* sub = app.add_subcommand("train-ltr", "Train the learning-to-rank reranker on a collection's judgments");
    auto r = std::make_shared<ltr::TrainRequest>();
    sub->add_option("--dataset", r->datasets, "Collection folder (BEIR, TREC or SMART); repeat to train on several")
        ->required();
    sub->add_option("--split", r->split, "Judgments to train on (never the split you report on)")->capture_default_str();
    sub->add_option("--pipeline", r->pipeline,
                    "First stage giving the candidates, optionally > ltr(embed_model=M, rerank_model=M) for the "
                    "dense and cross-encoder features")
        ->capture_default_str();
    sub->add_option("--out", r->out,
                    "Model file to write (its sidecar: FILE.json); with --cv or --leave-one-out, the report JSON");
    sub->add_option("--index", r->index_dir, "Use this index instead of the dataset's cached one (one --dataset)");
    sub->add_option("--cache-dir", r->cache_dir, "Where dataset indexes are cached (default: as winnow eval)");
    auto* cv = sub->add_option("--cv", r->cv_folds, "Cross-validate by N query folds instead of training one model");
    sub->add_flag("--leave-one-out", r->leave_one_out,
                  "Per --dataset: train on all the other datasets and evaluate on it, against the first stage "
                  "(instead of training one model)")
        ->excludes(cv);
    sub->add_option("--seed", r->train.seed, "Seed (validation split, folds, XGBoost)")->capture_default_str();
    sub->add_option("--threads", r->train.threads, "XGBoost threads (the model is the same for any count)")
        ->capture_default_str();
    sub->add_option("--rounds", r->train.max_rounds, "Boosting rounds at most")->capture_default_str();
    sub->add_option("--early-stop", r->train.early_stopping, "Stop after N rounds without a better validation score")
        ->capture_default_str();
    sub->add_option("--valid-fraction", r->train.valid_fraction, "Share of training queries held out for validation")
        ->check(CLI::Range(0.01, 0.9))
        ->capture_default_str();
    sub->add_option("--eta", r->train.eta, "Learning rate")->check(CLI::Range(0.0001, 1.0))->capture_default_str();
    sub->add_option("--max-depth", r->train.max_depth, "Tree depth")->check(CLI::Range(1, 16))->capture_default_str();
    auto quiet = std::make_shared<bool>(false);
    sub->add_flag("--quiet", *quiet, "No progress on stderr (a bar on a terminal, else a line per tenth)");
    return [r, quiet]() {
        r->progress = progress_mode(*quiet);
        std::string cmd = "winnow train-ltr";
        for (const auto& d : r->datasets) cmd += " --dataset " + shell_quote(d);
        cmd += " --split " + shell_quote(r->split) + " --pipeline " + shell_quote(r->pipeline);
        if (r->cv_folds > 0) cmd += fmt::format(" --cv {}", r->cv_folds);
        if (r->leave_one_out) cmd += " --leave-one-out";
        if (!r->out.empty()) cmd += " --out " + shell_quote(r->out);
        cmd += fmt::format(" --seed {} --threads {} --rounds {} --early-stop {} --valid-fraction {} --eta {} --max-depth {}",
                           r->train.seed, r->train.threads, r->train.max_rounds, r->train.early_stopping,
                           r->train.valid_fraction, r->train.eta, r->train.max_depth);
        r->command_line = cmd;
        if (r->leave_one_out) {
            const Json report = ltr::run_leave_one_out(*r);
            std::cout << ltr::format_cross_validation(report);
            return 0;
        }
        if (r->cv_folds > 0) {
            WINNOW_CHECK(r->cv_folds >= 2, Errc::InvalidArgument, "--cv needs at least 2 folds");
            const Json report = ltr::run_cross_validation(*r);
            std::cout << ltr::format_cross_validation(report);
            return 0;
        }
        WINNOW_CHECK(!r->out.empty(), Errc::InvalidArgument, "train-ltr: --out FILE is required (or --cv N)");
        const Json sidecar = ltr::run_training(*r);
        const auto& m = sidecar["metrics"];
        std::printf("wrote %s and %s.json: %zu trees (of %zu rounds), validation %s %.4f, training %.4f\n",
                    r->out.c_str(), r->out.c_str(), m["best_round"].get<std::size_t>(),
                    m["rounds_run"].get<std::size_t>(), r->train.metric.c_str(),
                    m["valid_" + r->train.metric].get<double>(), m["train_" + r->train.metric].get<double>());
        return 0;
    };
});

}  // namespace
}  // namespace winnow::cli
