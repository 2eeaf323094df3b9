"""SeqGAN's synthetic-oracle run, reproduced: MLE then SeqGAN on ``seqgan-oracle`` (PEERS.md §2.1).

    python benchmarks/oracle_reproduction.py --out runs/oracle [--seeds 0 1 2] [--jobs 2]
    python benchmarks/oracle_reproduction.py --out runs/oracle --table    # the table only

The published run (LantaoYu/SeqGAN ``save/experiment-log.txt``): MLE pretraining of the 32/32
LSTM generator with Adam 0.01, batch 64, gradient norm clipped at 5, 120 epochs, NLL-oracle of
9,984 fresh samples every 5 epochs (10.1716 at epoch 0 → 9.0706 at epoch 115); then SeqGAN's
adversarial phase from that generator, one REINFORCE batch of 64 with 16 Monte-Carlo rollouts by a
lagged copy (EMA 0.8) per adversarial batch, NLL-oracle every 5 batches (9.0846 at batch 0 →
8.6832 at batch 150).

Ours, per seed: ``tge train lstm-lm`` with exactly that schedule (``--stage mle``, run in full),
then ``tge train seqgan-rollout`` initialised from it with the adversarial schedule (``--stage
seqgan``): 150 generator updates, 16 rollouts, ``rollout_lag 0.8``, generator Adam 0.01 clipped at
5. Our discriminator is the thesis' recurrent one (not SeqGAN's CNN), and its budget is shortened:
SeqGAN's D sees 150 epochs of 9,984 real + 9,984 generated sentences before the adversarial phase
(50 × 3) and 15 more per adversarial batch (5 × 3); one of our D updates reads 64 real and 64
freshly generated sentences, so 156 updates are one such epoch: SeqGAN's budget is 23,400 of our
updates before the adversarial phase and 2,340 per adversarial batch. Defaults:
``--pretrain-d-steps`` 312 (2 epochs, 1/75 of SeqGAN's) and ``--d-steps`` 15 (1/156); at about
0.2 s per update on 2 shared cores, SeqGAN's D budget would take ~21 hours per seed here.
docs/reproductions.md states it. Every run
is an ordinary ``tge train`` run directory (resumable: rerun the same command). ``--table`` prints
the NLL-oracle curves (mean ± std over seeds) beside the published values.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: SeqGAN's experiment-log.txt (PEERS.md §2.1): epoch → NLL-oracle of the MLE phase, and adversarial
#: batch → NLL-oracle. Only the values the log gives are listed.
PUBLISHED_MLE = {0: 10.1716, 115: 9.0706}
PUBLISHED_MLE_BEST = (110, 9.0697)
PUBLISHED_ADV = {0: 9.0846, 150: 8.6832}
PUBLISHED_ADV_BEST = (145, 8.6807)
ORACLE_ENTROPY = 5.7616  # bundle.json: the oracle's NLL of its 10,000 held-out samples

MLE_SETTINGS = [
    "model.emb_dim=32",
    "model.hidden_size=32",
    "train.lr=0.01",
    "train.batch_size=64",
    "runner.max_epochs=120",
    "runner.grad_clip=5.0",
    "runner.restore_best=false",
    "runner.log_every=156",
]


def seqgan_settings(lm: Path, d_steps: int, pretrain_d_steps: int) -> list[str]:
    return [
        f"gan.init_from={lm / 'model'}",
        "model.emb_dim=32",
        "model.hidden_size=32",
        "model.max_len=20",
        "gan.pretrain_epochs=0",
        f"gan.pretrain_d_steps={pretrain_d_steps}",
        "gan.adversarial_steps=150",
        f"gan.d_steps={d_steps}",
        "gan.rollouts=16",
        "gan.rollout_lag=0.8",
        "gan.eval_every=25",
        "train.g_lr=0.01",
        "train.g_grad_clip=5.0",
        "train.batch_size=64",
    ]


def train(model: str, out: Path, seed: int, settings: list[str], threads: int) -> int:
    done = (out / "result.json").is_file()
    if done:
        return 0
    cmd = [sys.executable, "-m", "textgen_eval", "train", model, "--data", "seqgan-oracle", "--out", str(out)]
    cmd += ["--seed", str(seed), "--threads", str(threads), "--no-progress"]
    for setting in settings:
        cmd += ["--set", setting]
    if (out / "run.json").is_file():
        cmd.append("--resume")
    with open(out.with_suffix(".log"), "a", encoding="utf-8") as log:
        return subprocess.call(cmd, stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def curve(run: Path, stage: str | None = None) -> dict[int, float]:
    """SeqGAN's log index → NLL-oracle from a run's log.jsonl: epochs done − 1 for MLE (−1: before
    training), generator updates done − 1 for the adversarial stage."""
    out: dict[int, float] = {}
    path = run / "log.jsonl"
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("event") != "oracle":
            continue
        wanted = ("adversarial",) if stage == "adversarial" else ("train", "before training")
        if stage == "adversarial" and "updates" not in record:
            continue  # an epoch of D's data (logged by probes before a fix: not a generator point)
        if record["stage"] in wanted and record.get("index") is not None:
            out[int(record["index"])] = record["nll_oracle"]
    return out


def mean_std(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"


def table(out: Path, seeds: list[int]) -> str:
    rows = [
        "| phase | point | published (SeqGAN log) | ours, mean ± std over seeds | seeds |",
        "|---|---|---|---|---|",
    ]
    mle = [curve(out / f"mle-s{s}") for s in seeds]
    adv = [curve(out / f"seqgan-s{s}", "adversarial") for s in seeds]
    for name, curves, published, unit in (
        ("MLE", mle, PUBLISHED_MLE, "epoch"),
        ("SeqGAN", adv, PUBLISHED_ADV, "batch"),
    ):
        points = sorted({p for c in curves for p in c})
        for p in points:
            values = [c[p] for c in curves if p in c]
            pub = f"{published[p]:.4f}" if p in published else ""
            point = "untrained" if p < 0 else f"{unit} {p}"
            rows.append(f"| {name} | {point} | {pub} | {mean_std(values)} | {len(values)} |")
    rows.append(
        f"| oracle | entropy rate | 5.74–5.77 (LeakGAN log) | {ORACLE_ENTROPY:.4f} "
        "(its NLL of 10,000 held-out samples) | – |"
    )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each when > 1)")
    parser.add_argument("--stage", choices=["mle", "seqgan", "all"], default="all")
    parser.add_argument(
        "--d-steps", type=int, default=15, help="D updates per adversarial batch (SeqGAN: 2,340)"
    )
    parser.add_argument(
        "--pretrain-d-steps", type=int, default=312, help="D pretraining updates (SeqGAN: 23,400)"
    )
    parser.add_argument("--table", action="store_true", help="print the table of finished runs and exit")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.table:
        print(table(args.out, args.seeds))
        return 0
    threads = 1 if args.jobs > 1 else os.cpu_count() or 1
    with ThreadPoolExecutor(args.jobs) as pool:
        if args.stage in ("mle", "all"):
            codes = list(
                pool.map(
                    lambda s: train("lstm-lm", args.out / f"mle-s{s}", s, MLE_SETTINGS, threads), args.seeds
                )
            )
            if any(codes):
                print(f"MLE runs failed: {codes} (logs beside the run directories)", file=sys.stderr)
                return 1
        if args.stage in ("seqgan", "all"):
            settings = {
                s: seqgan_settings(args.out / f"mle-s{s}", args.d_steps, args.pretrain_d_steps)
                for s in args.seeds
            }
            codes = list(
                pool.map(
                    lambda s: train("seqgan-rollout", args.out / f"seqgan-s{s}", s, settings[s], threads),
                    args.seeds,
                )
            )
            if any(codes):
                print(f"SeqGAN runs failed: {codes}", file=sys.stderr)
                return 1
    print(table(args.out, args.seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
