"""CPU-scale reproduction of the thesis' WGAN-GP rows (Semeniuta 2019 Table 5.4; GENERATORS.md §10).

Word-level COCO (the bundled ``coco`` train split; 1 line in 20 held out for validation), T = 24
positions, the 2,000 most frequent words + UNK, critic = 1×1 conv V→128 + 2 residual blocks
(k 5) + linear, λ = 10, n_critic = 5, Adam 1e-4 (0.5, 0.9), batch 64 — every default of
``wgan-conv-deconv`` / ``wgan-conv-lstm``. For each model and seed it trains ``--gen-iters``
generator updates and measures, on ``--samples`` sentences decoded by argmax:

- FD (the project's ``lm`` featurizer) of the trained generator and of its initialisation
  (the same seed, no generator update);
- the n-gram JS divergence (n = 1…4, bits) to the training text, initial and final ([42] tracks it);
- the critic's Wasserstein estimate (mean D(real) − mean D(fake)) over training: its sign, and
  its mean over the second half's first and last quarters of training;
- whether the penalty stayed finite;
- for the trained model, BLEU-4, self-BLEU-4, unique 4-grams, LM and reverse-LM scores
  (the same evaluation as the LM rows of docs/reproductions.md, so orderings compare).

Usage: ``python benchmarks/wgan_reproductions.py [--models wgan-conv-deconv,wgan-conv-lstm]
[--seeds 2] [--gen-iters 300] [--samples 10000] [--out benchmarks/results/wgan]`` (~8 min per
model and seed on 2 cores, evaluation included). ``--report-only`` re-renders the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textgen_eval import evaluate  # noqa: E402
from textgen_eval.core.models import model_class  # noqa: E402
from textgen_eval.generators.text.ngram_js import js_divergence, ngram_counts  # noqa: E402
from textgen_eval.generators.wgan.model import TextWGAN  # noqa: E402
from textgen_eval.pipelines.recipes import split_train_valid  # noqa: E402
from textgen_eval.pipelines.train import resolve_config  # noqa: E402
from textgen_eval.training import Runner, RunnerConfig  # noqa: E402

METRICS = "fd,bleu-4,self-bleu-4,unique-ngrams-4,lm-score,reverse-lm-score"
#: Table 5.4 (SNLI, InferSent FD; only orderings compare with ours)
THESIS = {
    "wgan-conv-lstm": {"fd": "1.464 ± 0.087", "bleu-4": "0.197", "self-bleu-4": "0.34", "lm": "221"},
    "wgan-conv-deconv": {"fd": "1.81 ± 0.11", "bleu-4": "0.08", "self-bleu-4": "0.45", "lm": "2800"},
}


def build(name: str, gen_iters: int, seed: int, overrides: dict[str, str]) -> tuple[TextWGAN, RunnerConfig]:
    sets = {"wgan.gen_iters": str(gen_iters), "runner.seed": str(seed), "runner.device": "cpu", **overrides}
    configs = resolve_config(name, None, sets)
    runner_config = configs.pop("runner")
    model = model_class(name)(configs)
    assert isinstance(model, TextWGAN)
    return model, runner_config


def js_all(samples: list[str], reference: dict[int, Any]) -> dict[str, float]:
    tokens = [s.split() for s in samples]
    return {f"js{n}": js_divergence(ngram_counts(tokens, n), reference[n]) for n in (1, 2, 3, 4)}


def score(samples: list[str], metrics: str) -> dict[str, float | None]:
    """The metrics of ``samples``; every metric is ``None`` when all samples are empty (a
    generator that emits EOS or PAD first has collapsed, and no metric is defined)."""
    if not any(s.strip() for s in samples):
        return dict.fromkeys(metrics.split(","))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
        handle.write("".join(s + "\n" for s in samples))
    result = evaluate(handle.name, metrics=metrics, fd_n=len(samples))
    Path(handle.name).unlink()
    return {s.name: s.value for s in result.scores}


def run_one(
    name: str, seed: int, opts: argparse.Namespace, train: list[str], valid: list[str]
) -> dict[str, Any]:
    reference = {n: ngram_counts([t.split() for t in train], n) for n in (1, 2, 3, 4)}
    overrides = dict(kv.split("=", 1) for kv in opts.set)
    # the initialisation: one critic update, which leaves the generator as it was built
    init, cfg = build(name, opts.gen_iters, seed, overrides)
    init.fit(train, valid, Runner(RunnerConfig(**{**cfg.__dict__, "max_steps": 1})))
    init_samples = init.sample(opts.samples, seed=seed)
    row: dict[str, Any] = {"model": name, "seed": seed}
    row["init"] = {**js_all(init_samples, reference), **score(init_samples, "fd")}
    model, cfg = build(name, opts.gen_iters, seed, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = model.fit(
            train, valid, Runner(RunnerConfig(**{**cfg.__dict__, "log_every": 1}), run_dir=tmp)
        )
        row["train_s"] = time.perf_counter() - start
        log = [json.loads(line) for line in (Path(tmp) / "log.jsonl").read_text().splitlines()]
    critic = [r for r in log if r["event"] == "train" and r["optimizer"] == "critic"]
    wdist = [r["wdist"] for r in critic]
    half = len(wdist) // 2
    quarter = max(1, half // 2)
    row["steps"] = result.steps
    row["wdist"] = {
        "positive_share": sum(w > 0 for w in wdist) / len(wdist),
        "second_half_first_quarter": statistics.fmean(wdist[half : half + quarter]),
        "last_quarter": statistics.fmean(wdist[-quarter:]),
        "curve": wdist[:: max(1, len(wdist) // 60)],
    }
    row["gp_finite"] = all(r["gp"] == r["gp"] and abs(r["gp"]) < float("inf") for r in critic)
    row["gp_last_quarter"] = statistics.fmean(r["gp"] for r in critic[-quarter:])
    row["valid"] = [r for r in log if r["event"] == "valid"]
    samples = model.sample(opts.samples, seed=seed)
    row["empty"] = sum(1 for s in samples if not s.strip())
    row["examples"] = samples[:8]
    row["final"] = {**js_all(samples, reference), **score(samples, METRICS)}
    return row


def table(rows: list[dict[str, Any]]) -> str:
    out = [
        "| model | FD init → trained ↓ | JS-1 init → trained | JS-4 trained "
        "| W first/last quarter of 2nd half | BLEU-4 ↑ | self-BLEU-4 ↓ | unique 4-grams | LM ↓ | RLM ↓ "
        "| thesis FD / BLEU-4 / self-BLEU-4 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted({r["model"] for r in rows}):
        rs = [r for r in rows if r["model"] == name]

        def ms(get: Any, digits: int = 3, rs: list[dict[str, Any]] = rs) -> str:
            values = [get(r) for r in rs]
            if any(v is None for v in values):
                return " / ".join("empty" if v is None else f"{v:.{digits}f}" for v in values)
            if len(values) == 1:
                return f"{values[0]:.{digits}f}"
            return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"

        t = THESIS.get(name, {})
        out.append(
            f"| {name} | {ms(lambda r: r['init']['fd'])} → {ms(lambda r: r['final']['fd'])} "
            f"| {ms(lambda r: r['init']['js1'])} → {ms(lambda r: r['final']['js1'])} "
            f"| {ms(lambda r: r['final']['js4'])} "
            f"| {ms(lambda r: r['wdist']['second_half_first_quarter'])} "
            f"/ {ms(lambda r: r['wdist']['last_quarter'])} "
            f"| {ms(lambda r: r['final']['bleu-4'])} | {ms(lambda r: r['final']['self-bleu-4'])} "
            f"| {ms(lambda r: r['final']['unique-ngrams-4'], 0)} | {ms(lambda r: r['final']['lm-score'])} "
            f"| {ms(lambda r: r['final']['reverse-lm-score'])} "
            f"| {t.get('fd', '–')} / {t.get('bleu-4', '–')} / {t.get('self-bleu-4', '–')} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="wgan-conv-deconv,wgan-conv-lstm")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--gen-iters", type=int, default=300)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "wgan")
    parser.add_argument("--report-only", action="store_true")
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    results = opts.out / "results.json"
    rows: list[dict[str, Any]] = json.loads(results.read_text()) if results.is_file() else []
    if not opts.report_only:
        import torch

        torch.set_num_threads(2)
        lines = [
            t for t in (ROOT / "data" / "coco" / "train.txt").read_text(encoding="utf-8").split("\n") if t
        ]
        train, valid = split_train_valid(lines)
        done = {(r["model"], r["seed"]) for r in rows}
        for name in opts.models.split(","):
            for seed in range(opts.seeds):
                if (name, seed) in done:
                    continue
                row = run_one(name, seed, opts, train, valid)
                rows.append(row)
                results.write_text(json.dumps(rows, indent=1) + "\n")  # resumable: one row per run
                summary = {k: row[k] for k in ("model", "seed", "train_s", "init", "final", "empty")}
                print(json.dumps(summary), flush=True)
    md = table(rows)
    (opts.out / "table.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
