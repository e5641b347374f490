#!/usr/bin/env python3
"""Helpers for run.sh (standard library only).

make-latency PAIRS LENGTH COPIES   one LENGTH-token pair from PAIRS, repeated COPIES times, as JSONL
make-e2e MODEL TOKENIZER CORPUS QUERIES OUT
                                   end-to-end workload: OUT/model = MODEL with its embedding table tiled to
                                   TOKENIZER's vocabulary (compute per token unchanged) + TOKENIZER, so real text
                                   can be tokenized; OUT/docs.jsonl = 100 CORPUS documents of ~150 tokens
                                   (80-105 words); OUT/query.txt = the first query of QUERIES
e2e-info                           stdin: `winnow tokenize` output of the e2e pairs -> {"docs","tokens","tokenizer"}
best-time RUNS STDIN CMD...        best wall seconds of RUNS runs of CMD (stdin from STDIN, output discarded)
report WORK PAIRS THREADS          the table: speed (best of the runs), ratios to ONNX Runtime, accuracy
                                   against winnow fp32 (max and mean abs logit diff, mean/min Spearman per query),
                                   fraction of the GEMM peak, end-to-end `winnow rerank` times when measured
"""
import gzip
import json
import os
import shutil
import struct
import sys

# oneDNN 2.6 matmul ceilings on this machine kind (M=4096 K=384 N=1536, 2 threads; shared/research/debian-deps.md),
# in GFLOP/s (int8: GOPS); scaled linearly for other thread counts.
PEAK_2_THREADS = {"fp32": 227.0, "bf16": 445.0, "int8": 868.0}

GROUP = 32  # pairs per group when no two pairs share a query


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_json(path):
    with open(path) as f:
        lines = [line for line in f if line.strip().startswith("{")]
    return json.loads(lines[-1])


def make_latency(pairs_path, length, copies):
    for pair in read_jsonl(pairs_path):
        ids, types = pair["input_ids"], pair["token_type_ids"]
        if len(ids) >= length:
            cut = {"input_ids": ids[: length - 1] + ids[-1:], "token_type_ids": types[: length - 1] + types[-1:]}
            for _ in range(copies):
                print(json.dumps(cut))
            return
    sys.exit("no pair of %d tokens" % length)


def make_e2e(model, tokenizer, corpus, queries, out):
    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    with open(tokenizer) as f:
        vocab = len(json.load(f)["model"]["vocab"])
    with open(os.path.join(model, "config.json")) as f:
        config = json.load(f)
    old_vocab = config["vocab_size"]
    config["vocab_size"] = vocab
    with open(os.path.join(out, "model", "config.json"), "w") as f:
        json.dump(config, f)
    shutil.copy(tokenizer, os.path.join(out, "model", "tokenizer.json"))
    with open(os.path.join(model, "model.safetensors"), "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors, blobs, offset = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        blob = data[begin:end]
        shape = list(info["shape"])
        if name.endswith("word_embeddings.weight"):
            row = len(blob) // shape[0]
            blob = b"".join(blob[(i % old_vocab) * row:(i % old_vocab + 1) * row] for i in range(vocab))
            shape[0] = vocab
        tensors[name] = {"dtype": info["dtype"], "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if "__metadata__" in header:
        tensors["__metadata__"] = header["__metadata__"]
    encoded = json.dumps(tensors).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(os.path.join(out, "model", "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
    opener = gzip.open if corpus.endswith(".gz") else open
    docs = []
    with opener(corpus, "rt") as f:
        for line in f:
            doc = json.loads(line)
            text = (doc.get("title", "") + " " + doc.get("text", "")).strip()
            if 80 <= len(text.split()) <= 105:
                docs.append(text)
                if len(docs) == 100:
                    break
    with open(queries) as f:
        query = json.loads(f.readline())["text"]
    with open(os.path.join(out, "query.txt"), "w") as f:
        f.write(query)
    with open(os.path.join(out, "docs.jsonl"), "w") as f, open(os.path.join(out, "pairs-text.jsonl"), "w") as g:
        for text in docs:
            f.write(json.dumps({"text": text}) + "\n")
            g.write(json.dumps({"text": query, "text_pair": text}) + "\n")


def e2e_info():
    lengths = [len(json.loads(line)["ids"]) for line in sys.stdin if line.strip()]
    print(json.dumps({"docs": len(lengths), "tokens": sum(lengths), "tokenizer": "bert-base-uncased WordPiece"}))


def best_time(runs, stdin, cmd):
    import subprocess
    import time
    best = float("inf")
    for _ in range(runs):
        with open(stdin) as f:
            start = time.perf_counter()
            subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            best = min(best, time.perf_counter() - start)
    print(best)


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2.0
        i = j + 1
    return result


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va > 0 and vb > 0 else 1.0


def query_groups(pairs):
    """Pairs sharing the same query (the token_type_ids == 0 prefix), groups of 2 or more."""
    groups = {}
    for i, p in enumerate(pairs):
        query = tuple(t for t, s in zip(p["input_ids"], p["token_type_ids"]) if s == 0)
        groups.setdefault(query, []).append(i)
    shared = [g for g in groups.values() if len(g) >= 2]
    if shared:
        return shared
    # Every pair has its own query (pairs-256.jsonl does): use query-sized groups of consecutive pairs.
    return [list(range(i, min(i + GROUP, len(pairs)))) for i in range(0, len(pairs), GROUP)]


def accuracy(scores, reference, groups):
    diffs = [abs(a - b) for a, b in zip(scores, reference)]
    rhos = [spearman([scores[i] for i in g], [reference[i] for i in g]) for g in groups]
    return max(diffs), sum(diffs) / len(diffs), sum(rhos) / len(rhos), min(rhos)


def flops_per_pair(config, length):
    """Multiply-adds x 2 of one pair: the linear layers plus attention's two products (unpadded)."""
    h, f, n = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    linear = 2 * length * (3 * h * h + h * h + 2 * h * f)
    attention = 4 * length * length * h
    return n * (linear + attention)


def winnow_flops_per_pair(config, length):
    """What winnow computes of flops_per_pair: its last layer runs for the first token only (the classification head
    reads that row alone) except for the key and value projections, which every token needs: one query row, one row
    of attention, output projection and feed-forward."""
    h, f, n = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    last = 2 * length * 2 * h * h + 4 * length * h + 2 * (h * h + h * h + 2 * h * f)
    return flops_per_pair(config, length) * (n - 1) / n + last


def report(work, pairs_path, threads, model_dir):
    pairs = read_jsonl(pairs_path)
    groups = query_groups(pairs)
    tokens = sum(len(p["input_ids"]) for p in pairs)
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    work_flops = sum(flops_per_pair(config, len(p["input_ids"])) for p in pairs)
    winnow_flops = sum(winnow_flops_per_pair(config, len(p["input_ids"])) for p in pairs)
    rows = {}
    for p in ("fp32", "bf16", "int8"):
        out = last_json("%s/winnow-%s.json" % (work, p))
        lat = last_json("%s/latency-winnow-%s.json" % (work, p))
        best, lat = out["seconds"], lat["seconds"] / lat["pairs"]
        scores = [line["raw_score"] for line in read_jsonl("%s/winnow-%s.jsonl" % (work, p))]
        rows["winnow " + p] = (best, lat, scores)
    for q in ("fp32", "int8"):
        out = last_json("%s/ort-%s.json" % (work, q))
        lat = last_json("%s/latency-ort-%s.json" % (work, q))
        rows["ort " + q] = (out["seconds"], lat["seconds"] / lat["pairs"], out["scores"])
    reference = rows["winnow fp32"][2]
    print("pairs %d, tokens %d, query groups %d (%d pairs), %.2f GFLOP of unpadded work (%.2f as winnow computes "
          "it), %d threads" % (len(pairs), tokens, len(groups), sum(len(g) for g in groups), work_flops / 1e9,
                               winnow_flops / 1e9, threads))
    print("%-12s %9s %10s %9s %11s %12s %12s %9s %9s %10s" % ("engine", "pairs/s", "tokens/s", "vs ORT", "latency ms",
                                                             "max|dlogit|", "mean|dlogit|", "rho mean", "rho min",
                                                             "GEMM peak"))
    latency_ratio = {}
    for name, (seconds, lat, scores) in rows.items():
        precision = name.split()[1]
        ort_key = "ort " + ("int8" if precision == "int8" else "fp32")
        ort = rows[ort_key][0]
        latency_ratio[name] = lat / rows[ort_key][1]
        max_diff, mean_diff, rho_mean, rho_min = accuracy(scores, reference, groups)
        peak = PEAK_2_THREADS[precision] * threads / 2.0 * 1e9
        print("%-12s %9.1f %10.0f %8.2fx %11.2f %12.4f %12.4f %9.4f %9.4f %9.0f%%" % (
            name, len(pairs) / seconds, tokens / seconds, ort / seconds, lat * 1000, max_diff, mean_diff, rho_mean,
            rho_min, 100.0 * (winnow_flops if name.startswith("winnow") else work_flops) / seconds / peak))
    print("single-pair latency vs ORT's matching precision (bf16 vs ORT fp32): " + ", ".join(
        "%s %.2fx" % (name.split()[1], latency_ratio[name]) for name in rows if name.startswith("winnow")))
    print("GEMM peak: useful (unpadded) FLOP/s, of the work each engine does, over the oneDNN matmul ceiling of the "
          "precision (%s GFLOP/s at 2 "
          "threads, scaled to %d)" % (", ".join("%s %g" % kv for kv in PEAK_2_THREADS.items()), threads))
    e2e = [p for p in ("fp32", "bf16", "int8") if os.path.exists("%s/e2e-%s.json" % (work, p))]
    if e2e:
        info = last_json("%s/e2e-info.json" % work)
        print()
        print("winnow rerank end to end (%d documents, %d tokens with the query, %s): best of the runs, seconds" % (
            info["docs"], info["tokens"], info["tokenizer"]))
        print("%-10s %12s %12s %16s %12s" % ("precision", "command", "load only", "tokenize+score", "docs/s"))
        for p in e2e:
            t = last_json("%s/e2e-%s.json" % (work, p))
            net = t["total"] - t["load"]
            print("%-10s %12.3f %12.3f %16.3f %12.1f" % (p, t["total"], t["load"], net,
                                                         info["docs"] / net if net > 0 else float("nan")))


if __name__ == "__main__":
    if sys.argv[1] == "make-latency":
        make_latency(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "e2e-info":
        e2e_info()
    elif sys.argv[1] == "best-time":
        best_time(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
    elif sys.argv[1] == "make-e2e":
        make_e2e(*sys.argv[2:7])
    elif sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(__doc__)
