"""Wall time and peak memory of `tge evaluate` on the bundled 10,000 samples.

Three runs, each in a fresh process: cold cache (empty ``TGE_CACHE_DIR``: the shipped NLI encoder and
reference LM are loaded from ``data/models``, the references' FD features are computed and stored, the
reverse LM trains), warm cache with --fast, warm cache with the reverse LM. Each row has the wall time,
the process's CPU seconds (user + system, every thread) and peak RSS. Usage:

    python benchmarks/evaluate_timing.py --json benchmarks/results/evaluate_timing.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "coco" / "samples" / "lstm-lm.txt"


def child(args: list[str]) -> None:
    from textgen_eval.cli.main import main

    start = time.perf_counter()
    code = main(args)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024  # KiB → MiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"code": code, "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak}), file=sys.stderr)


def run(label: str, extra: list[str], cache: str) -> dict[str, object]:
    args = ["evaluate", str(SAMPLES), "--format", "json", "--no-progress", *extra]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(args)],
        capture_output=True,
        text=True,
        env={**os.environ, "TGE_CACHE_DIR": cache},
        check=False,
    )
    total = time.perf_counter() - start
    stats = json.loads(proc.stderr.strip().splitlines()[-1])
    scores = {m["name"]: m["value"] for m in json.loads(proc.stdout)["metrics"]} if stats["code"] == 0 else {}
    row = {"run": label, "args": " ".join(extra), "process_wall_s": total, **stats, "scores": scores}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    if opts.child:
        child(json.loads(opts.child))
        return
    with tempfile.TemporaryDirectory() as cache:
        rows = [
            run("cold cache, all six metrics", [], cache),
            run("warm cache, --fast", ["--fast"], cache),
            run("warm cache, all six metrics", [], cache),
        ]
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
