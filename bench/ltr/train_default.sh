#!/usr/bin/env bash
# Rebuilds the default learning-to-rank model and its evidence, one command:
#
#   bench/ltr/train_default.sh            # from the source tree, after scripts/build release
#
# 1. leave one collection out over the nine training collections (for each: a model trained on
#    the other eight, evaluated on it, BM25(k=100) vs BM25(k=100) > ltr) -> bench/ltr/leave_one_out.json
# 2. only when step 1's mean ndcg_cut_10 delta over the nine is positive (it helps on average): the
#    model trained on all nine -> models/ltr/default.ltr (+ .json sidecar), the shipped default;
#    otherwise it says so, writes nothing there, and BM25 order stays the better default
# 3. that model on the holdout sets, reported only, never tuned on: SciFact test and the DBpedia
#    subset -> bench/ltr/holdout-*.json
# Single-threaded (--threads 1; the model is the same for any thread count). The collections are
# read from $WINNOW_DATA (default ../shared/data/ir); dataset indexes are cached as `winnow eval`
# caches them. About 10 minutes on one busy core. Results: bench/README.md, "Learning-to-rank reranker".
set -euo pipefail
cd "$(dirname "$0")/../.."
winnow="${WINNOW:-build/release/winnow}"
data="${WINNOW_DATA:-../shared/data/ir}"
out=models/ltr/default.ltr
training=(cranfield cisi medline cacm lisa npl-vaswani adi subset-msmarco-agentset wikiqa-test)
datasets=()
for d in "${training[@]}"; do datasets+=(--dataset "$data/$d"); done
common=(--split "" --pipeline "bm25(k=100)" --seed 42 --threads 1 --quiet)

"$winnow" train-ltr "${datasets[@]}" "${common[@]}" --leave-one-out --out bench/ltr/leave_one_out.json
delta=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean"]["ndcg_cut_10"]["delta"])' \
    bench/ltr/leave_one_out.json)
if ! python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$delta"; then
    echo "leave-one-out mean ndcg_cut_10 delta $delta <= 0: the LTR model does not help on average;" \
         "models/ltr/default.ltr left alone (BM25 order is the better default)" >&2
    exit 1
fi
"$winnow" train-ltr "${datasets[@]}" "${common[@]}" --out "$out"
for holdout in beir-scifact:test subset-dbpedia-agentset:test; do
    name="${holdout%%:*}"
    "$winnow" eval --dataset "$data/$name" --split "${holdout##*:}" --k 100 --quiet \
        --pipeline "bm25(k=100) > ltr(model=$out)" --compare bm25 --json "bench/ltr/holdout-$name.json"
done
