"""Training throughput alone and beside a competing CPU-bound process, per OpenMP setting.

Each configuration runs the same job in a fresh process (so OpenMP reads its environment before
torch starts): ``STEPS`` updates of a plain ``nn.LSTM`` language model (hidden 256, batch 64 × 20
tokens, vocabulary 5,000), timed after two warm-up steps. It runs idle, beside one busy Python
process spinning on a core (``busy loop``), and beside a second copy of the same torch job with the
same setting (``torch job``: two `tge` trainings, or a tuning worker and a test run, on one
machine). Configurations:

- ``default``: torch's OpenMP defaults (the worker threads spin while waiting);
- ``passive``: ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep at once);
- ``tge``: what a ``tge`` process now does (:mod:`textgen_eval.core.threads`): the job calls
  ``configure_openmp()`` before importing torch, which bounds the spinning (``GOMP_SPINCOUNT=1000``)
  whatever the load (until issue 33 it chose at start-up: bounded on a busy CPU, defaults on an
  idle one);
- ``1-thread``: ``OMP_NUM_THREADS=1``.

``--late`` measures the case of issue 33, item 6 instead: the job starts on an idle machine and a
competing torch job starts one second later (``--competitor same``: with the job's setting, two
``tge`` runs; ``default``: with OpenMP's defaults, a user's own script); the job's own CPU seconds
(user + system, every thread) are reported beside its wall time, against its CPU seconds idle,
median and worst of the repeats.
``--spins 10000,30000`` adds configurations with those fixed ``GOMP_SPINCOUNT`` values.

Prints a Markdown table; ratios compare configurations measured in the same run.
Usage: ``python benchmarks/omp_contention.py [--steps 40] [--repeats 3] [--late] [--spins N,...]
[--hidden 256] [--vocab 5000] [--only NAME,...]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TGE_PREFIX = "from textgen_eval.core.threads import configure_openmp; configure_openmp()\n"

JOB = r"""
import time, torch
from torch import nn
torch.manual_seed(0)
V, H, B, T = VOCAB, HIDDEN, 64, 20
emb, rnn, out = nn.Embedding(V, min(H, 128)), nn.LSTM(min(H, 128), H, batch_first=True), nn.Linear(H, V)
params = [*emb.parameters(), *rnn.parameters(), *out.parameters()]
opt = torch.optim.Adam(params, lr=1e-3)
x = torch.randint(0, V, (B, T + 1))
def step():
    h, _ = rnn(emb(x[:, :-1]))
    loss = nn.functional.cross_entropy(out(h).reshape(-1, V), x[:, 1:].reshape(-1))
    opt.zero_grad(); loss.backward(); opt.step()
for _ in range(2):
    step()
t = time.perf_counter()
c = time.process_time()
for _ in range(STEPS):
    step()
print(time.perf_counter() - t, time.process_time() - c)
"""

SPIN = "import time\nt = time.time()\nwhile time.time() - t < 600: pass\n"


def configurations(spins: list[int] = ()) -> dict[str, dict[str, str]]:  # type: ignore[assignment]
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    chosen = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
    clean = {k: v for k, v in os.environ.items() if k not in chosen}
    return {
        "default": clean,
        "passive": {**clean, "OMP_WAIT_POLICY": "PASSIVE"},
        "tge": {
            **clean,
            "TGE_BENCH_PREFIX": "1",
            "PYTHONPATH": os.path.join(os.path.dirname(__file__), ".."),
        },
        "1-thread": {**clean, "OMP_NUM_THREADS": "1"},
        **{f"spin {n}": {**clean, "GOMP_SPINCOUNT": str(n)} for n in spins},
    }


#: The model's size: ``--hidden``/``--vocab`` (the defaults are the size of issue 9's measurements;
#: ``--hidden 64 --vocab 2000`` is the size of ``benchmarks/tuning.py``'s trials, where a short spin
#: costs most, because a step is many small parallel regions).
SIZE = {"HIDDEN": "256", "VOCAB": "5000"}


def job_code(env: dict[str, str], steps: int) -> str:
    code = JOB.replace("STEPS", str(steps))
    for name, value in SIZE.items():
        code = code.replace(name, value)
    return (TGE_PREFIX if env.get("TGE_BENCH_PREFIX") else "") + code


def run_job(env: dict[str, str], steps: int) -> float:
    return run_job_cpu(env, steps)[0]


def run_job_cpu(env: dict[str, str], steps: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the job's process) of ``steps`` timed updates."""
    code = job_code(env, steps)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    wall, cpu = proc.stdout.split()
    return float(wall), float(cpu)


def with_late_competitor(
    env: dict[str, str], steps: int, competitor_env: dict[str, str]
) -> tuple[float, float]:
    """The job starts alone; a competing torch job with ``competitor_env`` starts one second later,
    while the job is in its timed steps."""
    job = subprocess.Popen(
        [sys.executable, "-c", job_code(env, steps)], env=env, stdout=subprocess.PIPE, text=True
    )
    time.sleep(1.0)
    competitor = subprocess.Popen(
        [sys.executable, "-c", job_code(competitor_env, 1_000_000)],
        env=competitor_env,
        stdout=subprocess.DEVNULL,
    )
    try:
        out, _ = job.communicate()
    finally:
        competitor.kill()
        competitor.wait()
    wall, cpu = out.split()
    return float(wall), float(cpu)


def beside(competitor: list[str], env: dict[str, str], job_env: dict[str, str], steps: int) -> float:
    proc = subprocess.Popen(competitor, env=env, stdout=subprocess.DEVNULL)
    time.sleep(2.0)  # let it start (imports) and reach its steady state
    try:
        return run_job(job_env, steps)
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--late", action="store_true", help="only the late-competitor case, CPU seconds")
    parser.add_argument("--spins", default="", help="extra fixed GOMP_SPINCOUNT values, comma-separated")
    parser.add_argument("--hidden", type=int, default=256, help="the LSTM's hidden size")
    parser.add_argument("--vocab", type=int, default=5000, help="the vocabulary size")
    parser.add_argument("--only", default="", help="run only these configurations, comma-separated")
    parser.add_argument(
        "--competitor",
        choices=("same", "default"),
        default="same",
        help="--late: the competitor's setting (the job's own, or OpenMP's defaults)",
    )
    args = parser.parse_args()
    SIZE.update(HIDDEN=str(args.hidden), VOCAB=str(args.vocab))
    configs = configurations([int(n) for n in args.spins.split(",") if n])
    if args.only:
        configs = {n: e for n, e in configs.items() if n in args.only.split(",") or n == "default"}
    if args.late:
        late(configs, args.steps, args.repeats, args.competitor)
        return
    rows: dict[str, dict[str, list[float]]] = {n: {"idle": [], "busy": [], "torch": []} for n in configs}
    forever = job_code({}, 1_000_000)
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit every configuration
        for name, env in configs.items():
            rows[name]["idle"].append(run_job(env, args.steps))
            rows[name]["busy"].append(beside([sys.executable, "-c", SPIN], env, env, args.steps))
            competitor = (TGE_PREFIX if env.get("TGE_BENCH_PREFIX") else "") + forever
            rows[name]["torch"].append(beside([sys.executable, "-c", competitor], env, env, args.steps))
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in rows.items()}
    base = med["default"]["idle"]
    print(f"{args.steps} steps, median of {args.repeats} runs")
    print()
    print(
        "| setting | idle (s) | idle speed vs default | beside busy loop (s) | × default idle "
        "| beside torch job (s) | × default idle |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, m in med.items():
        print(
            f"| {name} | {m['idle']:.2f} | {base / m['idle']:.2f} | {m['busy']:.2f} | {base / m['busy']:.2f} "
            f"| {m['torch']:.2f} | {base / m['torch']:.2f} |"
        )


def late(configs: dict[str, dict[str, str]], steps: int, repeats: int, competitor: str) -> None:
    """``competitor``: ``same`` (a second copy of the job with the job's setting: two ``tge`` runs)
    or ``default`` (a torch job with OpenMP's defaults: a user's own script)."""
    rows: dict[str, dict[str, list[float]]] = {
        n: {"idle_wall": [], "idle_cpu": [], "wall": [], "cpu": []} for n in configs
    }
    for _ in range(repeats):
        for name, env in configs.items():
            wall, cpu = run_job_cpu(env, steps)
            rows[name]["idle_wall"].append(wall)
            rows[name]["idle_cpu"].append(cpu)
            other = env if competitor == "same" else configs["default"]
            wall, cpu = with_late_competitor(env, steps, other)
            rows[name]["wall"].append(wall)
            rows[name]["cpu"].append(cpu)
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in rows.items()}
    base = med["default"]["idle_wall"]
    who = "the same setting" if competitor == "same" else "OpenMP's defaults"
    print(
        f"{steps} steps, hidden {SIZE['HIDDEN']}, vocabulary {SIZE['VOCAB']}, median of {repeats} runs; "
        f"a competing torch job with {who} starts 1 s after the job"
    )
    print()
    print(
        "| setting | idle wall (s) | idle speed vs default | idle CPU (s) "
        "| late-load wall (s) | late-load CPU (s) | CPU × idle | worst CPU × idle |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, m in med.items():
        worst = max(rows[name]["cpu"]) / m["idle_cpu"]
        print(
            f"| {name} | {m['idle_wall']:.2f} | {base / m['idle_wall']:.2f} | {m['idle_cpu']:.2f} "
            f"| {m['wall']:.2f} | {m['cpu']:.2f} | {m['cpu'] / m['idle_cpu']:.2f} | {worst:.2f} |"
        )


if __name__ == "__main__":
    main()
