"""One adversarial iteration of each of the peers' policy-gradient GANs (issue 30), split into
sampling the generator's batch, credit assignment (rollouts, ranking, the LM discriminator's
NLL), the generator's update and one discriminator update — with ``seqgan-rollout`` measured
in the same run as the reference (ratios, not absolute times: the machine is shared).

RankGAN's credit is split further into drawing the rollouts' completions and ranking them
against the reference and comparison sets (issue 30: ranking must not cost more than the
rollouts it scores). Every model at its defaults (batch 64, length 24, 4 rollouts where it rolls
out), random weights, the bundled COCO vocabulary.

Usage: ``python benchmarks/pg_gan_iteration.py [--repeats 3] [--threads 2] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textgen_eval.core.models import model_class  # noqa: E402
from textgen_eval.core.training import StepContext  # noqa: E402
from textgen_eval.generators.discrete.guo import manager_rewards, parts  # noqa: E402
from textgen_eval.generators.discrete.hierarchy import unroll  # noqa: E402
from textgen_eval.generators.discrete.rewards import (  # noqa: E402
    goal_cosines,
    intrinsic_rewards,
    policy_gradient_loss,
    token_mask,
)
from textgen_eval.generators.discrete.task import CREDIT, DiscreteGANTask, rank_scorer  # noqa: E402
from textgen_eval.generators.lstm_lm.model import sequence_cross_entropy  # noqa: E402
from textgen_eval.generators.text.sampler import rollouts  # noqa: E402
from textgen_eval.pipelines.train import resolve_config  # noqa: E402

MODELS = ("seqgan-rollout", "maligan", "dpgan", "rankgan", "leakgan")


def build_task(name: str) -> DiscreteGANTask:
    configs = resolve_config(name, None, {"runner.device": "cpu"})
    runner_config = configs.pop("runner")
    model = model_class(name)(configs)
    lines = [t for t in (ROOT / "data" / "coco" / "train.txt").read_text(encoding="utf-8").split("\n") if t]
    train, valid = model.prepare_corpora(lines, lines[:500])  # type: ignore[attr-defined]
    task = DiscreteGANTask(model, train, valid, runner_config)  # type: ignore[arg-type]
    task.setup(torch.device("cpu"))
    task.module.train()
    return task


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def iteration(task: DiscreteGANTask, batch: object) -> dict[str, float]:
    """Seconds of each part of one adversarial iteration."""
    name, opt = task.model.name, task.optimizers()["gen"]
    times: dict[str, float] = {}
    if name == "leakgan":
        with torch.no_grad():
            times["sample"], tokens = _timed(lambda: task.sample_rows(task.train_config.batch_size))
            times["credit"], q = _timed(lambda: manager_rewards(task, tokens))  # type: ignore[arg-type]

        def g_update() -> None:
            gen, disc = parts(task.module)
            out = unroll(gen, disc, tokens)  # type: ignore[arg-type]
            mask = token_mask(tokens)  # type: ignore[arg-type]
            logp = -sequence_cross_entropy(out.logits, tokens, contiguous=False)  # type: ignore[arg-type]
            cos = goal_cosines(out.feats, out.goals, 4)
            intrinsic = intrinsic_rewards(out.feats, out.goals.detach(), 4) * mask
            loss = -(q * mask * cos).sum(1).mean() + policy_gradient_loss(logp, intrinsic, mask)  # type: ignore[operator]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        times["g_update"], _ = _timed(g_update)
    else:
        times["sample"], drawn = _timed(lambda: task._sample(task.train_config.batch_size, keep_graph=True))
        tokens = drawn.tokens  # type: ignore[attr-defined]
        with torch.no_grad():
            times["credit"], rewards = _timed(lambda: CREDIT[task.model.credit](task, tokens))
            if name == "rankgan":  # the same work in its two parts
                times["rollouts_only"], completed = _timed(
                    lambda: rollouts(
                        task.rollout_policy(), tokens, n_rollouts=task.gan.rollouts, max_len=tokens.shape[1]
                    )
                )
                scorer = rank_scorer(task, (0,))
                flat = completed.reshape(-1, tokens.shape[1])  # type: ignore[union-attr]
                times["ranking_only"], _ = _timed(lambda: scorer(flat))

        def g_update() -> None:
            loss = policy_gradient_loss(drawn.logprobs, rewards, token_mask(tokens))  # type: ignore[arg-type,attr-defined]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        times["g_update"], _ = _timed(g_update)

    def d_update() -> None:
        out = task.training_step(batch, StepContext("adversarial", "disc", 0, 1, 0, 0, None, None))  # type: ignore[arg-type]
        d_opt = task.optimizers()["disc"]
        d_opt.zero_grad(set_to_none=True)
        out["loss"].backward()  # type: ignore[union-attr]
        d_opt.step()

    times["d_update"], _ = _timed(d_update)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    tasks = {}
    for name in opts.models.split(","):
        torch.manual_seed(0)
        tasks[name] = build_task(name)
    results: dict[str, dict[str, list[float]]] = {name: {} for name in tasks}
    batches = {name: iter(task.train_batches("adversarial", 0)) for name, task in tasks.items()}
    for repeat in range(opts.repeats + 1):  # models interleaved, so all see the same machine load
        for name, task in tasks.items():
            times = iteration(task, next(batches[name]))
            if repeat == 0:
                continue  # warm-up
            for key, value in times.items():
                results[name].setdefault(key, []).append(value)
    rows = {}
    reference = None
    for name, parts_ in results.items():
        medians = {k: statistics.median(v) for k, v in parts_.items()}
        total = sum(v for k, v in medians.items() if not k.endswith("_only"))
        reference = total if name == "seqgan-rollout" else reference
        rows[name] = {"iteration_s": total, **{f"{k}_s": v for k, v in medians.items()}}
        print(json.dumps({"model": name, **rows[name]}), flush=True)
    if reference is not None:
        for row in rows.values():
            row["vs_seqgan_rollout"] = row["iteration_s"] / reference
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
