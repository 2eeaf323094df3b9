"""The peers' GANs on SeqGAN's oracle: MaliGAN, DPGAN, RankGAN, Guo et al.'s LeakGAN (issue 30);
RelGAN, GSGAN and TextGAN (issue 31).

    python benchmarks/peer_oracle_reproduction.py --out runs/peers-oracle --mle runs/oracle \
        [--models maligan dpgan rankgan leakgan] [--seeds 0 1 2] [--jobs 2]
    python benchmarks/peer_oracle_reproduction.py --out runs/peers-oracle --models relgan gsgan textgan
    python benchmarks/peer_oracle_reproduction.py --out runs/peers-oracle --table   # the table only

PEERS.md §2.3 gives the budgets behind the peers' oracle runs; on 2 CPU cores none of them fits a
session, so every budget here is shortened and the table says by how much (``BUDGETS``). The
generators of MaliGAN, DPGAN and RankGAN are the 32/32 LSTM the peers use, initialised from
``oracle_reproduction.py``'s 120-epoch MLE runs (``--mle``: its ``mle-s{seed}`` directories, made
by ``python benchmarks/oracle_reproduction.py --out DIR --stage mle`` when absent): the peers
pretrain 80 (TextGAN-PyTorch's MaliGAN, Texygen's RankGAN) or 120 epochs (TextGAN-PyTorch's
DPGAN) with the same rate. Guo et al.'s LeakGAN has its own Manager/Worker generator, so it
pretrains itself, with the synthetic script's sizes (32/32, goal 16, c = 4, its 1,720-map CNN).
RelGAN (its oracle script's relational memory and discriminator), GSGAN and TextGAN pretrain
themselves too (``SELF_PRETRAINING``): ``gan.pretrain_epochs`` is a cap, early-stopped on the
held-out NLL with the best epoch restored, so their adversarial phases start from a generator
that has not overfitted the 9,984 training sentences as the 120-epoch schedule has.

NLL-oracle of 9,984 fresh samples (``PROBE_SAMPLES``: fewer for RelGAN) at temperature 1 is
logged every ``PROBES[model]`` generator updates (default ``PROBE``);
LeakGAN's published log evaluates at ×1.5 logits, so its run's final generator is also scored at
temperature 1/1.5 by ``tge evaluate RUN_DIR -m nll-oracle --temperature 0.6667``, and Texygen's
TextGAN decodes greedily, so TextGAN's is also scored at temperature 0 (``--table``
reads both). Every run is an ordinary ``tge train`` run directory (resumable: rerun the command).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from oracle_reproduction import mean_std, train

PROBE = 10
#: Probe intervals of the models whose runs have more updates (RelGAN's script logs every 20).
PROBES = {"relgan": 20, "gsgan": 25, "textgan": 25}
#: Samples per probe where 9,984 would cost more than the training: RelGAN's relational memory
#: takes ~3 minutes per 9,984-sample probe on a loaded core (its final scores still use 9,984).
PROBE_SAMPLES = {"relgan": 2000}
#: Models that pretrain their own generator (no ``--mle`` initialisation).
SELF_PRETRAINING = frozenset({"leakgan", "relgan", "gsgan", "textgan"})
METRICS = ("nll-oracle", "nll-test", "nll-train")
LEAKGAN_TEMPERATURE = 1 / 1.5
#: The peers' own evaluations beside temperature 1 (PEERS.md §2.1, §3.3).
EXTRA_TEMPERATURES = {"leakgan": (LEAKGAN_TEMPERATURE,), "mle": (LEAKGAN_TEMPERATURE,), "textgan": (0.0,)}

SMALL_G = ["model.emb_dim=32", "model.hidden_size=32", "model.max_len=20", "train.batch_size=64"]
#: Generator sizes other than the peers' 32/32 LSTM: RelGAN's relational memory (its ``BUDGETS`` row).
SIZES = {"relgan": ["model.emb_dim=32", "model.max_len=20", "train.batch_size=64"]}

#: Per model: our settings (besides the MLE initialisation) and the peers' budget beside ours.
BUDGETS: dict[str, tuple[list[str], str]] = {
    "maligan": (
        [
            "train.g_lr=0.01",
            "train.d_lr=1e-4",
            "train.g_grad_clip=5.0",
            "gan.pretrain_d_steps=312",
            "gan.adversarial_steps=300",
            "gan.d_steps=1",
        ],
        "TextGAN-PyTorch: 80 MLE epochs, D 4 × 2 epochs, 200 × 50 = 10,000 G updates with ~9 D "
        "batches each; ours: 120 MLE epochs, 312 D batches, 300 G updates (1/33) with 1 D batch each",
    ),
    "dpgan": (
        [
            "train.g_lr=0.01",
            "train.d_lr=1e-4",
            "train.g_grad_clip=5.0",
            "gan.pretrain_d_steps=312",
            "gan.adversarial_steps=200",
            "gan.d_steps=3",
        ],
        "TextGAN-PyTorch: 120 MLE epochs, D 5 × 3 epochs, 200 G updates with D 4 × 2 epochs each; "
        "ours: 120 MLE epochs, 312 D batches, 200 G updates (the same) with 3 D batches each",
    ),
    "rankgan": (
        [
            "train.g_lr=0.01",
            "train.d_lr=1e-4",
            "train.g_grad_clip=5.0",
            "discriminator.emb_dim=64",
            "discriminator.num_filters=200,200,200",
            "rankgan.reference_size=16",
            "rankgan.comparison_size=64",
            "gan.pretrain_d_steps=312",
            "gan.adversarial_steps=50",
            "gan.d_steps=5",
            "gan.rollouts=16",
        ],
        "Texygen: 80 MLE epochs, 80 × 3 D batches, 100 G updates with 16 rollouts and 15 × 3 D "
        "batches each; ours: 120 MLE epochs, 312 D batches, 50 G updates (1/2) with 16 rollouts "
        "and 5 D batches each (1/9)",
    ),
    "leakgan": (
        [
            "discriminator.emb_dim=64",
            "discriminator.filter_sizes=1,2,3,4,5,6,7,8,9,10,15,20",
            "discriminator.num_filters=100,200,200,200,200,100,100,100,100,100,160,160",
            "discriminator.dropout=0.25",
            "leakgan.horizon=4",
            "leakgan.goal_size=16",
            "leakgan.delta=16.0",
            "leakgan.mle_steps=1",
            "train.mle_lr=0.0015",
            "train.g_lr=0.0015",
            "train.d_lr=5e-5",
            "train.g_grad_clip=5.0",
            "gan.pretrain_epochs=10",
            "gan.pretrain_d_steps=150",
            "gan.adversarial_steps=20",
            "gan.d_steps=5",
            "gan.rollouts=4",
        ],
        "Guo et al.'s synthetic script: 80 G pretraining epochs interleaved with 150 D epochs, up "
        "to 800 adversarial steps (its log: 90) with 4 rollouts and 5 × 3 D epochs each; ours: 10 "
        "G epochs (1/8) after 150 D batches (~1 epoch), 20 adversarial steps (1/4.5 of the log) "
        "with 4 rollouts, 5 D batches and 1 MLE batch each",
    ),
    "relgan": (
        [
            "model.core=rmc",
            "model.mem_slots=1",
            "model.num_heads=2",
            "model.head_size=256",
            "discriminator.emb_dim=64",
            "discriminator.num_rep=64",
            "discriminator.num_filters=300,300,300,300",
            "relgan.loss=rsgan",
            "relgan.beta_max=1",
            "relgan.schedule=exp",
            "relgan.beta_horizon=5000",
            "train.mle_lr=0.01",
            "train.g_lr=1e-4",
            "train.d_lr=1e-4",
            "train.g_grad_clip=5.0",
            "gan.pretrain_epochs=8",
            "gan.adversarial_steps=80",
            "gan.d_steps=5",
        ],
        "RelGAN's oracle script: 150 MLE epochs (Adam 1e-2), 3,000 iterations of 1 G + 5 D steps "
        "(Adam 1e-4), β_max = 1 (the paper's table, RG#22); ours: at most 8 MLE epochs, early-stopped "
        "(1/19 or less), 80 iterations (1/37) of 1 G + 5 D steps, its sizes and rates",
    ),
    "gsgan": (
        [
            "discriminator.emb_dim=32",
            "discriminator.hidden_size=32",
            "gsgan.loss=standard",
            "gsgan.beta_max=10",
            "gsgan.schedule=exp",
            "gsgan.beta_horizon=1000",
            "train.mle_lr=0.01",
            "train.g_lr=0.01",
            "train.d_lr=1e-4",
            "train.g_grad_clip=5.0",
            "gan.pretrain_epochs=80",
            "gan.pretrain_d_steps=240",
            "gan.adversarial_steps=250",
            "gan.d_steps=3",
        ],
        "Texygen: no MLE pretraining, 80 × 3 D batches, 100 epochs × 10 = 1,000 G updates (Adam "
        "0.01) with 15 × 3 D batches per epoch; ours: at most 80 MLE epochs, early-stopped, 240 D "
        "batches, 250 G updates (1/4, Adam 0.01) with 3 D batches each, τ = 1/β annealed from 1 "
        "toward 1/10 over 1,000 updates (the paper's form, not Texygen's noise on the hidden state)",
    ),
    "textgan": (
        [
            "textgan.z_dim=32",
            "textgan.soft_argmax_scale=1000",
            "textgan.recon_weight=0.01",
            "textgan.mmd_weight=0.001",
            "textgan.bandwidth=fixed",
            "discriminator.emb_dim=64",
            "discriminator.filter_sizes=2,3",
            "discriminator.num_filters=100,200",
            "train.mle_lr=0.01",
            "train.g_lr=1e-3",
            "train.d_lr=1e-4",
            "train.g_grad_clip=5.0",
            "gan.pretrain_epochs=80",
            "gan.pretrain_d_steps=240",
            "gan.adversarial_steps=250",
            "gan.d_steps=1",
        ],
        "Texygen: 80 MLE epochs, 80 × 3 D batches, 100 epochs × 100 = 10,000 G updates with 15 × 3 "
        "D batches per epoch, greedy decoding; ours: at most 80 MLE epochs, early-stopped, 240 D "
        "batches, 250 G updates (1/40, Adam 1e-3) with 1 D batch each, sampled decoding",
    ),
}

#: LeakGAN's synthetic-data README (PEERS.md §2.1), evaluated at ×1.5 logits.
LEAKGAN_PUBLISHED = {"pretrain end": 8.35, "adversarial 0": 8.24, "adversarial 90": 7.01, "best (45)": 6.71}


def settings(model: str, seed: int, mle: Path) -> list[str]:
    size = SIZES.get(model, SMALL_G)
    probe = PROBES.get(model, PROBE)
    ours = list(size) + BUDGETS[model][0] + [f"runner.probe_every={probe}", "gan.eval_every=100000"]
    if model in PROBE_SAMPLES:
        ours.append(f"runner.probe_samples={PROBE_SAMPLES[model]}")
    if model not in SELF_PRETRAINING:
        ours += [f"gan.init_from={mle / f'mle-s{seed}' / 'model'}", "gan.pretrain_epochs=0"]
    return ours


def oracle_points(run: Path) -> dict[tuple[str, int], float]:
    """(stage, generator updates or epochs done) → NLL-oracle at temperature 1, from log.jsonl."""
    out: dict[tuple[str, int], float] = {}
    path = run / "log.jsonl"
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("event") != "oracle" or record.get("temperature", 1.0) != 1.0:
            continue
        if record["stage"] == "adversarial":
            out[("adversarial", int(record["updates"]))] = record["nll_oracle"]
        elif record["stage"] == "before training":
            out[("start", 0)] = record["nll_oracle"]
        elif record.get("index") is not None:
            out[(record["stage"], int(record["index"]) + 1)] = record["nll_oracle"]
    return out


def evaluate(run: Path, temperature: float, threads: int, dest: Path | None = None) -> dict[str, float]:
    """`tge evaluate RUN_DIR` at one temperature: nll-oracle (9,984 samples), and at temperature 1
    nll-test and nll-train too (the likelihoods do not depend on the sampling temperature), kept in
    ``dest`` (default: the run directory) as ``final-t{temperature}.json``."""
    dest = dest or run
    dest.mkdir(parents=True, exist_ok=True)
    cache = dest / f"final-t{temperature:.4f}.json"
    if cache.is_file():
        return dict(json.loads(cache.read_text(encoding="utf-8")))
    metrics = METRICS if temperature == 1.0 else METRICS[:1]
    cmd = [sys.executable, "-m", "textgen_eval", "evaluate", str(run), "-m", ",".join(metrics)]
    cmd += ["--samples", "9984", "--temperature", f"{temperature:.6f}", "--format", "json"]
    cmd += ["-o", str(cache.with_suffix(".raw")), "--threads", str(threads), "--no-progress"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(dest.with_suffix(".eval.log"), "a", encoding="utf-8") as log:
        if subprocess.call(cmd, stdout=log, stderr=log, env=env):
            return {}
    raw = json.loads(cache.with_suffix(".raw").read_text(encoding="utf-8"))
    values = {score["name"]: score["value"] for score in raw["metrics"]}
    cache.write_text(json.dumps(values), encoding="utf-8")
    return values


def finals(out: Path, model: str, seeds: list[int], temperature: float) -> list[dict[str, float]]:
    """The final scores of the seeds' runs that have them, at one temperature."""
    paths = [out / f"{model}-s{s}" / f"final-t{temperature:.4f}.json" for s in seeds]
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths if p.is_file()]


def temperatures(model: str) -> tuple[float, ...]:
    """Temperatures a model's final generator is scored at: 1, and the peer's own evaluation where
    it differs (LeakGAN's log's ×1.5 logits; Texygen's TextGAN decodes greedily: 0)."""
    return (1.0, *EXTRA_TEMPERATURES.get(model, ()))


def final_rows(out: Path, model: str, label: str, point: str, seeds: list[int]) -> list[str]:
    """Table rows of the final scores; the likelihoods once (they do not depend on the temperature)."""
    rows = []
    for temperature in temperatures(model):
        found = finals(out, model, seeds, temperature)
        for metric in METRICS if temperature == 1.0 else METRICS[:1]:
            values = [f[metric] for f in found if metric in f]
            if values:
                where = f"{point}{metric}, temperature {temperature:.4g}"
                rows.append(f"| {label} | {where} | {mean_std(values)} | {len(values)} |")
    return rows


def table(out: Path, models: list[str], seeds: list[int]) -> str:
    rows = ["| model | point | ours, nats/token (mean ± std) | seeds |", "|---|---|---|---|"]
    rows += final_rows(out, "mle", "mle (120 epochs)", "", seeds)  # the LSTM GANs' starting generators
    for model in models:
        curves = [oracle_points(out / f"{model}-s{s}") for s in seeds]
        for key in sorted(
            {k for c in curves for k in c}, key=lambda k: (k[0] != "start", k[0] == "adversarial", k[1])
        ):
            values = [c[key] for c in curves if key in c]
            rows.append(f"| {model} | {key[0]} {key[1]} | {mean_std(values)} | {len(values)} |")
        rows += final_rows(out, model, model, "final ", seeds)
    return "\n".join(rows)


def summary(out: Path, models: list[str], seeds: list[int]) -> str:
    """One row per model: NLL-oracle at the adversarial phase's start, its per-seed best (and where)
    and its end, then the final generator's held-out and training NLL (mean ± std over seeds)."""
    rows = [
        "| model | NLL-oracle, adversarial start | best in the phase (update) | end | nll-test | nll-train |",
        "|---|---|---|---|---|---|",
    ]
    for model in models:
        points = [oracle_points(out / f"{model}-s{s}") for s in seeds]
        curves = [{k[1]: v for k, v in p.items() if k[0] == "adversarial"} for p in points]
        curves = [c for c in curves if c]
        if not curves:
            continue
        first = [c[min(c)] for c in curves]
        best = [min(c.items(), key=lambda kv: kv[1]) for c in curves]
        last = [c[max(c)] for c in curves]
        where = ", ".join(str(b[0]) for b in best)
        found = finals(out, model, seeds, 1.0)
        test = mean_std([f["nll-test"] for f in found if "nll-test" in f])
        train = mean_std([f["nll-train"] for f in found if "nll-train" in f])
        lowest = mean_std([b[1] for b in best])
        rows.append(
            f"| {model} ({len(curves)} seeds) | {mean_std(first)} | {lowest} ({where}) "
            f"| {mean_std(last)} | {test} | {train} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mle", type=Path, help="oracle_reproduction.py's --out (its mle-s{seed} runs)")
    parser.add_argument("--models", nargs="+", choices=sorted(BUDGETS), default=list(BUDGETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each when > 1)")
    parser.add_argument("--threads", type=int, help="threads per run (default: 1 with --jobs > 1, else all)")
    parser.add_argument("--table", action="store_true", help="print the table of finished runs and exit")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.table:
        print(table(args.out, args.models, args.seeds))
        print()
        print(summary(args.out, args.models, args.seeds))
        return 0
    threads = args.threads or (1 if args.jobs > 1 else os.cpu_count() or 1)
    needs_mle = [m for m in args.models if m not in SELF_PRETRAINING]
    if needs_mle:
        if args.mle is None:
            parser.error("--mle DIR is required for " + ", ".join(needs_mle))
        missing = [s for s in args.seeds if not (args.mle / f"mle-s{s}" / "result.json").is_file()]
        if missing:
            script = Path(__file__).resolve().parent / "oracle_reproduction.py"
            cmd = [sys.executable, str(script), "--out", str(args.mle), "--stage", "mle"]
            cmd += ["--jobs", str(args.jobs), "--seeds", *map(str, missing)]
            if subprocess.call(cmd):
                return 1
        for seed in args.seeds:  # the starting generators, scored like the runs
            for temperature in temperatures("mle"):
                if not evaluate(args.mle / f"mle-s{seed}", temperature, threads, args.out / f"mle-s{seed}"):
                    return 1
    jobs = [(m, s) for m in args.models for s in args.seeds]

    def run(job: tuple[str, int]) -> int:
        model, seed = job
        path = args.out / f"{model}-s{seed}"
        code = train(model, path, seed, settings(model, seed, args.mle or args.out), threads)
        if code:
            return code
        for temperature in temperatures(model):
            if not evaluate(path, temperature, threads):
                return 1
        return 0

    with ThreadPoolExecutor(args.jobs) as pool:
        codes = list(pool.map(run, jobs))
    failed = [f"{m}-s{s}" for (m, s), c in zip(jobs, codes) if c]
    if failed:
        print(f"failed: {', '.join(failed)} (logs beside the run directories)", file=sys.stderr)
        return 1
    print(table(args.out, args.models, args.seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
