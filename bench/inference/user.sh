#!/usr/bin/env bash
# Speed as a user meets it (issue: "speed where users meet it"), for one or two builds side by side in
# one run, alternating so that load from elsewhere hits every row alike:
#   1. CLI one pass: `winnow rerank --pairs --pretokenized` over the 256 bench pairs in one process (its
#      own stats line: pairs/s of the scoring, load time, GEMM primitives made), against ONNX Runtime's
#      one sorted pass (--sort --repeat 1, after its one-batch warm-up) in the same round.
#   2. Cold end to end: one `winnow rerank --query` process on 100 SciFact abstracts (real bert-base-uncased
#      tokenizer), wall time from exec to exit.
#   3. The server under varied traffic: bench_server_load --varied (8 clients, 1-100 documents of random
#      length per request), pairs/s, p50/p99 and primitives per 1,000 requests, next to the driver's warm
#      best-of-3 pairs/s (bench_inference) at the same precision.
#
#   bench/inference/user.sh BUILD_DIR [BEFORE_BUILD_DIR]
# Each build dir needs winnow, bench/inference/bench_inference and bench/server/bench_server_load.
# Env: ROUNDS (3; medians are reported), THREADS (2), SECONDS_PER_ROUND (server rounds, 10), PRECISIONS
# ("fp32 bf16 int8"), SHARED (../shared), ORT_DIR (as in run.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
builds=("$1")
names=("after")
if [ $# -ge 2 ]; then
    builds=("$2" "$1")
    names=("before" "after")
fi
shared=${SHARED:-$(cd "$root/../shared" && pwd)}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
server_seconds=${SECONDS_PER_ROUND:-10}
precisions=${PRECISIONS:-fp32 bf16 int8}
model=$shared/bench/minilm-l6-v1024
pairs=$shared/bench/pairs-256.jsonl

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "${ORT_DIR:-}" ]; then
    ORT_DIR=$work/ort
    mkdir -p "$ORT_DIR"
    cp "$shared/bench/package.json" "$shared/bench/ort_bench.js" "$ORT_DIR"
    (cd "$ORT_DIR" && npm install --ignore-scripts --silent >/dev/null)
fi
python3 "$here/compare.py" make-e2e "$model" "$shared/fixtures/tokenizers/real-bert-base-uncased/tokenizer.json" \
    "$shared/data/ir/beir-scifact/corpus.jsonl.gz" "$shared/data/ir/beir-scifact/queries.jsonl" "$work/e2e"
query=$(cat "$work/e2e/query.txt")

log=$work/results.jsonl
wall() {  # wall seconds of a command whose stdin is $1
    python3 - "$@" <<'EOF'
import subprocess, sys, time
stdin = open(sys.argv[1], "rb")
t = time.perf_counter()
subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(time.perf_counter() - t)
EOF
}

for ((r = 1; r <= rounds; r++)); do
    for i in "${!builds[@]}"; do
        b=${builds[$i]}
        for p in $precisions; do
            stats=$("$b/winnow" rerank --model "$model" --pairs --pretokenized --precision "$p" --threads "$threads" \
                < "$pairs" 2>&1 >/dev/null | tail -1)
            echo "{\"kind\":\"cli\",\"build\":\"${names[$i]}\",\"precision\":\"$p\",\"round\":$r,\"stats\":$stats}" >> "$log"
            t=$(wall "$work/e2e/docs.jsonl" "$b/winnow" rerank --model "$work/e2e/model" --query "$query" \
                --precision "$p" --threads "$threads")
            echo "{\"kind\":\"e2e\",\"build\":\"${names[$i]}\",\"precision\":\"$p\",\"round\":$r,\"seconds\":$t}" >> "$log"
        done
    done
    for q in fp32 int8; do
        out=$(node "$ORT_DIR/ort_bench.js" --model "$model/model_$q.onnx" --pairs "$pairs" --threads "$threads" --sort \
            --repeat 1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pairs_per_s"])')
        echo "{\"kind\":\"ort\",\"precision\":\"$q\",\"round\":$r,\"pairs_per_s\":$out}" >> "$log"
    done
done

for i in "${!builds[@]}"; do
    b=${builds[$i]}
    for p in $precisions; do
        warm=$("$b/bench/inference/bench_inference" --model "$model" --pairs "$pairs" --precision "$p" \
            --threads "$threads" --repeat 3 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pairs_per_s"])')
        if ! OMP_NUM_THREADS=$threads "$b/bench/server/bench_server_load" --varied 1 --clients 8 --precision "$p" \
            --seconds "$server_seconds" > "$work/server-${names[$i]}-$p.txt" 2>/dev/null; then
            echo "no varied-traffic mode in $b/bench/server/bench_server_load: server rows skipped" >&2
            continue
        fi
        python3 - "$work/server-${names[$i]}-$p.txt" "${names[$i]}" "$p" "$warm" >> "$log" <<'EOF'
import json, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("| measured")]
cells = [[c.strip() for c in l.strip().strip("|").split("|")] for l in rows]
print(json.dumps({"kind": "server", "build": sys.argv[2], "precision": sys.argv[3], "warm_pairs_per_s": float(sys.argv[4]),
                  "pairs_per_s": [float(c[2]) for c in cells], "p50_ms": [float(c[3]) for c in cells],
                  "p99_ms": [float(c[4]) for c in cells], "primitives_per_1k": [float(c[7]) for c in cells]}))
EOF
    done
done

python3 - "$log" "$threads" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
ort = {p: med([r["pairs_per_s"] for r in rows if r["kind"] == "ort" and r["precision"] == p]) for p in ("fp32", "int8")}
base = {"fp32": "fp32", "bf16": "fp32", "int8": "int8"}
builds = sorted({r["build"] for r in rows if "build" in r}, key=lambda b: b != "before")
print(f"threads {sys.argv[2]}; ONNX Runtime one sorted pass, median: fp32 {ort['fp32']:.1f}, int8 {ort['int8']:.1f} pairs/s\n")
print("| build | precision | CLI one pass pairs/s | vs ORT | load s | primitives (CLI) | cold e2e 100 docs s | server pairs/s | vs warm driver | p50 / p99 ms | prims / 1k req |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for b in builds:
    for p in ("fp32", "bf16", "int8"):
        cli = [r for r in rows if r["kind"] == "cli" and r["build"] == b and r["precision"] == p]
        if not cli:
            continue
        rate = med([r["stats"]["pairs_per_s"] for r in cli])
        load = med([r["stats"]["load_seconds"] for r in cli if "load_seconds" in r["stats"]] or [float("nan")])
        prims = med([r["stats"].get("primitives_created", float("nan")) for r in cli])
        e2e = med([r["seconds"] for r in rows if r["kind"] == "e2e" and r["build"] == b and r["precision"] == p])
        srv = [r for r in rows if r["kind"] == "server" and r["build"] == b and r["precision"] == p]
        s = srv[0] if srv else None
        srv_cols = (f"{med(s['pairs_per_s']):.1f} | {med(s['pairs_per_s']) / s['warm_pairs_per_s']:.2f} "
                    f"(warm {s['warm_pairs_per_s']:.1f}) | {med(s['p50_ms']):.0f} / {med(s['p99_ms']):.0f} | "
                    f"{med(s['primitives_per_1k']):.2f}") if s else "- | - | - | -"
        print(f"| {b} | {p} | {rate:.1f} | {rate / ort[base[p]]:.2f}x | {load:.2f} | {prims:.0f} | {e2e:.2f} | {srv_cols} |")
EOF
