"""CPU time of one `tge compare` trial of each model under the `cpu` preset (issues 30, 31), so the
preset's wall time stays stated as models are added.

    python benchmarks/compare_trial_cpu.py --out runs/trial-cpu [--models relgan gsgan ...]
    python benchmarks/compare_trial_cpu.py --out runs/trial-cpu --table

Per model, one ``tge compare MODEL --preset cpu --budget 1 --retrain 1 --workers 1 --threads 1
--no-real-data --no-plots`` (a search trial at the preset's settings and the retrain of that
configuration with one seed: two trials of the same configuration, 500 samples each, scored with
the six metrics), run in sequence; the children's user + system CPU seconds (``getrusage``) and the
wall seconds are recorded per model in ``OUT/cpu.json``. ``lstm-lm`` runs first in the same
invocation as the reference: the ratio to it is what to compare across machines. The comparison
directories are ordinary ones (a finished model is skipped on a rerun; its figures are kept).
The shared first-use work (the reverse LM of the reference set, the stored reference features) is
done by a warm-up evaluation before the first model, so no model is charged for it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "lstm-lm"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(model: str, out: Path) -> dict[str, float]:
    """CPU and wall seconds of budget 1 + retrain 1 of ``model`` under the cpu preset."""
    cmd = [sys.executable, "-m", "textgen_eval", "compare", model, "--preset", "cpu", "--data", "coco"]
    cmd += ["--budget", "1", "--retrain", "1", "--workers", "1", "--threads", "1", "--no-real-data"]
    cmd += ["--no-plots", "--no-progress", "--out", str(out / model)]
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    with open(out / f"{model}.log", "w", encoding="utf-8") as log:
        code = subprocess.call(cmd, stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if code:
        raise SystemExit(f"{model}: tge compare exited {code} (see {out / f'{model}.log'})")
    cpu, wall = _children_cpu() - cpu0, time.perf_counter() - wall0
    return {"cpu_s": cpu, "wall_s": wall, "cpu_per_trial_s": cpu / 2}


def table(results: dict[str, dict[str, float]]) -> str:
    reference = results.get(REFERENCE, {}).get("cpu_per_trial_s")
    rows = [
        "| model | CPU per trial | wall, 2 trials | vs lstm-lm (CPU) |",
        "|---|---:|---:|---:|",
    ]
    for model, r in results.items():
        ratio = f"{r['cpu_per_trial_s'] / reference:.1f}×" if reference else "–"
        cpu, wall = r["cpu_per_trial_s"] / 60, r["wall_s"] / 60
        rows.append(f"| `{model}` | {cpu:.1f} min | {wall:.1f} min | {ratio} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--models", nargs="+", default=["relgan", "gsgan", "textgan", "cot", "jsdgan"], help="besides lstm-lm"
    )
    parser.add_argument("--table", action="store_true", help="print the table of measured models and exit")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "cpu.json"
    results: dict[str, dict[str, float]] = json.loads(path.read_text()) if path.is_file() else {}
    if not args.table:
        warm = [sys.executable, "-m", "textgen_eval", "evaluate", str(ROOT / "data/coco/samples/lstm-lm.txt")]
        subprocess.check_call([*warm, "--fast", "--no-progress"], stdout=subprocess.DEVNULL)
        for model in [REFERENCE, *[m for m in args.models if m != REFERENCE]]:
            if model in results:
                continue
            results[model] = measure(model, args.out)
            path.write_text(json.dumps(results, indent=2) + "\n")
            print(json.dumps({"model": model, **results[model]}), flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
