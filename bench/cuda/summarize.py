#!/usr/bin/env python3
"""Summarises a scripts/device-check run: winnow on cuda against PyTorch fp16, one JSON line.

Reads OUT/torch.json, OUT/winnow-{fp32,bf16,fp16}.json and the score files; the accuracy of each
winnow precision is max |dlogit| over the file's pairs against PyTorch fp32 (torch-fp32-scores).
Goals (issue #19): speedup >= 1.3 at max |dlogit| <= 0.05; latency_p50_ms of 100 pairs <= 5.
"""
import json
import os
import sys


def read_json(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def read_scores(path):
    try:
        with open(path) as f:
            return [json.loads(line)["raw_score"] for line in f if line.strip()]
    except OSError:
        return None


def main(out):
    torch = read_json(os.path.join(out, "torch.json"))
    reference = read_scores(os.path.join(out, "torch-fp32-scores.jsonl"))
    summary = {"torch": torch, "winnow": {}}
    for p in ("fp32", "bf16", "fp16"):
        w = read_json(os.path.join(out, f"winnow-{p}.json"))
        if w is None:
            summary["winnow"][p] = None
            continue
        scores = read_scores(os.path.join(out, f"winnow-{p}-scores.jsonl"))
        entry = dict(w)
        if scores and reference:
            n = len(reference)
            entry["max_abs_dlogit_vs_torch_fp32"] = max(abs(a - b) for a, b in zip(scores[:n], reference))
        if torch:
            entry["speedup_vs_torch_fp16"] = w["pairs_per_s"] / torch["pairs_per_s"]
        entry["goal_met"] = bool(
            entry.get("speedup_vs_torch_fp16", 0) >= 1.3
            and entry.get("max_abs_dlogit_vs_torch_fp32", 1) <= 0.05
            and w.get("latency_p50_ms", 1e9) <= 5.0)
        summary["winnow"][p] = entry
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
