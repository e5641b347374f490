#!/usr/bin/env python3
"""Helpers for run.sh (standard library only).

make-latency PAIRS LENGTH COPIES   one LENGTH-token pair from PAIRS, repeated COPIES times, as JSONL
report WORK PAIRS                  the table: speed (best of the runs), ratios to ONNX Runtime, accuracy
                                   against winnow fp32 (max abs logit diff, mean/min Spearman per query)
"""
import json
import sys

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
    max_diff = max(abs(a - b) for a, b in zip(scores, reference))
    rhos = [spearman([scores[i] for i in g], [reference[i] for i in g]) for g in groups]
    return max_diff, sum(rhos) / len(rhos), min(rhos)


def report(work, pairs_path):
    pairs = read_jsonl(pairs_path)
    groups = query_groups(pairs)
    tokens = sum(len(p["input_ids"]) for p in pairs)
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
    print("pairs %d, tokens %d, query groups %d (%d pairs)" % (len(pairs), tokens, len(groups),
                                                               sum(len(g) for g in groups)))
    print("%-12s %9s %10s %10s %11s %12s %9s %9s" % ("engine", "pairs/s", "tokens/s", "vs ORT", "latency ms",
                                                     "max|dlogit|", "rho mean", "rho min"))
    for name, (seconds, lat, scores) in rows.items():
        precision = name.split()[1]
        ort = rows["ort " + ("int8" if precision == "int8" else "fp32")][0]
        max_diff, rho_mean, rho_min = accuracy(scores, reference, groups)
        print("%-12s %9.1f %10.0f %9.2fx %11.2f %12.4f %9.4f %9.4f" % (
            name, len(pairs) / seconds, tokens / seconds, ort / seconds, lat * 1000, max_diff, rho_mean, rho_min))


if __name__ == "__main__":
    if sys.argv[1] == "make-latency":
        make_latency(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
