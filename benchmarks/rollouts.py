"""Batched Monte-Carlo rollouts against a per-prefix loop, and where an adversarial iteration of
``seqgan-rollout`` spends its time (issue 12; GENERATORS.md §5).

All sides compute SeqGAN's rollout rewards (Yu et al. 2017, eq. 4) for the same sampled batch
with the same generator and discriminator: the batched side branches every prefix × rollout from
the generator's state after the prefix and advances all of them together
(``textgen_eval.generators.discrete.rewards.rollout_rewards``); the peer loops over prefixes
y_{1:t}, completing B × R rows per prefix (re-reading the prefix) and scoring them, as
TextGAN-PyTorch's and SeqGAN's ``get_reward`` loops do; a second peer re-reads every prefix for
every completion in one batched pass. Every draw comes from the same table of
uniforms (inverse CDF), so the two draw the same completions; the benchmark reports how many
completions differ (batching changes floating-point rounding, so a draw that falls within ~1e-7
of a CDF boundary may flip) and the largest reward difference.

The networks are ``seqgan-rollout``'s defaults (generator LSTM 128, D LSTM 128, the bundled COCO
vocabulary) at random initialisation, whose samples rarely stop early: a worst case for length.

Usage: ``python benchmarks/rollouts.py [--batch 64] [--length 20] [--rollouts 16] [--repeats 3]
[--json FILE]``.
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
from textgen_eval.data.vocab import PAD_ID  # noqa: E402
from textgen_eval.generators.discrete.rewards import rollout_rewards, token_mask  # noqa: E402
from textgen_eval.generators.discrete.task import DiscreteGANTask  # noqa: E402
from textgen_eval.generators.text.sampler import Decoder, sample_tokens  # noqa: E402
from textgen_eval.pipelines.train import resolve_config  # noqa: E402


def loop_rollout_rewards(
    policy: Decoder, score, tokens: torch.Tensor, n_rollouts: int, uniforms: torch.Tensor
):
    """The peer: one sampler pass and one D pass per prefix length."""
    batch, length = tokens.shape
    rewards = score(tokens).unsqueeze(1).repeat(1, length)
    completions = []
    for p in range(length - 1):
        prefix = tokens.repeat_interleave(n_rollouts, dim=0)  # (B·R, L), rows ordered (b, r)
        plen = torch.full((batch * n_rollouts,), p + 1, dtype=torch.long)
        out = sample_tokens(
            policy, batch * n_rollouts, max_len=length, prefix=prefix, prefix_len=plen,
            uniforms=uniforms[:, p].reshape(-1, length),
        ).tokens  # fmt: skip
        full = torch.full((out.shape[0], length), PAD_ID, dtype=torch.long)
        full[:, : out.shape[1]] = out
        completions.append(full.view(batch, n_rollouts, length))
        rewards[:, p] = score(full).view(batch, n_rollouts).mean(dim=1)
    return rewards * token_mask(tokens), torch.stack(completions, dim=1)  # (B, L−1, R, L)


class ReRead:
    """The policy without ``state_batch_dim``: ``rollouts`` then re-reads every prefix for every
    completion in one batched pass (the method before branching)."""

    def __init__(self, inner: Decoder) -> None:
        self.inner = inner

    def step(self, tokens: torch.Tensor, state):
        return self.inner.step(tokens, state)


def build_task(batch: int, length: int, rollouts: int) -> DiscreteGANTask:
    sets = {"train.batch_size": str(batch), "model.max_len": str(length), "gan.rollouts": str(rollouts),
            "runner.device": "cpu"}  # fmt: skip
    configs = resolve_config("seqgan-rollout", None, sets)
    runner_config = configs.pop("runner")
    model = model_class("seqgan-rollout")(configs)
    lines = [t for t in (ROOT / "data" / "coco" / "train.txt").read_text(encoding="utf-8").split("\n") if t]
    train, valid = model.prepare_corpora(lines, lines[:500])  # type: ignore[attr-defined]
    task = DiscreteGANTask(model, train, valid, runner_config)  # type: ignore[arg-type]
    task.setup(torch.device("cpu"))
    return task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--rollouts", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    task = build_task(opts.batch, opts.length, opts.rollouts)
    policy, disc = task.module.gen.eval(), task.module.disc.eval()

    def score(rows: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(disc.sequence_logits(rows))

    with torch.no_grad():
        tokens = sample_tokens(
            policy, opts.batch, max_len=opts.length, generator=torch.Generator().manual_seed(1)
        ).tokens
        full = torch.full((opts.batch, opts.length), PAD_ID, dtype=torch.long)
        full[:, : tokens.shape[1]] = tokens
        uniforms = torch.rand(opts.batch, opts.length - 1, opts.rollouts, opts.length,
                              generator=torch.Generator().manual_seed(2))  # fmt: skip
        batched_t, loop_t, reread_t = [], [], []
        for _ in range(opts.repeats):  # interleaved, so all see the same machine load
            t0 = time.perf_counter()
            batched = rollout_rewards(policy, score, full, n_rollouts=opts.rollouts, uniforms=uniforms)
            t1 = time.perf_counter()
            looped, loop_completions = loop_rollout_rewards(policy, score, full, opts.rollouts, uniforms)
            t2 = time.perf_counter()
            reread = rollout_rewards(ReRead(policy), score, full, n_rollouts=opts.rollouts, uniforms=uniforms)
            t3 = time.perf_counter()
            batched_t.append(t1 - t0)
            loop_t.append(t2 - t1)
            reread_t.append(t3 - t2)
        from textgen_eval.generators.text.sampler import rollouts as batched_rollouts

        completions = batched_rollouts(
            policy, full, n_rollouts=opts.rollouts, max_len=opts.length, uniforms=uniforms
        )
    differ = int((completions != loop_completions).any(dim=-1).sum())
    row = {
        "batch": opts.batch,
        "length": opts.length,
        "rollouts": opts.rollouts,
        "vocab": len(task.model.require_vocab()),
        "mean_sample_len": float(token_mask(full).sum(1).mean()),
        "batched_s": statistics.median(batched_t),
        "loop_s": statistics.median(loop_t),
        "speedup": statistics.median(loop_t) / statistics.median(batched_t),
        "reread_batched_s": statistics.median(reread_t),
        "max_reward_difference_reread": float((batched - reread).abs().max()),
        "completions": int(completions.shape[0] * completions.shape[1] * completions.shape[2]),
        "completions_differing": differ,
        "max_reward_difference": float((batched - looped).abs().max()),
    }
    print(json.dumps(row), flush=True)

    # one adversarial iteration at the model's defaults (rollouts 4, length 24, batch 64), split
    split_task = build_task(64, 24, 4)
    split: dict[str, list[float]] = {"sample": [], "rollouts": [], "g_update": [], "d_update": []}
    batches = iter(split_task.train_batches("adversarial", 0))
    for i in range(opts.repeats + 1):
        module = split_task.module
        t0 = time.perf_counter()
        drawn = split_task._sample(64, keep_graph=True)
        t1 = time.perf_counter()
        with torch.no_grad():
            rewards = rollout_rewards(
                split_task.model.policy(module), score_of(module), drawn.tokens, n_rollouts=4
            )
        t2 = time.perf_counter()
        from textgen_eval.generators.discrete.rewards import policy_gradient_loss

        loss = policy_gradient_loss(drawn.logprobs, rewards, token_mask(drawn.tokens))
        opt = split_task.optimizers()["gen"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        t3 = time.perf_counter()
        d_loss = split_task.training_step(
            next(batches), StepContext("adversarial", "disc", 0, 1, 0, 0, None, None)
        )
        d_opt = split_task.optimizers()["disc"]
        d_opt.zero_grad(set_to_none=True)
        d_loss["loss"].backward()  # type: ignore[union-attr]
        d_opt.step()
        t4 = time.perf_counter()
        if i == 0:
            continue  # warm-up
        for key, value in zip(split, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            split[key].append(value)
    medians = {k: statistics.median(v) for k, v in split.items()}
    total = sum(medians.values())
    iteration = {"iteration_s": total, **{f"{k}_s": v for k, v in medians.items()},
                 **{f"{k}_share": v / total for k, v in medians.items()}}  # fmt: skip
    print(json.dumps(iteration), flush=True)
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps({"rollouts": row, "iteration": iteration}, indent=2) + "\n")


def score_of(module):
    return lambda rows: torch.sigmoid(module.disc.sequence_logits(rows))


if __name__ == "__main__":
    main()
