"""Tuning protocol benchmark: orchestration overhead per trial, and 2-worker vs 1-worker throughput.

    python benchmarks/tuning.py [--budget 12] [--epochs 6] [--hidden 64]

Runs `tge tune lstm-lm` on a 1,000-caption slice of the bundled COCO training text, as real
worker processes with the default journal storage, three times in the same session:

1. a warm-up (builds the reference LM of the slice in a private cache, so it is not timed);
2. ``--workers 1`` (the default: the worker gets both cores' threads);
3. ``--workers 1 --threads 1`` (one worker on one core's worth of threads);
4. ``--workers 2`` (one thread each).

Reports, from the trials' own records and the wall clock of each run:

* overhead per trial inside a worker: wall time of the trial minus its training, sampling and
  metric time (claiming, recording parameters and results in the storage);
* overhead per trial end to end: (run wall time − Σ training/sampling/metric time) / trials, for
  one worker; it adds process start-up, imports and the coordinator's polling;
* throughput (trials per minute) of each run, and the 2-worker / 1-worker ratios.

Targets (issue 4): overhead ≤ 1 s per trial; ratio ≥ 1.6 on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def space_file(path: Path, epochs: int, hidden: int) -> Path:
    path.write_text(
        "replace = true\n[space]\n"
        '"train.lr" = { loguniform = [1e-3, 1e-2] }\n'
        '"model.input_dropout" = { uniform = [0.0, 0.3] }\n'
        f'[fixed]\n"model.emb_dim" = {hidden}\n"model.hidden_size" = {hidden}\n'
        f'"runner.max_epochs" = {epochs}\n',
        encoding="utf-8",
    )
    return path


def run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "textgen_eval", *args], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"tge {' '.join(args)} failed:\n{proc.stderr}")
    return time.perf_counter() - start


def trial_records(out: Path) -> list[dict[str, float]]:
    import optuna

    from textgen_eval.tuning.storage import open_storage, parse_storage

    storage = open_storage(parse_storage(str(out / "study.journal")), heartbeat_interval=None)
    rows = []
    for phase in ("search", "retrain"):
        for t in optuna.load_study(study_name=f"{out.name}:{phase}", storage=storage).get_trials():
            timing = t.user_attrs["tge:timing"]
            rows.append(
                {
                    "wall": t.user_attrs["tge:wall"],
                    "overhead": t.user_attrs["tge:overhead"],
                    "work": timing["train"] + timing["sample"] + timing["metrics"],
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=int, default=12)
    parser.add_argument("--retrain", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--samples", type=int, default=200)
    opts = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tge-bench-tune-"))
    bundle = tmp / "coco1k"
    bundle.mkdir()
    train = (ROOT / "data/coco/train.txt").read_text(encoding="utf-8").splitlines()[:1000]
    test = (ROOT / "data/coco/test.txt").read_text(encoding="utf-8").splitlines()[:500]
    (bundle / "train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (bundle / "test.txt").write_text("\n".join(test) + "\n", encoding="utf-8")
    space = space_file(tmp / "space.toml", opts.epochs, opts.hidden)
    env = {**os.environ, "TGE_CACHE_DIR": str(tmp / "cache")}
    env.pop("OMP_NUM_THREADS", None)

    def tune(name: str, workers: int, budget: int, retrain: int, threads: int = 0) -> tuple[Path, float]:
        out = tmp / name
        args = [
            "tune", "lstm-lm", "--data", str(bundle), "--space", str(space), "--out", str(out),
            "--budget", str(budget), "--retrain", str(retrain), "--samples", str(opts.samples),
            "--workers", str(workers), "--no-progress",
        ] + (["--threads", str(threads)] if threads else [])  # fmt: skip
        return out, run(args, env)

    tune("warmup", 1, 1, 1)
    results = {}
    setups = {"1 worker x 2 threads": (1, 0), "1 worker x 1 thread": (1, 1), "2 workers x 1 thread": (2, 0)}
    for label, (workers, threads) in setups.items():
        out, wall = tune(f"w{workers}t{threads}", workers, opts.budget, opts.retrain, threads)
        rows = trial_records(out)
        n = len(rows)
        work = sum(r["work"] for r in rows)
        results[label] = {
            "trials": n,
            "wall_s": round(wall, 2),
            "trials_per_min": round(60 * n / wall, 2),
            "mean_trial_work_s": round(work / n, 3),
            "overhead_in_worker_s": {
                "mean": round(statistics.fmean(r["overhead"] for r in rows), 4),
                "max": round(max(r["overhead"] for r in rows), 4),
            },
            "overhead_end_to_end_s": round((wall - work / workers) / n, 3) if workers == 1 else None,
        }
    two = results["2 workers x 1 thread"]["trials_per_min"]
    report = {
        "cpu_count": os.cpu_count(),
        "settings": vars(opts),
        "runs": results,
        "throughput_2_workers_vs_1_worker_all_cores": round(
            two / results["1 worker x 2 threads"]["trials_per_min"], 3
        ),
        "throughput_2_workers_vs_1_worker_1_thread": round(
            two / results["1 worker x 1 thread"]["trials_per_min"], 3
        ),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
