"""One adversarial iteration of RelGAN at its default sizes (issue 31), split into the generator's
update, the discriminator's updates and the Gumbel-softmax relaxation that feeds both — with
``seqgan-rollout``'s iteration (``pg_gan_iteration.py``) in the same run as the reference (ratios,
not absolute times: the machine is shared).

An iteration is RelGAN's (Nie et al. 2019, Alg. 1; PEERS.md §3.5): one generator step and
``gan.d_steps`` discriminator steps, each on a fresh relaxed generated batch. Parts, in seconds:

* ``relax_g``: the relaxed sample the generator's step differentiates through (the memory core
  unrolled over L steps, softmax(β·(o + g)) kept with its graph);
* ``relax_d``: the relaxed samples of the D steps (no graph), summed over the D steps;
* ``g_forward`` (D on the real and relaxed rows, the loss), ``g_backward`` (back through D and
  the relaxation into the generator: the two cannot be timed apart), ``g_step`` (Adam);
* ``d_update``: D's forward, backward and Adam step on real and relaxed rows, summed over D steps.

Usage: ``python benchmarks/relgan_iteration.py [--repeats 3] [--threads 2] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_gan_iteration import _timed, build_task, iteration

from textgen_eval.generators.discrete.relax import GAN_LOSSES
from textgen_eval.generators.discrete.relgan import current_beta, parts
from textgen_eval.generators.discrete.relnets import one_hot_rows, relaxed_sample
from textgen_eval.generators.discrete.task import DiscreteGANTask


def relgan_iteration(task: DiscreteGANTask, real: torch.Tensor) -> dict[str, float]:
    """Seconds of each part of one RelGAN iteration on the real rows ``real (B, T)``."""
    gen, disc = parts(task)
    cfg = task.model.configs["relgan"]
    beta, rows, max_len = current_beta(task), real.shape[0], task.max_len
    g_opt, d_opt = task.optimizers()["gen"], task.optimizers()["disc"]
    times = {"relax_d": 0.0, "d_update": 0.0}

    times["relax_g"], (_, fake) = _timed(  # type: ignore[misc]
        lambda: relaxed_sample(gen, rows, max_len=max_len, beta=beta, device=task.device)
    )
    disc.requires_grad_(False)

    def g_forward() -> torch.Tensor:
        d_real = disc(one_hot_rows(real, fake.shape[-1], max_len))
        return GAN_LOSSES[cfg.loss](d_real, disc(fake))[1]

    times["g_forward"], loss = _timed(g_forward)
    g_opt.zero_grad(set_to_none=True)
    times["g_backward"], _ = _timed(lambda: loss.backward())  # type: ignore[union-attr]
    times["g_step"], _ = _timed(g_opt.step)
    disc.requires_grad_(True)

    for _ in range(task.gan.d_steps):
        with torch.no_grad():
            seconds, (_, d_fake_rows) = _timed(  # type: ignore[misc]
                lambda: relaxed_sample(gen, rows, max_len=max_len, beta=beta, device=task.device)
            )
        times["relax_d"] += seconds

        def d_update(fakes: torch.Tensor = d_fake_rows) -> None:
            d_loss, _ = GAN_LOSSES[cfg.loss](disc(one_hot_rows(real, fakes.shape[-1], max_len)), disc(fakes))
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()

        seconds, _ = _timed(d_update)
        times["d_update"] += seconds
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    torch.manual_seed(0)
    relgan, seqgan = build_task("relgan"), build_task("seqgan-rollout")
    seqgan_batches = iter(seqgan.train_batches("adversarial", 0))
    parts_: dict[str, list[float]] = {}
    reference: list[float] = []
    for repeat in range(opts.repeats + 1):  # interleaved, so both see the same machine load
        real = relgan.real_rows(relgan.train_config.batch_size, key=(repeat, 3))  # (B, T) token ids
        times = relgan_iteration(relgan, real)
        seqgan_times = iteration(seqgan, next(seqgan_batches))
        if repeat == 0:
            continue  # warm-up
        for key, value in times.items():
            parts_.setdefault(key, []).append(value)
        reference.append(sum(v for k, v in seqgan_times.items() if not k.endswith("_only")))
    medians = {k: statistics.median(v) for k, v in parts_.items()}
    total = sum(medians.values())
    groups = {
        "generator_s": medians["g_forward"] + medians["g_backward"] + medians["g_step"],
        "discriminator_s": medians["d_update"],
        "relaxation_s": medians["relax_g"] + medians["relax_d"],
    }
    row = {
        "iteration_s": total,
        **groups,
        **{f"{k}_s": v for k, v in medians.items()},
        "d_steps": relgan.gan.d_steps,
        "seqgan_rollout_iteration_s": statistics.median(reference),
        "vs_seqgan_rollout": total / statistics.median(reference),
    }
    print(json.dumps(row, indent=2), flush=True)
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
