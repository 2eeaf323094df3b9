"""The compound VAE's encoders against each other (issue 14): one training update (forward,
backward, Adam step) of ``compound-vae`` with the vanilla, BBB and DBNN encoders, the paper's
sizes (784-100, latent 5, batch 32), on binarized MNIST; rounds alternate the encoders, median of
``--rounds`` rounds of ``--steps`` updates, 2 threads. Also the encoder's parameter count (the DBNN
heads' hypernetworks are (out·in)·in per projection).

Usage: ``python benchmarks/dbnn_encoder.py [--rounds 5] [--steps 200]``; results in
``benchmarks/results/dbnn_encoder.json`` and docs/performance.md.
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

from textgen_eval.core.config import build_sections  # noqa: E402
from textgen_eval.data.images import load_mnist_binarized  # noqa: E402
from textgen_eval.images.compound import CompoundConfig, CompoundNet  # noqa: E402
from textgen_eval.images.objective import training_loss  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dbnn_encoder.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.from_numpy(load_mnist_binarized().train.pixels[:32]).float()
    nets, opts = {}, {}
    for encoder in ("vanilla", "bnn", "dbnn"):
        cfg: CompoundConfig = build_sections({"model": CompoundConfig}, {}, {"model.encoder": encoder})[
            "model"
        ]
        torch.manual_seed(0)
        nets[encoder] = CompoundNet(cfg, 784)
        opts[encoder] = torch.optim.Adam(nets[encoder].parameters(), lr=1e-3)

    def update(encoder: str) -> None:
        net, opt = nets[encoder], opts[encoder]
        opt.zero_grad()
        p = net(x, lambda shape: torch.randn(shape))
        static, dynamic = net.weight_kl()
        loss = (
            training_loss(p, x, beta=1.0, estimator="auto", mc=1, iw=1)["loss"]
            + (static + dynamic.sum()) / 32
        )
        loss.backward()
        opt.step()

    for encoder in nets:
        for _ in range(20):
            update(encoder)
    times: dict[str, list[float]] = {e: [] for e in nets}
    for _ in range(args.rounds):
        for encoder in nets:
            t0 = time.perf_counter()
            for _ in range(args.steps):
                update(encoder)
            times[encoder].append((time.perf_counter() - t0) / args.steps)
    result = {
        e: {
            "update_ms": 1e3 * statistics.median(t),
            "encoder_parameters": sum(
                p.numel() for n, p in nets[e].named_parameters() if not n.startswith("decoder")
            ),
        }
        for e, t in times.items()
    }
    for e in ("bnn", "dbnn"):
        result[e]["ratio_to_vanilla"] = result[e]["update_ms"] / result["vanilla"]["update_ms"]
    result["settings"] = {"rounds": args.rounds, "steps": args.steps, "threads": args.threads, "batch": 32}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
