"""CPU-scale reproduction B1 (IMAGES.md §7): an SG-HMC posterior predictive against single networks.

The labelled ``mnist`` bundle (MNIST's t10k binarized at 0.5, stratified 7,000 / 1,000 / 2,000,
seed 0), an MLP 784-100-100-10 ReLU, batch 100, scored on the 2,000 test images:

- (a) Adam 1e-3 without weight decay for 100 epochs: an over-trained single network;
- (b) MAP: Adam 1e-3 with weight decay 1e-4 for 30 epochs;
- (c) SG-HMC with the prior N(0, 1), T = 1, per-datum step 1e-2, friction 0.05, 2,000 burn-in
  steps, 50 samples one every 100 steps (7,001 updates); the predictive averages the samples.

No early stopping and no restoring of a "best" state (every model gets its fixed budget). Claims
(Milios 2025 recommends sampling over single networks; the pilot of IMAGES.md §7): the SG-HMC
predictive has a lower ECE than (a) and (b), a lower NLL than (a), an NLL about that of (b), and
an accuracy within 1.5 points of (b).

Usage: ``python benchmarks/bnn_reproductions.py [--seeds 3] [--out benchmarks/results/bnn]``
(≈ 5 min on 2 cores); ``--report-only`` re-renders the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from summary import mean_sd  # noqa: E402  (benchmarks/summary.py)

from textgen_eval.core.config import build_sections  # noqa: E402
from textgen_eval.core.models import model_class  # noqa: E402
from textgen_eval.data.images import load_mnist_labelled  # noqa: E402
from textgen_eval.metrics.registry import resolve_model_metric  # noqa: E402
from textgen_eval.training import Runner, RunnerConfig  # noqa: E402

CONFIGS = {
    "(a) Adam, 100 epochs, no weight decay": ({"model.inference": "map"}, 100),
    "(b) MAP, weight decay 1e-4, 30 epochs": ({"model.inference": "map", "train.weight_decay": "1e-4"}, 30),
    "(c) SG-HMC, N(0,1) prior, T = 1": ({"model.inference": "sghmc"}, 1000),
}
METRICS = ("accuracy", "nll-pred", "ece-15", "brier", "shift-entropy")
PILOT = {
    "(a) Adam, 100 epochs, no weight decay": "93.5 % / 0.498 / 0.053",
    "(b) MAP, weight decay 1e-4, 30 epochs": "93.1 % / 0.307 / 0.043",
    "(c) SG-HMC, N(0,1) prior, T = 1": "92.9 % / 0.317 / 0.015",
}


def run(sets: dict[str, str], epochs: int, seed: int, bundle: Any) -> dict[str, Any]:
    cls = model_class("bnn")
    model = cls(build_sections(dict(cls.config_sections), {}, {"model.hidden": "100,100", **sets}))
    config = RunnerConfig(max_epochs=epochs, seed=seed, device="cpu", restore_best=False, log_every=10_000)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = model.fit(bundle.train, bundle.valid, Runner(config, run_dir=Path(tmp)))
    seconds = time.perf_counter() - t0
    scores = {m: resolve_model_metric(m).compute(model, bundle.test, seed=0) for m in METRICS}
    return {
        "seed": seed,
        "steps": result.steps,
        "seconds": seconds,
        **{m: s.value for m, s in scores.items()},
        "signature": scores["nll-pred"].signature,
    }


def report(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "| model | accuracy ↑ | test NLL ↓ | ECE-15 ↓ | Brier ↓ | entropy on 60°-rotated digits | "
        "updates | seconds | pilot (acc / NLL / ECE) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, runs in results.items():
        lines.append(
            f"| {label} | {mean_sd([100 * r['accuracy'] for r in runs], 2)} % "
            f"| {mean_sd([r['nll-pred'] for r in runs], 3)} | {mean_sd([r['ece-15'] for r in runs], 3)} "
            f"| {mean_sd([r['brier'] for r in runs], 3)} | {mean_sd([r['shift-entropy'] for r in runs], 3)} "
            f"| {runs[0]['steps']:,} | {statistics.mean(r['seconds'] for r in runs):.0f} | {PILOT[label]} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bnn")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "bnn_reproductions.json"
    if args.report_only:
        results = json.loads(path.read_text())
    else:
        bundle = load_mnist_labelled()
        results = {}
        for label, (sets, epochs) in CONFIGS.items():
            results[label] = []
            for seed in range(args.seeds):
                r = run(sets, epochs, seed, bundle)
                results[label].append(r)
                path.write_text(json.dumps(results, indent=2) + "\n")
                print(label, seed, {m: round(r[m], 4) for m in METRICS}, f"{r['seconds']:.0f}s", flush=True)
    print(report(results))


if __name__ == "__main__":
    main()
