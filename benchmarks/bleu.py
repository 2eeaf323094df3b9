"""BLEU-4 and self-BLEU-4 at 10,000 × 10,000 on bundled COCO: textgen_eval vs nltk (and fast-bleu).

Usage:  python benchmarks/bleu.py [--nltk-samples 20] [--repeat 3] [--json OUT]

- textgen_eval: both metrics through ``evaluate()`` (tokenization, n-gram tables, scoring),
  best of ``--repeat`` wall times, plus peak traced memory (tracemalloc) of one run.
- nltk: ``sentence_bleu`` + method1 on the first ``--nltk-samples`` samples against all 10,000
  references (self-BLEU: against the 9,999 others), timed per sample and extrapolated to 10,000.
  The same samples are compared with ours: the maximum absolute difference must be 0.
- fast-bleu (C++, multithreaded; if installed): full run, and its maximum difference from ours.
- scaling: our time at n × n for n = 1,250 ... 10,000 (time per token should stay flat).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textgen_eval.metrics.bleu import bleu_scores, self_bleu_scores  # noqa: E402
from textgen_eval.pipelines.evaluate import evaluate  # noqa: E402

ORDER = 4
WEIGHTS = tuple(1.0 / ORDER for _ in range(ORDER))


def lines(split: str) -> list[str]:
    return (ROOT / "data" / "coco" / f"{split}.txt").read_text(encoding="utf-8").split("\n")


def ours(hyps: list[str], refs: list[str]) -> tuple[float, float]:
    result = evaluate(hyps, refs, metrics=["bleu-4", "self-bleu-4"])
    return result["bleu-4"].value, result["self-bleu-4"].value


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_nltk(hyps: list[str], refs: list[str], k: int) -> dict[str, float]:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    smooth = SmoothingFunction().method1
    ref_tok = [r.split() for r in refs]
    hyp_tok = [h.split() for h in hyps]
    start = time.perf_counter()
    bleu = [sentence_bleu(ref_tok, hyp_tok[i], WEIGHTS, smoothing_function=smooth) for i in range(k)]
    t_bleu = (time.perf_counter() - start) / k
    start = time.perf_counter()
    self_bleu = [
        sentence_bleu(hyp_tok[:i] + hyp_tok[i + 1 :], hyp_tok[i], WEIGHTS, smoothing_function=smooth)
        for i in range(k)
    ]
    t_self = (time.perf_counter() - start) / k
    mine_bleu = bleu_scores(hyps, refs, ORDER)[:k]
    mine_self = self_bleu_scores(hyps, ORDER)[:k]
    diff = max(
        max(abs(a - b) for a, b in zip(bleu, mine_bleu)),
        max(abs(a - b) for a, b in zip(self_bleu, mine_self)),
    )
    return {
        "per_sample_s": t_bleu + t_self,
        "bleu_per_sample_s": t_bleu,
        "self_per_sample_s": t_self,
        "max_abs_diff": diff,
    }


def run_fast_bleu(hyps: list[str], refs: list[str]) -> dict[str, float] | None:
    try:
        from fast_bleu import BLEU, SelfBLEU
    except ImportError:
        return None
    ref_tok = [r.split() for r in refs]
    hyp_tok = [h.split() for h in hyps]
    start = time.perf_counter()
    bleu = BLEU(ref_tok, {"4": WEIGHTS}).get_score(hyp_tok)["4"]
    self_bleu = SelfBLEU(hyp_tok, {"4": WEIGHTS}).get_score()["4"]
    elapsed = time.perf_counter() - start
    mine_bleu = bleu_scores(hyps, refs, ORDER)
    mine_self = self_bleu_scores(hyps, ORDER)
    return {
        "seconds": elapsed,
        "max_abs_diff_bleu": max(abs(a - b) for a, b in zip(bleu, mine_bleu)),
        "max_abs_diff_self": max(abs(a - b) for a, b in zip(self_bleu, mine_self)),
        "bleu4": math.fsum(bleu) / len(bleu),
        "self_bleu4": math.fsum(self_bleu) / len(self_bleu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nltk-samples", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    hyps, refs = lines("train"), lines("test")
    n = len(hyps)
    wall = best_time(lambda: ours(hyps, refs), args.repeat)
    tracemalloc.start()
    bleu4, self4 = ours(hyps, refs)
    peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    scaling = []
    for size in (1250, 2500, 5000, 10000):
        t = best_time(lambda size=size: ours(hyps[:size], refs[:size]), args.repeat)
        tokens = sum(len(s.split()) for s in hyps[:size] + refs[:size])
        scaling.append({"n": size, "seconds": t, "us_per_token": 1e6 * t / tokens})

    nltk = run_nltk(hyps, refs, args.nltk_samples)
    nltk_total = nltk["per_sample_s"] * n
    fast = run_fast_bleu(hyps, refs)

    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "n_samples": n,
        "n_references": len(refs),
        "ours": {"seconds": wall, "peak_traced_mib": peak_mib, "bleu4": bleu4, "self_bleu4": self4},
        "nltk": {**nltk, "extrapolated_s": nltk_total, "samples_timed": args.nltk_samples},
        "speedup_vs_nltk": nltk_total / wall,
        "fast_bleu": fast,
        "scaling": scaling,
    }
    print(
        f"textgen_eval  BLEU-4 + self-BLEU-4, {n:,} x {len(refs):,}: {wall:.3f} s "
        f"(peak traced memory {peak_mib:.0f} MiB); BLEU-4 {bleu4:.6f}, self-BLEU-4 {self4:.6f}"
    )
    print(
        f"nltk          {nltk['per_sample_s'] * 1e3:.1f} ms per sample "
        f"(both metrics, {args.nltk_samples} timed) "
        f"-> {nltk_total / 60:.1f} min extrapolated; max |diff| vs ours = {nltk['max_abs_diff']:.3g}"
    )
    print(f"speed-up      {report['speedup_vs_nltk']:,.0f}x nltk per sample")
    if fast:
        print(
            f"fast-bleu     {fast['seconds']:.2f} s (C++, threads); "
            f"max |diff| vs ours: BLEU {fast['max_abs_diff_bleu']:.3g}, "
            f"self-BLEU {fast['max_abs_diff_self']:.3g}; ratio {fast['seconds'] / wall:.1f}x our time"
        )
    else:
        print("fast-bleu     not installed")
    for row in scaling:
        print(f"scaling       n={row['n']:>6,}: {row['seconds']:.3f} s, {row['us_per_token']:.2f} us/token")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
