"""Speed of the issue-16 metrics against straightforward implementations, in one run (ratios).

    python benchmarks/distribution_metrics_speed.py [--n 10000] [--dim 256] [--rounds 3]

1. copy-rate + novel-ngrams-4 (10k COCO samples vs 10k training captions): ours (the BLEU n-gram
   tables) vs Python sets of token tuples.
2. k-NN precision/recall at n × n: ours (float32 blocks, float64 re-rank/check) vs float64
   blocks with scipy's cdist.
3. ``--ci`` with 1,000 resamples on bleu-4, self-bleu-4, copy-rate, novel-ngrams-4: the cost of
   the intervals relative to computing the metrics.
Medians of --rounds rounds; results to benchmarks/results/distribution_metrics_speed.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from textgen_eval.data.textset import as_textset
from textgen_eval.data.tokenizers import WhitespaceTokenizer
from textgen_eval.metrics.bleu import Span, span_bleu
from textgen_eval.metrics.bootstrap import RatioOfSums, bootstrap_interval
from textgen_eval.metrics.knn import knn_precision_recall
from textgen_eval.metrics.memorization import copy_flags, novel_counts
from textgen_eval.metrics.tables import NgramTables

ROOT = Path(__file__).resolve().parent.parent


def timed(fn, rounds: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def naive_memorization(samples: list[str], train: list[str]) -> tuple[float, float]:
    seen = {tuple(t.split()) for t in train}
    grams = {tuple(w[i : i + 4]) for t in train for w in [t.split()] for i in range(len(w) - 3)}
    copies = sum(tuple(s.split()) in seen for s in samples) / len(samples)
    novel = total = 0
    for s in samples:
        w = s.split()
        for i in range(len(w) - 3):
            total += 1
            novel += tuple(w[i : i + 4]) not in grams
    return copies, novel / total


def ours_memorization(samples: list[str], train: list[str]) -> tuple[float, float]:
    tables = NgramTables(WhitespaceTokenizer())
    flags = copy_flags(tables, samples, train)
    novel, total, _, _ = novel_counts(tables, samples, train, 4)
    return float(flags.mean()), int(novel.sum()) / int(total.sum())


def naive_knn(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    def radii(x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        for lo in range(0, len(x), 1024):
            d = cdist(x[lo : lo + 1024], x)
            d[np.arange(len(d)), np.arange(lo, lo + len(d))] = np.inf
            out[lo : lo + 1024] = np.sort(d, axis=1)[:, k - 1]
        return out

    def inside(q: np.ndarray, c: np.ndarray, r: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [(cdist(q[lo : lo + 1024], c) <= r).any(axis=1) for lo in range(0, len(q), 1024)]
        )

    return float(inside(fake, real, radii(real)).mean()), float(inside(real, fake, radii(fake)).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    coco = ROOT / "data" / "coco"
    samples = (coco / "test.txt").read_text().splitlines()[: opts.n]
    train = (coco / "train.txt").read_text().splitlines()[: opts.n]
    results: dict[str, object] = {"n": opts.n, "dim": opts.dim, "rounds": opts.rounds}

    t_ours, a = timed(lambda: ours_memorization(samples, train), opts.rounds)
    t_naive, b = timed(lambda: naive_memorization(samples, train), opts.rounds)
    assert abs(a[0] - b[0]) < 1e-12 and abs(a[1] - b[1]) < 1e-12, (a, b)
    warm = NgramTables(WhitespaceTokenizer())
    warm.ngram_ids(4, samples, train)  # what bleu-4 of the same evaluation has already built

    def ours_warm() -> tuple[float, float]:
        flags = copy_flags(warm, samples, train)
        novel, total, _, _ = novel_counts(warm, samples, train, 4)
        return float(flags.mean()), int(novel.sum()) / int(total.sum())

    t_warm, c = timed(ours_warm, opts.rounds)
    assert c == a
    results["memorization"] = {
        "ours_cold_s": t_ours,
        "ours_with_bleu_tables_s": t_warm,
        "naive_s": t_naive,
        "speedup_cold": t_naive / t_ours,
        "speedup_with_tables": t_naive / t_warm,
    }

    rng = np.random.default_rng(0)
    real = rng.normal(size=(opts.n, opts.dim))
    fake = rng.normal(0.2, 1.0, size=(opts.n, opts.dim))
    t_ours, a = timed(lambda: knn_precision_recall(real, fake, 3), opts.rounds)
    t_naive, b = timed(lambda: naive_knn(real, fake, 3), 1)
    assert a == b, (a, b)
    results["knn"] = {"ours_s": t_ours, "naive_float64_s": t_naive, "speedup": t_naive / t_ours, "values": a}

    tables = NgramTables(WhitespaceTokenizer())
    hyps, refs = as_textset(samples), as_textset(train)

    def metrics() -> list[np.ndarray]:
        bleu = np.asarray(span_bleu(tables, Span(hyps, 0, len(hyps)), Span(refs, 0, len(refs)), 4))
        selfb = np.asarray(span_bleu(tables, Span(hyps, 0, len(hyps)), None, 4))
        flags = copy_flags(tables, hyps, refs).astype(float)
        novel, total, _, _ = novel_counts(tables, hyps, refs, 4)
        return [bleu, selfb, flags, novel, total]

    def metrics_cold() -> list[np.ndarray]:
        nonlocal tables
        tables = NgramTables(WhitespaceTokenizer())
        return metrics()

    t_metrics, arrays = timed(metrics_cold, opts.rounds)
    bleu, selfb, flags, novel, total = arrays

    def intervals() -> None:
        for resample in (
            RatioOfSums(bleu),
            RatioOfSums(selfb),
            RatioOfSums(flags),
            RatioOfSums(novel, total),
        ):
            bootstrap_interval(resample, level=0.95, resamples=1000, seed=0)

    t_ci, _ = timed(intervals, opts.rounds)
    results["ci"] = {"metrics_s": t_metrics, "intervals_s": t_ci, "factor": (t_metrics + t_ci) / t_metrics}
    out = ROOT / "benchmarks" / "results" / "distribution_metrics_speed.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
