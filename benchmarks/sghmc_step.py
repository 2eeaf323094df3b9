"""SG-HMC's update against a plain SGD update on the same network (IMAGES.md §5; issue 14).

The ``bnn`` network (784-100-100-10 ReLU, 89,610 parameters), batch 100 of the labelled MNIST
bundle. For each optimizer, one *update* is forward + backward + ``step()``; the optimizer's own
``step()`` is also timed alone. Rounds alternate SGD and SG-HMC (median of ``--rounds`` rounds of
``--steps`` updates each), 2 threads, so both see the same machine load.

Usage: ``python benchmarks/sghmc_step.py [--rounds 5] [--steps 500] [--threads 2]``; results go to
``benchmarks/results/sghmc_step.json`` and docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textgen_eval.core.config import build_sections  # noqa: E402
from textgen_eval.data.images import load_mnist_labelled  # noqa: E402
from textgen_eval.images.classifier import BNNConfig, build_mlp  # noqa: E402
from textgen_eval.images.sghmc import SGHMC  # noqa: E402


def timed(
    net: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, steps: int
) -> tuple[float, float]:
    """Seconds per full update and per ``step()`` alone."""
    full = step_only = 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        t1 = time.perf_counter()
        opt.step()
        t2 = time.perf_counter()
        full += t2 - t0
        step_only += t2 - t1
    return full / steps, step_only / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sghmc_step.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bundle = load_mnist_labelled()
    x = torch.from_numpy(bundle.train.pixels[:100]).float()
    assert bundle.train.labels is not None
    y = torch.from_numpy(bundle.train.labels[:100])
    cfg: BNNConfig = build_sections({"model": BNNConfig}, {}, {})["model"]
    torch.manual_seed(0)
    nets = {"sgd": build_mlp(cfg, 784), "sghmc": build_mlp(cfg, 784)}
    opts = {
        "sgd": torch.optim.SGD(nets["sgd"].parameters(), lr=1e-3),
        "sghmc": SGHMC(nets["sghmc"].parameters(), lr=1e-3, friction=10.0, num_data=7000),
    }
    for name in opts:  # warm-up
        timed(nets[name], opts[name], x, y, 50)
    rounds: dict[str, list[tuple[float, float]]] = {"sgd": [], "sghmc": []}
    for _ in range(args.rounds):
        for name in ("sgd", "sghmc"):
            rounds[name].append(timed(nets[name], opts[name], x, y, args.steps))
    result = {}
    for name, values in rounds.items():
        result[name] = {
            "update_ms": 1e3 * statistics.median(v[0] for v in values),
            "step_ms": 1e3 * statistics.median(v[1] for v in values),
        }
    result["ratio_update"] = result["sghmc"]["update_ms"] / result["sgd"]["update_ms"]
    result["ratio_step"] = result["sghmc"]["step_ms"] / result["sgd"]["step_ms"]
    result["parameters"] = sum(p.numel() for p in nets["sgd"].parameters())
    result["settings"] = {"rounds": args.rounds, "steps": args.steps, "threads": args.threads, "batch": 100}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
