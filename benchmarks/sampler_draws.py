"""One categorical draw per row: ``torch.multinomial`` against the shared sampler's inverse CDF
(``textgen_eval.generators.text.sampler.inverse_cdf``), interleaved in the same run.

Shapes: a rollout step of ``seqgan-rollout`` at its defaults (64 × 23 prefixes × 4 rollouts =
5,888 rows, the bundled COCO vocabulary of 6,098), a ``tge sample`` batch of the bundled LM
(1,000 rows, 3,064 tokens) and a small batch (64 × 2,004). Also checks that both draw from the
same distribution: the frequencies of 200,000 draws from one row agree within 4 standard errors.

Usage: ``python benchmarks/sampler_draws.py [--repeats 10] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textgen_eval.generators.text.sampler import inverse_cdf  # noqa: E402

SHAPES = [(5888, 6098), (1000, 3064), (64, 2004)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(0)
    rows = []
    for n, v in SHAPES:
        probs = torch.softmax(torch.randn(n, v, generator=g), dim=-1)
        timings: dict[str, list[float]] = {"multinomial": [], "inverse_cdf": []}
        for i in range(opts.repeats + 1):
            t0 = time.perf_counter()
            torch.multinomial(probs, 1, generator=g)
            t1 = time.perf_counter()
            inverse_cdf(probs, torch.rand(n, generator=g))
            t2 = time.perf_counter()
            if i:  # the first round warms up
                timings["multinomial"].append(t1 - t0)
                timings["inverse_cdf"].append(t2 - t1)
        m, c = statistics.median(timings["multinomial"]), statistics.median(timings["inverse_cdf"])
        rows.append({"rows": n, "vocab": v, "multinomial_s": m, "inverse_cdf_s": c, "speedup": m / c})
        print(json.dumps(rows[-1]), flush=True)
    p = torch.softmax(torch.randn(50, generator=g), dim=-1)
    draws = 200_000
    a = torch.bincount(torch.multinomial(p.expand(draws, 50), 1, generator=g).squeeze(1), minlength=50)
    b = torch.bincount(
        inverse_cdf(p.expand(draws, 50), torch.rand(draws, generator=g)).squeeze(1), minlength=50
    )
    se = (2 * p * (1 - p) / draws).sqrt()  # of a difference of two frequencies
    z = float(((a - b).double() / draws / se.double()).abs().max())
    check = {"same_distribution_max_z": z, "within_4_se": z < 4}
    print(json.dumps(check), flush=True)
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps({"draws": rows, "check": check}, indent=2) + "\n")


if __name__ == "__main__":
    main()
