#!/usr/bin/env bash
# Inference speed: winnow (fp32, bf16, int8) against ONNX Runtime (fp32, int8; --sort, its best setting) on
# the shared bench model, side by side in one run so the ratios hold on a loaded machine.
#   bench/inference/run.sh [path/to/bench_inference]   (default: build/release/bench/inference/bench_inference,
#   built with -DWINNOW_BUILD_BENCH=ON; it runs what `winnow rerank --pairs --pretokenized` runs, plus a
#   warm-up and best-of-RUNS timing like ONNX Runtime's bench)
#   It also times `winnow rerank --query` end to end (tokenize + score) on 100 SciFact abstracts of ~150 tokens
#   with the real bert-base-uncased tokenizer (the bench model's embedding table tiled to its vocabulary), when
#   the CLI is found next to the driver's build tree (or at $WINNOW).
# Env: THREADS (2), RUNS (3, best of), OMP_WAIT_POLICY (winnow only; unset: winnow's own default, a short spin: GOMP_SPINCOUNT=1000), ORT_DIR (a folder with ort_bench.js + node_modules; made in a temp dir
# outside the repo with `npm install` when unset), SHARED (the shared data folder, default ../shared), WINNOW (the CLI).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
driver=${1:-$root/build/release/bench/inference/bench_inference}
shared=${SHARED:-$(cd "$root/../shared" && pwd)}
threads=${THREADS:-2}
# OpenMP waiting: winnow's binaries bound their spinning themselves (src/tensor/threads.h); ONNX Runtime
# runs with the environment as it is (exporting a wait policy here changed ORT's numbers: int8 single-pair
# latency 8.0 ms unset/active vs 15.7 ms passive on the idle machine), so a policy given to this script
# applies to the winnow commands only.
winnow_env=()
[ -n "${OMP_WAIT_POLICY:-}" ] && winnow_env=(env "OMP_WAIT_POLICY=$OMP_WAIT_POLICY")
unset OMP_WAIT_POLICY
runs=${RUNS:-3}
model=$shared/bench/minilm-l6-v1024
pairs=$shared/bench/pairs-256.jsonl
[ -x "$driver" ] || { echo "no bench_inference binary at $driver" >&2; exit 2; }
cli=${WINNOW:-$(cd "$(dirname "$driver")/../.." && pwd)/winnow}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "${ORT_DIR:-}" ]; then
    ORT_DIR=$work/ort
    mkdir -p "$ORT_DIR"
    cp "$shared/bench/package.json" "$shared/bench/ort_bench.js" "$ORT_DIR"
    (cd "$ORT_DIR" && npm install --ignore-scripts --silent >/dev/null)
fi

# Single-pair latency workload: one 128-token pair (the first pair of >= 128 tokens cut to 127 + its last
# token), repeated; one pair per forward call (winnow: --token-budget 128; ORT: --batch 1).
python3 "$here/compare.py" make-latency "$pairs" 128 50 > "$work/latency.jsonl"

for p in fp32 bf16 int8; do
    "${winnow_env[@]}" "$driver" --model "$model" --pairs "$pairs" --precision "$p" --threads "$threads" --repeat "$runs" \
        --scores "$work/winnow-$p.jsonl" > "$work/winnow-$p.json"
    "${winnow_env[@]}" "$driver" --model "$model" --pairs "$work/latency.jsonl" --precision "$p" --threads "$threads" --repeat "$runs" \
        --token-budget 128 > "$work/latency-winnow-$p.json"
done
for q in fp32 int8; do
    node "$ORT_DIR/ort_bench.js" --model "$model/model_$q.onnx" --pairs "$pairs" --threads "$threads" --sort \
        --repeat "$runs" > "$work/ort-$q.json"
    node "$ORT_DIR/ort_bench.js" --model "$model/model_$q.onnx" --pairs "$work/latency.jsonl" --threads "$threads" \
        --batch 1 --repeat "$runs" > "$work/latency-ort-$q.json"
done

# End to end: `winnow rerank --query` (load + tokenize + score) and the same command on no documents (load only).
if [ -x "$cli" ]; then
    python3 "$here/compare.py" make-e2e "$model" "$shared/fixtures/tokenizers/real-bert-base-uncased/tokenizer.json" \
        "$shared/data/ir/beir-scifact/corpus.jsonl.gz" "$shared/data/ir/beir-scifact/queries.jsonl" "$work/e2e"
    query=$(cat "$work/e2e/query.txt")
    "$cli" tokenize --tokenizer "$work/e2e/model" < "$work/e2e/pairs-text.jsonl" |
        python3 "$here/compare.py" e2e-info > "$work/e2e-info.json"
    for p in fp32 bf16 int8; do
        total=$(python3 "$here/compare.py" best-time "$runs" "$work/e2e/docs.jsonl" "${winnow_env[@]}" "$cli" rerank \
            --model "$work/e2e/model" --query "$query" --precision "$p" --threads "$threads")
        load=$(python3 "$here/compare.py" best-time "$runs" /dev/null "${winnow_env[@]}" "$cli" rerank \
            --model "$work/e2e/model" --query "$query" --precision "$p" --threads "$threads")
        echo "{\"total\": $total, \"load\": $load}" > "$work/e2e-$p.json"
    done
else
    echo "no winnow CLI at $cli: end-to-end rows skipped (build the winnow_cli target or set WINNOW)" >&2
fi

python3 "$here/compare.py" report "$work" "$pairs" "$threads" "$model"
