// What `winnow train-ltr` runs: candidate collection over one or more collections, LambdaMART
// training with the model file and its JSON sidecar, or k-fold cross-validation by query with a
// significance test against the first stage.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/progress.h"
#include "ltr/trainer.h"

namespace winnow::ltr {

struct TrainRequest {
    std::vector<std::string> datasets;  // collection folders
    std::string split = "train";        // the judgments trained on ("" = each dataset's default)
    std::string pipeline = "bm25(k=100)";
    std::string out;                    // model file (its sidecar: out + ".json")
    std::string cache_dir;              // dataset index cache ("" = eval's default)
    std::string index_dir;              // an existing index (one dataset only)
    TrainOptions train;
    std::size_t cv_folds = 0;           // > 1: cross-validation instead of training one model
    bool leave_one_out = false;         // per dataset: train on all the others, evaluate on it
    std::string command_line;           // recorded in the sidecar
    ProgressMode progress = ProgressMode::Off;  // collecting candidates, on stderr
};

// Trains one model on every dataset's split, writes `out` and its sidecar, returns the sidecar.
Json run_training(const TrainRequest& request);

// Cross-validation by query folds on each dataset: per fold, trains on the other folds (with the
// validation split carved from them) and ranks the fold's candidates. Returns
// {"datasets": [{"dataset", "split", "folds", "queries", "measures": {name: {"first": m, "ltr": m,
// "delta", "t_p", "permutation_p", "wins", "ties", "losses"}}}], ...}; writes it to `out` when set.
Json run_cross_validation(const TrainRequest& request);

// Leave one collection out: for each dataset, trains one model on all the other datasets (the
// validation split carved from them) and ranks this dataset's candidates with it. Returns
// {"mode": "leave-one-out", "datasets": [{"dataset", "split", "queries", "trained_on", "train_queries",
// "best_round", "measures": {as run_cross_validation}}], "mean": {measure: {"first", "ltr", "delta"}}
// (unweighted over the datasets), ...}; writes it to `out` when set. Needs two datasets or more.
Json run_leave_one_out(const TrainRequest& request);

// A terminal table of run_cross_validation's or run_leave_one_out's result.
std::string format_cross_validation(const Json& report);

}  // namespace winnow::ltr
