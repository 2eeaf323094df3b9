"""CPU-scale reproductions of the thesis' VAE findings (Semeniuta 2019 §5.5; GENERATORS.md §10).

Character-level data as the thesis used it: random fixed windows of ``L − 1`` characters from the
newline-joined bundled COCO training captions (newlines shown as ``¶``), so every example has
exactly L positions with EOS. Each experiment trains with the shared runner for ``--steps``
updates and reports, on 1,000 held-out windows, the reconstruction term and the KL at weight 1 in
bits per character, the mean of ``--seeds`` seeds ± their standard deviation. Claims
(GENERATORS.md §10–11):

- lstm:   Table 5.2 direction — KL and reconstruction both rise with word dropout p;
          Fig. 5.6 — the LSTM VAE's KL per character falls as L grows;
          collapse — with p = 0 and no annealing the KL falls to ≈ 0.
- ae:     Fig. 5.5 — historyless (KL weight 0), the conv-deconv autoencoder reconstructs far
          better than the LSTM autoencoder with p = 1.
- alpha:  Fig. 5.7 — with no annealing, the hybrid's KL rises with α, and α = 0 collapses.
- hybrid: Table 5.2 — the hybrid with α = 0.2 keeps several times the LSTM VAE's KL at a
          comparable bound.
- bytenet: Fig. 5.8 — with α = 0 a ByteNet head with receptive field > 3 collapses; α > 0 not.

Usage: ``python benchmarks/vae_reproductions.py [--steps 1000] [--seeds 3] [--only lstm,ae,...]
[--out benchmarks/results/vae]``. Writes ``results.json``, a Markdown table, and PNG plots of KL
and reconstruction against the training step.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textgen_eval.generators.text.generator import AutoregressiveGenerator  # noqa: E402
from textgen_eval.generators.vae.config import (  # noqa: E402
    HybridObjectiveConfig,
    HybridVAEConfig,
    LSTMVAEConfig,
    TrainConfig,
    VAEConfig,
)
from textgen_eval.generators.vae.hybrid import HybridVAE  # noqa: E402
from textgen_eval.generators.vae.lstm_vae import LSTMVAE  # noqa: E402
from textgen_eval.training import Runner, RunnerConfig  # noqa: E402

LN2 = math.log(2)


def windows(text: str, length: int, n: int, seed: int) -> list[str]:
    """``n`` random windows of ``length`` characters, newlines shown as ``¶``."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(text) - length, size=n)
    return [text[s : s + length].replace("\n", "¶") for s in starts]


@dataclass
class Run:
    name: str
    group: str
    length: int  # L positions (characters + EOS)
    build: Callable[[int], AutoregressiveGenerator]
    seeds: list[dict[str, float]] = field(default_factory=list)
    curves: list[list[dict[str, float]]] = field(default_factory=list)


def lstm_vae(
    length: int, p: float, anneal: bool, kl_zero: bool = False, hidden: int = 128
) -> Callable[[int], LSTMVAE]:
    def build(steps: int) -> LSTMVAE:
        schedule = "zero" if kl_zero else ("linear" if anneal else "constant")
        start, end = int(0.15 * steps), int(0.65 * steps)
        return LSTMVAE(
            {
                "model": LSTMVAEConfig(
                    tokenizer="char", max_len=length, emb_dim=32, hidden_size=hidden, latent_size=32
                ),
                "train": TrainConfig(batch_size=64, lr=1e-3),
                "vae": VAEConfig(kl_schedule=schedule, kl_start=start, kl_end=end, word_dropout=p),  # type: ignore[arg-type]
            }
        )

    return build


def hybrid(
    length: int, alpha: float, anneal: bool, head: str = "lstm", layers: int = 2, kl_zero: bool = False
) -> Callable[[int], HybridVAE]:
    def build(steps: int) -> HybridVAE:
        schedule = "zero" if kl_zero else ("linear" if anneal else "constant")
        start, end = int(0.15 * steps), int(0.65 * steps)
        return HybridVAE(
            {
                "model": HybridVAEConfig(
                    tokenizer="char",
                    length=length,
                    emb_dim=32,
                    conv_layers=2,
                    channels=64,
                    feature_size=64,
                    latent_size=32,
                    head=head,
                    head_size=128,
                    bytenet_layers=layers,  # type: ignore[arg-type]
                ),
                "train": TrainConfig(batch_size=64, lr=1e-3),
                "vae": HybridObjectiveConfig(
                    kl_schedule=schedule,
                    kl_start=start,
                    kl_end=end,
                    alpha=alpha,  # type: ignore[arg-type]
                ),
            }
        )

    return build


def experiments() -> list[Run]:
    return [
        Run("lstm-vae p=0.2 L=32", "lstm", 32, lstm_vae(31, 0.2, True)),
        Run("lstm-vae p=0.5 L=32", "lstm", 32, lstm_vae(31, 0.5, True)),
        Run("lstm-vae p=0.2 L=64", "lstm", 64, lstm_vae(63, 0.2, True)),
        Run("lstm-vae p=0.5 L=64", "lstm", 64, lstm_vae(63, 0.5, True)),
        Run("lstm-vae p=0 no anneal L=64", "lstm", 64, lstm_vae(63, 0.0, False)),
        Run("lstm AE p=1 (KL weight 0) L=64", "ae", 64, lstm_vae(63, 1.0, False, kl_zero=True)),
        Run("conv-deconv AE (KL weight 0) L=64", "ae", 64, hybrid(64, 0.0, False, head="none", kl_zero=True)),
        Run("hybrid α=0 no anneal L=64", "alpha", 64, hybrid(64, 0.0, False)),
        Run("hybrid α=0.2 no anneal L=64", "alpha", 64, hybrid(64, 0.2, False)),
        Run("hybrid α=0.5 no anneal L=64", "alpha", 64, hybrid(64, 0.5, False)),
        Run("hybrid α=1 no anneal L=64", "alpha-high", 64, hybrid(64, 1.0, False)),
        Run("hybrid α=2 no anneal L=64", "alpha-high", 64, hybrid(64, 2.0, False)),
        Run("hybrid α=0.2 anneal L=64", "hybrid", 64, hybrid(64, 0.2, True)),
        Run("bytenet N=1 α=0 L=64", "bytenet", 64, hybrid(64, 0.0, False, head="bytenet", layers=1)),
        Run("bytenet N=4 α=0 L=64", "bytenet", 64, hybrid(64, 0.0, False, head="bytenet", layers=4)),
        Run("bytenet N=4 α=0.2 L=64", "bytenet", 64, hybrid(64, 0.2, False, head="bytenet", layers=4)),
    ]


def train_one(run: Run, steps: int, seed: int, text: str) -> tuple[dict[str, float], list[dict[str, float]]]:
    chars = run.length - 1
    train = windows(text, chars, 20_000, seed=1000 + seed)
    valid = windows(text, chars, 1_000, seed=999)  # the same held-out windows for every run
    model = run.build(steps)
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(
            RunnerConfig(max_epochs=10_000, max_steps=steps, seed=seed, device="cpu", log_every=10),
            run_dir=tmp,
        )
        t0 = time.perf_counter()
        model.fit(train, None, runner)
        seconds = time.perf_counter() - t0
        log = [json.loads(line) for line in (Path(tmp) / "log.jsonl").read_text().splitlines()]
    curve = [
        {
            "step": r["step"],
            "kl": r["kl"] / chars / LN2,
            "rec": r["rec"] / chars / LN2,
            "kl_weight": r["kl_weight"],
        }
        for r in log
        if r["event"] == "train"
    ]
    d = model.diagnostics(valid)  # β = 1, held-out windows
    per_char = chars  # every window has exactly `chars` characters (+ EOS, scored in rec)
    result = {
        "kl_bpc": d["kl_per_sentence"] / per_char / LN2,
        "rec_bpc": d["rec_per_sentence"] / per_char / LN2,
        "bound_bpc": (d["kl_per_sentence"] + d["rec_per_sentence"]) / per_char / LN2,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
    }
    return result, curve


def summarise(run: Run) -> dict[str, str]:
    out = {}
    for key in ("rec_bpc", "kl_bpc", "bound_bpc"):
        values = [s[key] for s in run.seeds]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        digits = 4 if key == "kl_bpc" else 3
        out[key] = f"{statistics.mean(values):.{digits}f} ± {std:.{digits}f}"
    return out


def mean(run: Run, key: str) -> float:
    return statistics.mean(s[key] for s in run.seeds)


COLLAPSED = 0.01  # bits per character: below this the KL has collapsed (GENERATORS.md §10)


def verdict(full: bool, direction: bool) -> str:
    return "reproduced" if full else ("direction only" if direction else "not reproduced")


def clearly_greater(a: Run, b: Run, key: str) -> bool:
    """Mean of ``a`` above mean of ``b`` by more than two standard errors of the difference."""
    xs, ys = [s[key] for s in a.seeds], [s[key] for s in b.seeds]
    var = (statistics.variance(xs) if len(xs) > 1 else 0.0) / len(xs)
    var += (statistics.variance(ys) if len(ys) > 1 else 0.0) / len(ys)
    return statistics.mean(xs) - statistics.mean(ys) > 2 * math.sqrt(var)


def verdicts(runs: dict[str, Run]) -> list[tuple[str, str, str]]:
    """(claim, measured, verdict) for each claim whose runs were made. A difference counts only
    beyond two standard errors over seeds; a KL below 0.01 bits/char counts as collapsed."""
    out = []

    def have(*names: str) -> bool:
        return all(n in runs and runs[n].seeds for n in names)

    def kl(name: str) -> float:
        return mean(runs[name], "kl_bpc")

    lstm = [f"lstm-vae p={p} L={n}" for n in (32, 64) for p in (0.2, 0.5)]
    if have(*lstm):
        kl_rows, rec_rows, kl_ok, rec_ok, alive = [], [], True, True, False
        for n in (32, 64):
            lo, hi = runs[f"lstm-vae p=0.2 L={n}"], runs[f"lstm-vae p=0.5 L={n}"]
            alive |= max(mean(lo, "kl_bpc"), mean(hi, "kl_bpc")) > COLLAPSED
            kl_ok &= clearly_greater(hi, lo, "kl_bpc")
            rec_ok &= clearly_greater(hi, lo, "rec_bpc")
            kl_rows.append(f"L={n}: {mean(lo, 'kl_bpc'):.4f} → {mean(hi, 'kl_bpc'):.4f} bpc")
            rec_rows.append(f"L={n}: {mean(lo, 'rec_bpc'):.3f} → {mean(hi, 'rec_bpc'):.3f} bpc")
        claim = "Table 5.2: the LSTM VAE's reconstruction term rises with word dropout p (0.2 → 0.5)"
        out.append((claim, "; ".join(rec_rows), verdict(rec_ok, rec_ok)))
        claim = "Table 5.2: the LSTM VAE's KL rises with word dropout p (0.2 → 0.5)"
        reason = "" if alive else " — KL collapsed (< 0.01 bpc) at both p"
        out.append((claim, "; ".join(kl_rows) + reason, verdict(kl_ok and alive, False)))
        rows, ok, alive = [], True, False
        for p in (0.2, 0.5):
            short, long = f"lstm-vae p={p} L=32", f"lstm-vae p={p} L=64"
            alive |= kl(short) > COLLAPSED
            ok &= clearly_greater(runs[short], runs[long], "kl_bpc")
            rows.append(f"p={p}: {kl(short):.4f} (L=32) → {kl(long):.4f} (L=64) bpc")
        claim = "Fig. 5.6: the LSTM VAE keeps a KL at short L that falls towards 0 as L grows"
        reason = "" if alive else " — already collapsed at L = 32"
        out.append((claim, "; ".join(rows) + reason, verdict(ok and alive, False)))
    if have("lstm-vae p=0 no anneal L=64"):
        value = kl("lstm-vae p=0 no anneal L=64")
        claim = "Collapse: p = 0 without annealing ends with KL ≤ 0.01 bits/char"
        out.append((claim, f"KL {value:.5f} bpc", verdict(value <= COLLAPSED, value <= COLLAPSED)))
    if have("lstm AE p=1 (KL weight 0) L=64", "conv-deconv AE (KL weight 0) L=64"):
        a = mean(runs["lstm AE p=1 (KL weight 0) L=64"], "rec_bpc")
        b = mean(runs["conv-deconv AE (KL weight 0) L=64"], "rec_bpc")
        claim = "Fig. 5.5: historyless, the conv-deconv AE reconstructs with < ½ the LSTM AE's bpc"
        measured = f"LSTM AE {a:.3f}, conv-deconv {b:.3f} bpc (ratio {b / a:.2f})"
        out.append((claim, measured, verdict(b < 0.5 * a, b < a)))
    values = [a for a in (0, 0.2, 0.5, 1, 2) if have(f"hybrid α={a} no anneal L=64")]
    if len(values) >= 3:
        alphas = [f"hybrid α={a} no anneal L=64" for a in values]
        kls = [kl(n) for n in alphas]
        # KL never clearly falls as α grows, and the largest α clearly exceeds α = 0
        never_falls = not any(
            clearly_greater(runs[a], runs[b], "kl_bpc") for a, b in itertools.pairwise(alphas)
        )
        rising = never_falls and clearly_greater(runs[alphas[-1]], runs[alphas[0]], "kl_bpc")
        claim = (
            "Fig. 5.7: without annealing the hybrid's KL rises with α; α = 0 collapses, a large enough α "
            "keeps a non-zero KL"
        )
        measured = "KL " + ", ".join(f"α={a}: {k:.4f}" for a, k in zip(values, kls)) + " bpc"
        nonzero = max(kls) > COLLAPSED
        bounds = ", ".join(f"{mean(runs[n], 'bound_bpc'):.3f}" for n in alphas)
        measured += f"; bound {bounds} bpc"
        out.append((claim, measured, verdict(rising and kls[0] <= COLLAPSED and nonzero, nonzero or rising)))
    if have("hybrid α=0.2 anneal L=64", "lstm-vae p=0.2 L=64"):
        h, lv = runs["hybrid α=0.2 anneal L=64"], runs["lstm-vae p=0.2 L=64"]
        ratio = mean(h, "kl_bpc") / max(mean(lv, "kl_bpc"), 1e-9)
        alive = mean(h, "kl_bpc") > COLLAPSED
        claim = "Table 5.2: hybrid (α = 0.2) keeps ≥ 3× the LSTM VAE's (p = 0.2) KL at a comparable bound"
        measured = (
            f"KL {mean(h, 'kl_bpc'):.4f} vs {mean(lv, 'kl_bpc'):.4f} bpc (×{ratio:.1f}); bound "
            f"{mean(h, 'bound_bpc'):.3f} vs {mean(lv, 'bound_bpc'):.3f} bpc"
        )
        out.append((claim, measured, verdict(alive and ratio >= 3, clearly_greater(h, lv, "kl_bpc"))))
    names = ("bytenet N=1 α=0 L=64", "bytenet N=4 α=0 L=64", "bytenet N=4 α=0.2 L=64")
    if have(*names):
        k1, k4, k4a = (kl(n) for n in names)
        claim = "Fig. 5.8: α = 0 and receptive field 5 (N = 4) collapses; α = 0.2 does not"
        measured = f"KL N=1 α=0: {k1:.4f}; N=4 α=0: {k4:.4f}; N=4 α=0.2: {k4a:.4f} bpc"
        ok = k4 <= COLLAPSED < k4a
        out.append((claim, measured, verdict(ok, clearly_greater(runs[names[2]], runs[names[1]], "kl_bpc"))))
    return out


def plot(runs: list[Run], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    groups = sorted({r.group for r in runs if r.curves})
    for group in groups:
        members = [r for r in runs if r.group == group and r.curves]
        fig, (ax_kl, ax_rec) = plt.subplots(1, 2, figsize=(11, 4))
        for r in members:
            curve = r.curves[0]  # the first seed
            steps = [c["step"] for c in curve]
            ax_kl.plot(steps, [c["kl"] for c in curve], label=r.name)
            ax_rec.plot(steps, [c["rec"] for c in curve], label=r.name)
        ax_kl.set(xlabel="training step", ylabel="KL (bits/char, training batches)", title=f"{group}: KL")
        ax_rec.set(
            xlabel="training step", ylabel="reconstruction (bits/char)", title=f"{group}: reconstruction"
        )
        ax_kl.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"vae-{group}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default="lstm,ae,alpha,alpha-high,hybrid,bytenet")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vae")
    parser.add_argument(
        "--report-only", type=Path, metavar="RESULTS_JSON", help="Re-render the table of an earlier run."
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    groups = set(args.only.split(","))
    runs = [r for r in experiments() if r.group in groups]
    if args.report_only is not None:
        saved = json.loads(args.report_only.read_text(encoding="utf-8"))
        for run in runs:
            run.seeds = saved.get(run.name, {}).get("seeds", [])
            run.curves = saved.get(run.name, {}).get("curves", [])
        runs = [r for r in runs if r.seeds]
    else:
        text = (ROOT / "data" / "coco" / "train.txt").read_text(encoding="utf-8")
        for run in runs:
            for seed in range(args.seeds):
                result, curve = train_one(run, args.steps, seed, text)
                run.seeds.append(result)
                run.curves.append(curve)
                print(f"{run.name} seed {seed}: {result}", file=sys.stderr, flush=True)
    table = ["| run | rec (bpc) | KL (bpc) | bound (bpc) | steps/s |", "|---|---:|---:|---:|---:|"]
    for run in runs:
        s = summarise(run)
        speed = statistics.mean(x["steps_per_second"] for x in run.seeds)
        table.append(f"| {run.name} | {s['rec_bpc']} | {s['kl_bpc']} | {s['bound_bpc']} | {speed:.1f} |")
    claims = ["| claim | measured (mean of seeds) | verdict |", "|---|---|---|"]
    claims += [f"| {c} | {m} | {v} |" for c, m, v in verdicts({r.name: r for r in runs})]
    report = "\n".join(
        [
            f"{args.steps} steps, {args.seeds} seeds, mean ± std over seeds, 1,000 held-out windows",
            "",
            *table,
            "",
            *claims,
        ]
    )
    print(report)
    (args.out / "table.md").write_text(report + "\n", encoding="utf-8")
    (args.out / "results.json").write_text(
        json.dumps(
            {r.name: {"group": r.group, "seeds": r.seeds, "curves": r.curves} for r in runs}, indent=2
        ),
        encoding="utf-8",
    )
    for path in plot(runs, args.out):
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
