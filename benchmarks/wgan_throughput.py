"""Throughput of WGAN-GP training steps on CPU at the default sizes (COCO words, T = 24, the
2,000 most frequent words + UNK, batch 64, critic 128 channels × 2 blocks), and the cost of the
gradient penalty as a fraction of the critic step.

The peer in the same run is the same critic step without the penalty (a plain WGAN critic loss),
interleaved with the penalised one, so the fraction is a ratio measured under the same load.
Each step is what the runner does: forward, ``zero_grad``, backward, ``Adam.step``.

Usage: ``python benchmarks/wgan_throughput.py [--repeats 30] [--json FILE]``.
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

from textgen_eval.core.models import model_class  # noqa: E402
from textgen_eval.core.training import StepContext  # noqa: E402
from textgen_eval.generators.wgan.penalty import critic_loss  # noqa: E402
from textgen_eval.generators.wgan.task import WGANTask  # noqa: E402
from textgen_eval.pipelines.train import resolve_config  # noqa: E402

VARIANTS = {
    "wgan-conv-deconv (deconv)": ("wgan-conv-deconv", {}),
    "wgan-conv-deconv (resnet)": ("wgan-conv-deconv", {"model.arch": "resnet"}),
    "wgan-conv-lstm": ("wgan-conv-lstm", {}),
}


def ctx(optimizer: str) -> StepContext:
    return StepContext("adversarial", optimizer, 0, 0, 0, 0, None, None)


def timed(task: WGANTask, optimizer: str, batch, *, penalty: bool = True) -> float:
    opt = task.optimizers()[optimizer]
    start = time.perf_counter()
    if penalty or optimizer == "gen":
        loss = task.training_step(batch, ctx(optimizer))["loss"]
    else:  # the peer: the same critic step without the gradient penalty
        real = task._real(batch)
        with torch.no_grad():
            fake = task.module.gen.probs(torch.randn(real.shape[0], task.noise_dim))
        loss = critic_loss(task.module.critic(real), task.module.critic(fake), torch.zeros(()), 0.0)
    opt.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[union-attr]
    opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    lines = [t for t in (ROOT / "data" / "coco" / "train.txt").read_text(encoding="utf-8").split("\n") if t]
    rows = []
    for label, (name, sets) in VARIANTS.items():
        configs = resolve_config(name, None, sets)
        runner_config = configs.pop("runner")
        model = model_class(name)(configs)
        train, _ = model.prepare_corpora(lines, None)  # type: ignore[attr-defined]
        task = WGANTask(model, train, None, runner_config)  # type: ignore[arg-type]
        task.setup(torch.device("cpu"))
        batches = list(task.train_batches("adversarial", 0))
        size = configs["train"].batch_size
        for i in range(3):  # warm-up
            timed(task, "critic", batches[i])
            timed(task, "gen", None)
        gp, plain, gen = [], [], []
        for i in range(opts.repeats):
            batch = batches[(i + 3) % len(batches)]
            gp.append(timed(task, "critic", batch))
            plain.append(timed(task, "critic", batch, penalty=False))
            gen.append(timed(task, "gen", None))
        t_gp, t_plain, t_gen = statistics.median(gp), statistics.median(plain), statistics.median(gen)
        n_critic = configs["wgan"].n_critic
        row = {
            "model": label,
            "vocab": len(model.require_vocab()),  # type: ignore[attr-defined]
            "critic_sent_per_s": size / t_gp,
            "critic_without_gp_sent_per_s": size / t_plain,
            "gp_fraction_of_critic_step": 1 - t_plain / t_gp,
            "gen_sent_per_s": size / t_gen,
            "cycle_s": n_critic * t_gp + t_gen,
            "gen_iters_per_min": 60 / (n_critic * t_gp + t_gen),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
