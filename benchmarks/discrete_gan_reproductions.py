"""CPU-scale reproduction of the thesis' SeqGAN and LeakGAN findings (Semeniuta 2019 Table 5.4,
§5.7; GENERATORS.md §10–11).

Word-level COCO (the bundled ``coco`` train split, 1 line in 20 held out), the 2,000 most frequent
words + UNK, sentences of ≤ 24 tokens. A pretraining LM (LSTM 128, embedding 64, ≤ 10 epochs,
early-stopped) is trained once and every SeqGAN starts from it (``gan.init_from``). D: LSTM 128,
pretrained for 2 epochs of real vs generated batches; then 150 G updates (batch 64), one D update
after each. Metrics on 2,000 samples per run (seeded), against the bundled test captions.

Experiments and the claims they gate (3 seeds where marked):
- ``lm``: the pretraining LM itself (3 sample seeds): the reference row.
- ``zero``: seqgan-reinforce with g_lr = 0 must reproduce the LM's samples and metrics exactly.
- ``reinforce`` (3 seeds, g_lr = 1e-3): towards precision against the LM — BLEU-4 ↑, self-BLEU-4 ↑,
  unique 4-grams ↓, LM score ↓, reverse LM score ↑ (Table 5.4's direction).
- ``reinforce-small`` (g_lr = 1e-4): a smaller drift from the LM than at 1e-3.
- ``nopretrain``: seqgan-reinforce from a random generator (no MLE): FD far above the pretrained runs.
- ``step`` (γ = 0.9), ``rollout`` (4 rollouts): reported, not gated (the thesis' step is more
  diverse than its LM).
- ``leak``/``noleak``/``mixed`` (3 seeds): MLE validation NLL after pretraining — leak worst
  (Table 5.4: leak's LM score 67.9 vs 34.9 / 35.9), then 150 adversarial updates.

Usage: ``python benchmarks/discrete_gan_reproductions.py [--only lm,zero,...] [--out DIR]``;
resumable (one row per finished run in ``results.json``); ``--report-only`` re-renders.
"""

from __future__ import annotations

import argparse
import hashlib
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
from textgen_eval.core.models import load_model, model_class  # noqa: E402
from textgen_eval.pipelines.recipes import split_train_valid  # noqa: E402
from textgen_eval.pipelines.train import resolve_config  # noqa: E402
from textgen_eval.training import Runner  # noqa: E402

METRICS = "fd,bleu-4,self-bleu-4,unique-ngrams-4,lm-score,reverse-lm-score"
SAMPLES = 2000
SIZES = {"model.emb_dim": "64", "model.hidden_size": "128", "model.max_len": "24", "model.max_vocab": "2000"}
GAN = {
    "gan.pretrain_d_steps": "282",
    "gan.adversarial_steps": "150",
    "gan.d_steps": "1",
    "gan.eval_every": "50",
    "train.batch_size": "64",
    "runner.device": "cpu",
}
#: (experiment, model, seeds, overrides); "{lm}" is replaced by the pretrained LM's directory
EXPERIMENTS: list[tuple[str, str, tuple[int, ...], dict[str, str]]] = [
    ("zero", "seqgan-reinforce", (0,), {"gan.init_from": "{lm}", "train.g_lr": "0"}),
    ("reinforce", "seqgan-reinforce", (0, 1, 2), {"gan.init_from": "{lm}", "train.g_lr": "1e-3"}),
    ("reinforce-small", "seqgan-reinforce", (0,), {"gan.init_from": "{lm}", "train.g_lr": "1e-4"}),
    ("nopretrain", "seqgan-reinforce", (0,), {"gan.pretrain_epochs": "0", "train.g_lr": "1e-3"}),
    ("step", "seqgan-step", (0,), {"gan.init_from": "{lm}", "train.g_lr": "1e-3", "gan.gamma": "0.9"}),
    ("rollout", "seqgan-rollout", (0,), {"gan.init_from": "{lm}", "train.g_lr": "1e-3", "gan.rollouts": "4"}),
    ("leak", "leakgan-leak", (0, 1, 2), {"gan.pretrain_epochs": "10", "train.g_lr": "1e-3"}),
    ("noleak", "leakgan-noleak", (0, 1, 2), {"gan.pretrain_epochs": "10", "train.g_lr": "1e-3"}),
    ("mixed", "leakgan-mixed", (0, 1, 2), {"gan.pretrain_epochs": "10", "train.g_lr": "1e-3"}),
]


def digest(samples: list[str]) -> str:
    return hashlib.sha256("\n".join(samples).encode()).hexdigest()[:16]


def score(samples: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
        handle.write("".join(s + "\n" for s in samples))
    result = evaluate(handle.name, metrics=METRICS, fd_n=len(samples))
    Path(handle.name).unlink()
    return {s.name: s.value for s in result.scores}


def pretrained_lm(out: Path, train: list[str], valid: list[str]) -> Path:
    directory = out / "lm"
    if not (directory / "config.json").is_file():
        configs = resolve_config("lstm-lm", None, {**SIZES, "runner.max_epochs": "10", "runner.patience": "1",
                                                   "runner.device": "cpu"})  # fmt: skip
        runner_config = configs.pop("runner")
        lm = model_class("lstm-lm")(configs)
        lm.fit(train, valid, Runner(runner_config))
        lm.save(directory)
    return directory


def run(
    name: str, model: str, seed: int, sets: dict[str, str], lm: Path, train: list[str], valid: list[str]
) -> dict[str, Any]:
    overrides = {
        **SIZES,
        **GAN,
        **{k: v.replace("{lm}", str(lm)) for k, v in sets.items()},
        "runner.seed": str(seed),
    }
    configs = resolve_config(model, None, overrides)
    runner_config = configs.pop("runner")
    gan = model_class(model)(configs)
    start = time.perf_counter()
    result = gan.fit(train, valid, Runner(runner_config))
    train_s = time.perf_counter() - start
    evals = result.evaluations
    pretrain = [e for e in evals if e.get("stage") == "pretrain-g" and "valid_loss" in e]
    final = [e for e in evals if "valid_loss" in e]
    samples = gan.sample(SAMPLES, seed=seed)
    return {
        "experiment": name, "model": model, "seed": seed, "train_s": train_s, "overrides": overrides,
        "pretrain_valid_nll": min((e["valid_loss"] for e in pretrain), default=None),
        "final_valid_nll": final[-1]["valid_loss"] if final else None,
        "stages": [s.to_dict() for s in result.stages], "examples": samples[:8],
        "metrics": score(samples), "samples_digest": digest(samples),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "discrete_gan")
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
        lm_dir = pretrained_lm(opts.out, train, valid)
        only = set(filter(None, opts.only.split(",")))
        done = {(r["experiment"], r["seed"]) for r in rows}
        if (not only or "lm" in only) and not any(r["experiment"] == "lm" for r in rows):
            lm = load_model(lm_dir)
            for seed in (0, 1, 2):
                samples = lm.sample(SAMPLES, seed=seed)  # type: ignore[attr-defined]
                rows.append({"experiment": "lm", "model": "lstm-lm", "seed": seed, "metrics": score(samples),
                             "samples_digest": digest(samples), "examples": samples[:8]})  # fmt: skip
                results.write_text(json.dumps(rows, indent=1) + "\n")
        for name, model, seeds, sets in EXPERIMENTS:
            if only and name not in only:
                continue
            for seed in seeds:
                if (name, seed) in done:
                    continue
                row = run(name, model, seed, sets, lm_dir, train, valid)
                rows.append(row)
                results.write_text(json.dumps(rows, indent=1) + "\n")
                print(
                    json.dumps({k: row[k] for k in ("experiment", "seed", "train_s", "metrics")}), flush=True
                )
    md = table(rows)
    (opts.out / "table.md").write_text(md + "\n")
    print(md)


def table(rows: list[dict[str, Any]]) -> str:
    keys = ["fd", "bleu-4", "self-bleu-4", "unique-ngrams-4", "lm-score", "reverse-lm-score"]
    out = [
        "| run | seeds | FD ↓ | BLEU-4 ↑ | self-BLEU-4 ↓ | unique 4-grams ↑ | LM ↓ | RLM ↓ "
        "| pretraining NLL | final valid NLL |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ["lm", *[e[0] for e in EXPERIMENTS]]:
        rs = [r for r in rows if r["experiment"] == name]
        if not rs:
            continue

        def ms(values: list[Any], digits: int = 3) -> str:
            values = [v for v in values if v is not None]
            if not values:
                return "–"
            if len(values) == 1:
                return f"{values[0]:.{digits}f}"
            return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"

        cells = [ms([r["metrics"][k] for r in rs], 0 if k == "unique-ngrams-4" else 3) for k in keys]
        cells += [ms([r.get("pretrain_valid_nll") for r in rs]), ms([r.get("final_valid_nll") for r in rs])]
        out.append(f"| {name} ({rs[0]['model']}) | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
