"""Check the thesis' Table 5.4 findings (GENERATORS.md §11, items 5–11) on a ``tge compare`` run.

Reads ``OUT/report.json`` of a finished comparison (``tge compare --data coco --out OUT``) and
prints, for every finding a CPU-scale comparison can test, the numbers it rests on and a verdict
computed by the rule stated next to it — so the verdicts in docs/reproductions.md come from a
command, not from reading a table by eye:

- **reproduced**: the thesis' statement holds for the retrained means and, where it compares two
  models, Welch's t-test over the retrained seeds separates them (p < 0.05);
- **direction only**: the means are ordered as in the thesis but the seeds do not separate them,
  or only part of a many-part statement holds;
- **not reproduced**: the means are ordered the other way.

Finding 10 (pretraining is necessary) is not a comparison of Table 5.4's rows; it is checked by
``benchmarks/discrete_gan_reproductions.py``. Its second half — the search prefers low generator
learning rates — is read here from each model's best configuration.

With ``--peers`` it checks instead the finding issues 30 and 31 ask of the peers' rows (PEERS.md;
beyond the thesis): does any of them beat the LM on FD, and on NLL-test — the trained model's
exact per-token NLL of the bundle's held-out test split (``model-nll``; ``nll-test`` on an oracle
bundle), which a text-bundle comparison's trials do not record, so it is scored here for every
retrained run by ``tge evaluate RUN_DIR -m model-nll`` (kept beside the run as ``model-nll.json``).
Every row is compared with the LM row of the same comparison, Welch's t-test over the seeds.

Usage: ``python benchmarks/compare_findings.py OUT [--markdown FILE] [--peers]``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textgen_eval.pipelines.compare_presets import TABLE_5_4  # noqa: E402
from textgen_eval.tuning.report import ALPHA, welch_p  # noqa: E402

LM, CONTINUOUS, DISCRETE = TABLE_5_4[0], TABLE_5_4[1:3], TABLE_5_4[3:]  # the thesis' row order
LEAKGAN = TABLE_5_4[6:]

Runs = dict[str, dict[str, Any]]


def load(out: Path) -> Runs:
    """The comparison's model runs by model name (the real-data column left out)."""
    path = out / "report.json"
    if not path.is_file():
        raise SystemExit(f"{path}: not found; run `tge compare --report-only --resume {out}` first")
    payload = json.loads(path.read_text(encoding="utf-8"))
    return {r["model"]: r for r in payload["runs"] if not r.get("real")}


def values(runs: Runs, model: str, metric: str) -> list[float]:
    return list(runs[model]["retrain"]["metrics"][metric]["values"])


def mean(runs: Runs, model: str, metric: str) -> float:
    return float(runs[model]["retrain"]["metrics"][metric]["mean"])


def fmt(x: float | None, digits: int = 4) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def better(runs: Runs, a: str, b: str, metric: str, lower: bool) -> tuple[bool, float | None]:
    """Whether ``a``'s mean is better than ``b``'s, and Welch's p of their seeds."""
    ma, mb = mean(runs, a, metric), mean(runs, b, metric)
    return (ma < mb) if lower else (ma > mb), welch_p(values(runs, a, metric), values(runs, b, metric))


def verdict(holds: bool, p: float | None) -> str:
    if not holds:
        return "not reproduced"
    return "reproduced" if p is not None and p < ALPHA else "direction only"


def discrete_beats_continuous(runs: Runs) -> tuple[str, str]:
    """Finding 5: every discrete GAN's FD below both continuous GANs'."""
    disc = {m: mean(runs, m, "fd") for m in DISCRETE if m in runs}
    cont = {m: mean(runs, m, "fd") for m in CONTINUOUS if m in runs}
    worst_disc = max(disc, key=disc.__getitem__)
    best_cont = min(cont, key=cont.__getitem__)
    holds, p = better(runs, worst_disc, best_cont, "fd", lower=True)
    below = sum(d < min(cont.values()) for d in disc.values())
    evidence = (
        f"{below} of {len(disc)} discrete GANs below the best continuous one; worst discrete "
        f"{worst_disc} FD {fmt(disc[worst_disc])} vs best continuous {best_cont} {fmt(cont[best_cont])} "
        f"(Welch p {fmt(p, 2)})"
    )
    if holds:
        return evidence, verdict(True, p)
    best_disc = min(disc, key=disc.__getitem__)
    partial, _ = better(runs, best_disc, best_cont, "fd", lower=True)
    return evidence + f"; best discrete {best_disc} {fmt(disc[best_disc])}", (
        "direction only" if partial else "not reproduced"
    )


def lm_best_on_fd(runs: Runs) -> tuple[str, str]:
    """Finding 6: no GAN's mean FD below the LM's (a GAN significantly below it refutes it)."""
    lm = mean(runs, LM, "fd")
    gans = [m for m in (*CONTINUOUS, *DISCRETE) if m in runs]
    below = []
    for m in gans:
        lower, p = better(runs, m, LM, "fd", lower=True)
        if lower:
            below.append((m, mean(runs, m, "fd"), p))
    best_gan = min(gans, key=lambda m: mean(runs, m, "fd"))
    gan_worse, p = better(runs, LM, best_gan, "fd", lower=True)
    evidence = f"LM FD {fmt(lm)}; best GAN {best_gan} {fmt(mean(runs, best_gan, 'fd'))} (Welch p {fmt(p, 2)})"
    if below:
        evidence += "; below the LM: " + ", ".join(f"{m} {fmt(v)} (p {fmt(q, 2)})" for m, v, q in below)
        significant = any(q is not None and q < ALPHA for _, _, q in below)
        return evidence, "not reproduced" if significant else "not reproduced (within seed noise)"
    return evidence, verdict(gan_worse, p)


#: Finding 7: SeqGAN-reinforce against the LM — (metric, the thesis' direction of reinforce's
#: value relative to the LM's: "lower"/"higher", what it measures).
TRADE = (
    ("lm-score", "lower", "precision"),
    ("bleu-4", "higher", "precision"),
    ("reverse-lm-score", "higher", "recall"),
    ("unique-ngrams-4", "lower", "recall"),
    ("fd", "higher", "overall"),
)


def reinforce_trade(runs: Runs) -> tuple[str, str]:
    """A trade has two halves: reproduced needs every precision and recall metric in the thesis'
    direction at p < 0.05; direction only needs each half to move (at least one of its metrics in the
    thesis' direction); a half with none — recall lost but no precision gained — is not the trade.
    FD ("overall") is shown, not judged."""
    parts, moved, significant = [], {"precision": 0, "recall": 0}, 0
    for metric, direction, kind in TRADE:
        r, lm = mean(runs, "seqgan-reinforce", metric), mean(runs, LM, metric)
        ok, p = better(runs, "seqgan-reinforce", LM, metric, lower=direction == "lower")
        if kind in moved:
            moved[kind] += ok
            significant += ok and p is not None and p < ALPHA
        mark = "✓" if ok else "✗"
        parts.append(f"{kind}: {metric} {fmt(r)} vs {fmt(lm)} {mark} (p {fmt(p, 2)})")
    judged = sum(kind in moved for _, _, kind in TRADE)
    evidence = f"{sum(moved.values())}/{judged} as in the thesis: " + "; ".join(parts)
    if significant == judged:
        return evidence, "reproduced"
    if all(moved.values()):
        return evidence, "direction only"
    missing = " and ".join(kind for kind, n in moved.items() if not n)
    return evidence, f"not reproduced (no {missing} metric moves as in the thesis)"


def bleu_disagrees(runs: Runs) -> tuple[str, str]:
    """Finding 8: BLEU-4 ranks the models differently from FD; some GANs beat the LM's BLEU-4."""
    from scipy.stats import spearmanr

    models = [m for m in (LM, *CONTINUOUS, *DISCRETE) if m in runs]
    bleu = [mean(runs, m, "bleu-4") for m in models]
    fd = [mean(runs, m, "fd") for m in models]
    rho = float(spearmanr(bleu, [-f for f in fd]).statistic)  # 1: the same ranking
    lm_bleu = mean(runs, LM, "bleu-4")
    lm_fd = mean(runs, LM, "fd")
    beat = [m for m in models if m != LM and mean(runs, m, "bleu-4") > lm_bleu]
    beat_but_worse_fd = [m for m in beat if mean(runs, m, "fd") > lm_fd]
    best_bleu = models[max(range(len(models)), key=bleu.__getitem__)]
    best_fd = models[min(range(len(models)), key=fd.__getitem__)]
    evidence = (
        f"Spearman ρ(BLEU-4, −FD) over the {len(models)} models = {rho:.2f}; best BLEU-4 {best_bleu}, "
        f"best FD {best_fd}; GANs above the LM's BLEU-4 ({fmt(lm_bleu)}): "
        f"{', '.join(beat) or 'none'} ({len(beat_but_worse_fd)} of them with a worse FD)"
    )
    if beat_but_worse_fd:
        return evidence, "reproduced"
    return evidence, "direction only" if rho < 0.8 else "not reproduced"


def leak_does_not_help(runs: Runs) -> tuple[str, str]:
    """Finding 9: leak is the worst of the three LeakGANs on FD, LM score and reverse LM score."""
    if not all(m in runs for m in LEAKGAN):
        return "a LeakGAN row is missing", "not tested"
    worst, parts = 0, []
    for metric in ("fd", "lm-score", "reverse-lm-score"):
        means = {m: mean(runs, m, metric) for m in LEAKGAN}
        rank = sorted(means, key=means.__getitem__).index("leakgan-leak") + 1  # 3: worst
        worst += rank == 3
        parts.append(f"{metric}: leak {fmt(means['leakgan-leak'])} rank {rank}/3")
    helps, p = better(runs, "leakgan-leak", "leakgan-noleak", "fd", lower=True)
    best_other = min(("leakgan-noleak", "leakgan-mixed"), key=lambda m: mean(runs, m, "fd"))
    _, p_best = better(runs, "leakgan-leak", best_other, "fd", lower=True)
    evidence = "; ".join(parts) + f"; leak vs {best_other} on FD: Welch p {fmt(p_best, 2)}"
    if helps and p is not None and p < ALPHA:
        return evidence, "not reproduced (leaking helps)"
    if worst == 3:
        return evidence, "reproduced" if p_best is not None and p_best < ALPHA else "direction only"
    leak_better_fd = mean(runs, "leakgan-leak", "fd") < mean(runs, best_other, "fd")
    if leak_better_fd:
        return evidence, "not reproduced (within seed noise)"
    return evidence, "direction only"


def spread(trials: Sequence[float]) -> tuple[float, float]:
    """Range and range relative to the best of a model's complete search trials."""
    lo, hi = min(trials), max(trials)
    return hi - lo, (hi - lo) / lo if lo > 0 else math.inf


def sensitivity(runs: Runs) -> tuple[str, str]:
    """Finding 11a: the GANs' best-N FD spread is wider than the LM's (Fig. 5.11)."""
    lm_abs, lm_rel = spread(runs[LM]["best30"])
    gans = [m for m in (*CONTINUOUS, *DISCRETE) if m in runs and len(runs[m]["best30"]) > 1]
    wider_abs = [m for m in gans if spread(runs[m]["best30"])[0] > lm_abs]
    wider_rel = [m for m in gans if spread(runs[m]["best30"])[1] > lm_rel]
    evidence = (
        f"LM range {fmt(lm_abs)} ({lm_rel:.0%} of its best); GANs wider in absolute FD: "
        f"{len(wider_abs)}/{len(gans)}, relative to their best: {len(wider_rel)}/{len(gans)} "
        f"(median GAN relative range {statistics.median(spread(runs[m]['best30'])[1] for m in gans):.0%})"
    )
    if len(wider_abs) == len(gans) and len(wider_rel) == len(gans):
        return evidence, "reproduced"
    if len(wider_abs) > len(gans) / 2 or len(wider_rel) > len(gans) / 2:
        return evidence, "direction only"
    return evidence, "not reproduced"


def lucky_best_trial(runs: Runs) -> tuple[str, str]:
    """Finding 11b: a search's best FD is below the mean of its own retrains (a lucky seed)."""
    rows = []
    for model, run in runs.items():
        best = run["best"]
        if best is None:
            continue
        rows.append((model, float(best["objective"]), mean(runs, model, "fd")))
    lucky = [m for m, b, r in rows if b < r]
    evidence = f"{len(lucky)}/{len(rows)} models' best search FD below their retrained mean: " + ", ".join(
        f"{m} {fmt(b)} vs {fmt(r)}" for m, b, r in rows
    )
    if len(lucky) == len(rows):
        return evidence, "reproduced"
    return evidence, "direction only" if len(lucky) > len(rows) / 2 else "not reproduced"


def low_g_lr(runs: Runs) -> tuple[str, str]:
    """Finding 10, second half: the search favours low generator learning rates — per model, the
    Spearman correlation of g_lr with FD over its complete search trials (> 0: the lower the
    learning rate, the better the FD) and where the best trial's g_lr ranks among the drawn ones."""
    from scipy.stats import spearmanr

    parts, rhos, lowest = [], [], 0
    for model, run in runs.items():
        trials = [
            (float(r["params"]["train.g_lr"]), float(r["objective"]))
            for r in run["search"]
            if r.get("objective") is not None and "train.g_lr" in r.get("params", {})
        ]
        if len(trials) < 3 or run["best"] is None:
            continue
        rho = float(spearmanr([t[0] for t in trials], [t[1] for t in trials]).statistic)
        best = float(run["best"]["config"]["train.g_lr"])
        rank = sorted(t[0] for t in trials).index(best) + 1 if best in {t[0] for t in trials} else None
        lowest += rank == 1
        rhos.append(rho)
        parts.append(f"{model} ρ {rho:+.2f}, best g_lr {best:.2g} (rank {rank}/{len(trials)})")
    if not rhos:
        return "no model searched train.g_lr", "not tested"
    positive = sum(r > 0 for r in rhos)
    evidence = (
        f"ρ(g_lr, FD) > 0 for {positive}/{len(rhos)} models (median {statistics.median(rhos):+.2f}); "
        f"best trial at the lowest drawn g_lr for {lowest}/{len(rhos)}: " + "; ".join(parts)
    )
    if positive == len(rhos):
        return evidence, "reproduced"
    return evidence, "direction only" if positive > len(rhos) / 2 else "not reproduced"


FINDINGS = (
    ("5", "discrete GANs beat continuous ones on FD", discrete_beats_continuous),
    ("6", "no GAN beats the LM on FD", lm_best_on_fd),
    ("7", "SeqGAN-reinforce trades recall for precision", reinforce_trade),
    ("8", "BLEU disagrees with FD", bleu_disagrees),
    ("9", "leaking D's state does not help", leak_does_not_help),
    ("10", "the search favours low generator learning rates", low_g_lr),
    ("11a", "GANs' best-trial FD spread is wider than the LM's", sensitivity),
    ("11b", "the best search trial beats its own retrained mean", lucky_best_trial),
)


def model_nll(out: Path, model: str) -> list[float]:
    """The test split's NLL (nats/token) of each retrained run of ``model`` in comparison ``out``,
    scored once by ``tge evaluate RUN_DIR -m model-nll`` and kept as ``RUN_DIR/model-nll.json``."""
    found = []
    for trial in sorted((out / "runs" / model / "trials").glob("retrain-*")):
        cache = trial / "model-nll.json"
        if not cache.is_file():
            cmd = [sys.executable, "-m", "textgen_eval", "evaluate", str(trial), "-m", "model-nll"]
            cmd += ["--format", "json", "-o", str(cache), "--no-progress", "--threads", "1"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        scores = json.loads(cache.read_text(encoding="utf-8"))["metrics"]
        found += [float(s["value"]) for s in scores if s["name"] == "model-nll"]
    return found


def against_lm(ours: Sequence[float], lm: Sequence[float]) -> tuple[str, str]:
    """One cell — the row's mean ± std and where it stands against the LM's seeds — and the
    standing: ``beats`` (lower, Welch p < 0.05), ``below`` (lower, within seed noise), ``above``
    or ``worse`` (higher, p < 0.05)."""
    m, lm_mean = statistics.fmean(ours), statistics.fmean(lm)
    sd = statistics.stdev(ours) if len(ours) > 1 else float("nan")
    p = welch_p(list(ours), list(lm))
    significant = p is not None and p < ALPHA
    standing = ("beats" if significant else "below") if m < lm_mean else ("worse" if significant else "above")
    noise = "within seed noise" if p is not None else "not tested: fewer than 3 seeds"
    words = {
        "beats": "**beats the LM**",
        "below": f"below the LM, {noise}",
        "above": f"above the LM, {noise}",
        "worse": "worse than the LM",
    }
    return f"{fmt(m)} ± {fmt(sd, 2)} — {words[standing]} (p {fmt(p, 2)})", standing


def render_peers(out: Path, runs: Runs) -> str:
    """Every row but the LM's against the LM on FD and on the test split's NLL."""
    lm_fd, lm_nll = values(runs, LM, "fd"), model_nll(out, LM)
    lines = [
        f"LM: FD {fmt(statistics.fmean(lm_fd))} ± {fmt(statistics.stdev(lm_fd), 2)}, NLL-test "
        f"{fmt(statistics.fmean(lm_nll))} ± {fmt(statistics.stdev(lm_nll), 2)} nats/token "
        f"({len(lm_fd)} seeds)",
        "",
        "| model | FD ↓ vs the LM | NLL-test ↓ (nats/token) vs the LM | beats the LM on both |",
        "|---|---|---|---|",
    ]
    for model in runs:
        if model == LM:
            continue
        (fd_cell, fd_standing), (nll_cell, nll_standing) = (
            against_lm(values(runs, model, "fd"), lm_fd),
            against_lm(model_nll(out, model), lm_nll),
        )
        if fd_standing == nll_standing == "beats":
            both = "yes"
        elif {fd_standing, nll_standing} <= {"beats", "below"}:
            both = "lower on both, not significant on both"  # or untested
        else:
            both = "no"
        lines.append(f"| {model} | {fd_cell} | {nll_cell} | {both} |")
    return "\n".join(lines) + "\n"


def render(runs: Runs) -> str:
    lines = ["| § 11 | finding | measured | verdict |", "|---|---|---|---|"]
    for number, claim, check in FINDINGS:
        evidence, result = check(runs)
        lines.append(f"| {number} | {claim} | {evidence} | {result} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a finished `tge compare` directory")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--peers", action="store_true", help="every row against the LM on FD and NLL-test (issues 30, 31)"
    )
    args = parser.parse_args()
    runs = load(args.out)
    text = render_peers(args.out, runs) if args.peers else render(runs)
    print(text, end="")
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
