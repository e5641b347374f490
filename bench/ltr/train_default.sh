#!/usr/bin/env bash
# Rebuilds the default learning-to-rank model and its evidence, one command:
#
#   bench/ltr/train_default.sh            # from the source tree, after scripts/build release
#
# 1. leave one collection out over the nine training collections (for each: a model trained on
#    the other eight, evaluated on it, BM25(k=100) vs BM25(k=100) > ltr) -> bench/ltr/leave_one_out.json
# 2. the model trained on all nine -> $WINNOW_LTR_OUT (default bench/ltr/all-collections.ltr + .json)
# 3. that model on the holdout sets, reported only, never tuned on: SciFact test and the DBpedia
#    subset -> bench/ltr/holdout-*.json
# Single-threaded (--threads 1; the model is the same for any thread count). The collections are
# read from $WINNOW_DATA (default ../shared/data/ir); dataset indexes are cached as `winnow eval`
# caches them. Whether the model is shipped as models/ltr/default.ltr is decided from step 1's
# mean (bench/README.md, "Learning-to-rank reranker"): copy it there only when it helps on average.
set -euo pipefail
cd "$(dirname "$0")/../.."
winnow="${WINNOW:-build/release/winnow}"
data="${WINNOW_DATA:-../shared/data/ir}"
out="${WINNOW_LTR_OUT:-bench/ltr/all-collections.ltr}"
training=(cranfield cisi medline cacm lisa npl-vaswani adi subset-msmarco-agentset wikiqa-test)
datasets=()
for d in "${training[@]}"; do datasets+=(--dataset "$data/$d"); done
common=(--split "" --pipeline "bm25(k=100)" --seed 42 --threads 1 --quiet)

"$winnow" train-ltr "${datasets[@]}" "${common[@]}" --leave-one-out --out bench/ltr/leave_one_out.json
"$winnow" train-ltr "${datasets[@]}" "${common[@]}" --out "$out"
for holdout in beir-scifact:test subset-dbpedia-agentset:test; do
    name="${holdout%%:*}"
    "$winnow" eval --dataset "$data/$name" --split "${holdout##*:}" --k 100 --quiet \
        --pipeline "bm25(k=100) > ltr(model=$out)" --compare bm25 --json "bench/ltr/holdout-$name.json"
done
