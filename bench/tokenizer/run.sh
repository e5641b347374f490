#!/usr/bin/env bash
# Tokenizer throughput, winnow vs HF tokenizers (npm `tokenizers` 0.23.2), side by side in one run.
#   bench/tokenizer/run.sh <build-dir> [hf-tok-dir]
# <build-dir> holds bench/tokenizer/bench_tokenizer (configure with -DWINNOW_BUILD_BENCH=ON).
# [hf-tok-dir] (default /tmp/hf-tok) has node_modules/tokenizers; make it with:
#   mkdir -p /tmp/hf-tok && cd /tmp/hf-tok && npm install --ignore-scripts tokenizers@0.23.2
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh <build-dir> [hf-tok-dir]}
hf=${2:-/tmp/hf-tok}
shared=${WINNOW_SHARED_DIR:-$here/../../../shared}
docs=$(mktemp --suffix=.jsonl)
trap 'rm -f "$docs"' EXIT
zcat "$shared/data/ir/beir-scifact/corpus.jsonl.gz" > "$docs"
cp "$here/hf_tokenizers_bench.js" "$hf/"
for tok in "$shared/data/tokenizers/bert-base-uncased/tokenizer.json" "$shared/data/tokenizers/gpt2/gpt2_tokenizer.json"; do
    for threads in 1 2; do
        "$build/bench/tokenizer/bench_tokenizer" --tokenizer "$tok" --input "$docs" --threads "$threads" --repeat 3
        (cd "$hf" && RAYON_NUM_THREADS=$threads TOKENIZERS_PARALLELISM=true node hf_tokenizers_bench.js "$tok" "$docs" 3)
    done
done
