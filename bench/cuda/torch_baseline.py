#!/usr/bin/env python3
"""The PyTorch baseline of issue #19, run on the GPU machine by scripts/device-check.

Loads the shared bench cross-encoder (minilm-l6-v1024) through transformers, scores the
pre-tokenized pairs of pairs-256.jsonl repeated to --total pairs in length-sorted batches of
--batch (sentence-transformers' habit, PyTorch's best setting) in fp16, and prints one JSON line:
  {"engine": "torch", "dtype": "fp16", "pairs", "tokens", "seconds", "pairs_per_s",
   "latency_pairs", "latency_p50_ms", "latency_p99_ms"}
--scores FILE writes the fp32 logits of the file's pairs ({"raw_score"} lines, input order): the
reference winnow's GPU scores are compared against (max |dlogit|).
"""
import argparse
import json
import statistics
import sys
import time

import torch
from transformers import AutoModelForSequenceClassification


def load_pairs(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def batches(pairs, batch, device):
    """Length-sorted padded batches: (indices, input_ids, token_type_ids, attention_mask)."""
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i]["input_ids"]))
    out = []
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        width = max(len(pairs[i]["input_ids"]) for i in idx)
        ids = torch.zeros((len(idx), width), dtype=torch.long)
        types = torch.zeros((len(idx), width), dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            n = len(pairs[i]["input_ids"])
            ids[row, :n] = torch.tensor(pairs[i]["input_ids"])
            types[row, :n] = torch.tensor(pairs[i]["token_type_ids"])
            mask[row, :n] = 1
        out.append((idx, ids.to(device), types.to(device), mask.to(device)))
    return out


@torch.inference_mode()
def score(model, prepared, n):
    logits = torch.empty(n, device="cuda")
    for idx, ids, types, mask in prepared:
        out = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits[:, 0]
        logits[torch.tensor(idx, device="cuda")] = out.float()
    return logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--total", type=int, default=16384)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency-pairs", type=int, default=100)
    ap.add_argument("--scores", default="")
    args = ap.parse_args()

    file_pairs = load_pairs(args.pairs)
    pairs = [file_pairs[i % len(file_pairs)] for i in range(max(args.total, len(file_pairs)))]
    tokens = sum(len(p["input_ids"]) for p in pairs)

    if args.scores:
        fp32 = AutoModelForSequenceClassification.from_pretrained(args.model, dtype=torch.float32).cuda().eval()
        ref = score(fp32, batches(file_pairs, args.batch, "cuda"), len(file_pairs)).cpu().tolist()
        with open(args.scores, "w") as f:
            for v in ref:
                f.write(json.dumps({"raw_score": v}) + "\n")
        del fp32

    model = AutoModelForSequenceClassification.from_pretrained(args.model, dtype=torch.float16).cuda().eval()
    prepared = batches(pairs, args.batch, "cuda")
    score(model, prepared, len(pairs))  # warm-up (kernels chosen, memory pooled)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        score(model, prepared, len(pairs))
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)

    request = batches(file_pairs[:args.latency_pairs], args.latency_pairs, "cuda")
    ms = []
    for i in range(55):
        start = time.perf_counter()
        score(model, request, min(args.latency_pairs, len(file_pairs)))
        torch.cuda.synchronize()
        if i >= 5:
            ms.append((time.perf_counter() - start) * 1e3)
    ms.sort()
    print(json.dumps({
        "engine": "torch", "torch": torch.__version__, "dtype": "fp16", "pairs": len(pairs), "tokens": tokens,
        "seconds": best, "pairs_per_s": len(pairs) / best, "batch": args.batch,
        "latency_pairs": min(args.latency_pairs, len(file_pairs)),
        "latency_p50_ms": statistics.median(ms), "latency_p99_ms": ms[len(ms) * 99 // 100],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
