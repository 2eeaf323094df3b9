"""CoT on SeqGAN's oracle against the CoT README (Lu et al. 2019; PEERS.md §2.1).

    python benchmarks/cot_reproduction.py --out runs/cot [--seeds 0 1 2] [--jobs 1]
    python benchmarks/cot_reproduction.py --out runs/cot --table    # the table only

The published run (CoT's README, the same oracle): no MLE pretraining; NLL-oracle 11.43 / 10.48 /
10.39 and nll_test (an independent oracle sample) 8.52 / 7.94 / 7.87 at batches 0 / 100 / 200.
Ours, per seed: ``tge train cot`` with the CoT code's sizes (generator 32/32, mediator twice that)
and rates (1e-3 / 3e-3), 200 iterations of one generator and one mediator step, NLL-oracle of
9,984 samples before training and after the 1st, 101st and 200th generator update, and the
validation NLL (the bundle's held-out oracle split, 10,000 samples: CoT's nll_test) after 100 and
200. Every run is an ordinary ``tge train`` run directory (resumable: rerun the same command).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from oracle_reproduction import mean_std, train

PUBLISHED_ORACLE = {0: 11.43, 100: 10.48, 200: 10.39}
PUBLISHED_TEST = {0: 8.52, 100: 7.94, 200: 7.87}
SETTINGS = [
    "model.emb_dim=32",
    "model.hidden_size=32",
    "gan.adversarial_steps=200",
    "gan.eval_every=100",
    "runner.probe_every=100",
]


def points(run: Path) -> tuple[dict[int, float], dict[int, float]]:
    """Generator updates done → NLL-oracle, and → validation NLL, from a run's log.jsonl."""
    oracle: dict[int, float] = {}
    valid: dict[int, float] = {}
    path = run / "log.jsonl"
    if not path.is_file():
        return oracle, valid
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("event") == "oracle":
            oracle[int(record.get("updates", 0))] = record["nll_oracle"]
        elif record.get("event") == "valid":
            valid[int(record["step"]) // 2] = record["valid_loss"]  # 2 updates (G, mediator) per iteration
    return oracle, valid


def table(out: Path, seeds: list[int]) -> str:
    runs = [points(out / f"cot-s{s}") for s in seeds]
    rows = [
        "| G updates | NLL-oracle, CoT README | ours | nll_test, CoT README | ours (valid split) | seeds |",
        "|---|---|---|---|---|---|",
    ]
    for updates, label in ((0, 0), (1, None), (100, 100), (101, None), (200, 200)):
        oracle = [r[0][updates] for r in runs if updates in r[0]]
        valid = [r[1][updates] for r in runs if updates in r[1]]
        if not oracle and not valid:
            continue
        pub_o = f"{PUBLISHED_ORACLE[label]:.2f}" if label in PUBLISHED_ORACLE else ""
        pub_t = f"{PUBLISHED_TEST[label]:.2f}" if label in PUBLISHED_TEST else ""
        rows.append(f"| {updates} | {pub_o} | {mean_std(oracle)} | {pub_t} | {mean_std(valid)} | "
                    f"{max(len(oracle), len(valid))} |")  # fmt: skip
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table:
        threads = 1 if args.jobs > 1 else os.cpu_count() or 1
        with ThreadPoolExecutor(args.jobs) as pool:
            codes = list(
                pool.map(lambda s: train("cot", args.out / f"cot-s{s}", s, SETTINGS, threads), args.seeds)
            )
        if any(codes):
            print(f"CoT runs failed: {codes} (logs beside the run directories)", file=sys.stderr)
            return 1
    print(table(args.out, args.seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
