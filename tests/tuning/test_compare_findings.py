"""The verdict rules of ``benchmarks/compare_findings.py`` (the §11 findings of the CPU-preset
comparison in docs/reproductions.md) on constructed Table 5.4 reports with known answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_benchmark
from textgen_eval.pipelines.compare_presets import TABLE_5_4


@pytest.fixture(scope="module")
def findings() -> Any:
    return load_benchmark("compare_findings")


MODELS = TABLE_5_4
METRICS = ("fd", "bleu-4", "self-bleu-4", "unique-ngrams-4", "lm-score", "reverse-lm-score")


def run(
    model: str, means: dict[str, float], *, noise: float = 0.01, search: list[float] | None = None
) -> Any:
    metrics = {}
    for name in METRICS:
        m = means.get(name, 1.0)
        values = [m - noise, m, m + noise]
        metrics[name] = {"values": values, "mean": m}
    trials = search or [means.get("fd", 1.0) * f for f in (0.9, 1.0, 1.1)]
    g_lrs = [1e-6, 1e-5, 1e-4][: len(trials)]
    return {
        "model": model,
        "retrain": {"metrics": metrics},
        "best30": sorted(trials),
        "best": {"objective": min(trials), "config": {"train.g_lr": g_lrs[trials.index(min(trials))]}},
        "search": [{"params": {"train.g_lr": g}, "objective": t} for g, t in zip(g_lrs, trials, strict=True)],
        "space": {"space": {"train.g_lr": {"loguniform": [1e-6, 1e-3]}}},
    }


def thesis_like() -> dict[str, Any]:
    """Table 5.4's orderings: LM best on FD, discrete < continuous, reinforce towards precision,
    leak worst of the LeakGANs, GANs' search spread wider, best trials lucky."""
    fd = dict(zip(MODELS, (0.27, 1.8, 1.46, 0.32, 0.36, 0.35, 0.40, 0.385, 0.352), strict=True))
    runs = {}
    for model in MODELS:
        means = {"fd": fd[model], "bleu-4": 0.2, "lm-score": 30.0, "reverse-lm-score": 85.0}
        means["unique-ngrams-4"] = 40000.0
        spread = 1.02 if model == "lstm-lm" else 1.5
        runs[model] = run(model, means, search=[fd[model] * 0.98, fd[model] * spread, fd[model] * spread**2])
    runs["seqgan-reinforce"] = run(
        "seqgan-reinforce",
        {"fd": 0.32, "bleu-4": 0.225, "lm-score": 27.0, "reverse-lm-score": 94.6, "unique-ngrams-4": 34900.0},
        search=[0.31, 0.45, 0.6],
    )
    runs["leakgan-leak"]["retrain"]["metrics"]["lm-score"]["mean"] = 67.9
    runs["leakgan-leak"]["retrain"]["metrics"]["lm-score"]["values"] = [67.8, 67.9, 68.0]
    runs["leakgan-leak"]["retrain"]["metrics"]["reverse-lm-score"]["mean"] = 114.0
    runs["leakgan-leak"]["retrain"]["metrics"]["reverse-lm-score"]["values"] = [113.9, 114.0, 114.1]
    runs["leakgan-leak"]["retrain"]["metrics"]["bleu-4"]["mean"] = 0.219
    return runs


def test_thesis_orderings_are_reproduced(findings: Any) -> None:
    runs = thesis_like()
    for number, _, check in findings.FINDINGS:
        evidence, verdict = check(runs)
        assert verdict == "reproduced", (number, evidence)


def test_a_gan_significantly_below_the_lm_refutes_finding_6(findings: Any) -> None:
    runs = thesis_like()
    runs["seqgan-rollout"] = run("seqgan-rollout", {"fd": 0.2})
    evidence, verdict = findings.lm_best_on_fd(runs)
    assert verdict == "not reproduced" and "seqgan-rollout 0.2" in evidence
    runs["seqgan-rollout"] = run("seqgan-rollout", {"fd": 0.269}, noise=0.05)  # within seed noise
    assert findings.lm_best_on_fd(runs)[1] == "not reproduced (within seed noise)"


def test_overlapping_seeds_give_direction_only(findings: Any) -> None:
    runs = thesis_like()
    runs["wgan-conv-lstm"] = run("wgan-conv-lstm", {"fd": 0.45}, noise=0.2)
    assert findings.discrete_beats_continuous(runs)[1] == "direction only"
    runs["wgan-conv-lstm"] = run("wgan-conv-lstm", {"fd": 0.33})
    assert findings.discrete_beats_continuous(runs)[1] == "direction only"  # only the best discrete wins
    runs["wgan-conv-lstm"] = run("wgan-conv-lstm", {"fd": 0.1})
    assert findings.discrete_beats_continuous(runs)[1] == "not reproduced"


def test_recall_lost_without_precision_gained_is_not_the_trade(findings: Any) -> None:
    """Finding 7 is a trade: reinforce below the LM on recall *and* on precision is not it (the CPU
    run's case), and a half that moves within seed noise gives direction only."""
    runs = thesis_like()
    worse = {
        "fd": 0.32,
        "bleu-4": 0.19,
        "lm-score": 31.0,
        "reverse-lm-score": 94.6,
        "unique-ngrams-4": 34900.0,
    }
    runs["seqgan-reinforce"] = run("seqgan-reinforce", worse)
    evidence, verdict = findings.reinforce_trade(runs)
    assert verdict == "not reproduced (no precision metric moves as in the thesis)", evidence
    runs["seqgan-reinforce"] = run("seqgan-reinforce", {**worse, "bleu-4": 0.201}, noise=0.05)
    assert findings.reinforce_trade(runs)[1] == "direction only"


def test_leaking_that_helps_is_reported(findings: Any) -> None:
    runs = thesis_like()
    runs["leakgan-leak"] = run("leakgan-leak", {"fd": 0.1})
    assert findings.leak_does_not_help(runs)[1] == "not reproduced (leaking helps)"


def test_bleu_agreeing_with_fd_is_not_a_disagreement(findings: Any) -> None:
    runs = thesis_like()
    for r in runs.values():  # BLEU-4 ranks exactly as FD does, the LM on top
        fd = r["retrain"]["metrics"]["fd"]["mean"]
        r["retrain"]["metrics"]["bleu-4"] = {"values": [1 / fd] * 3, "mean": 1 / fd}
    evidence, verdict = findings.bleu_disagrees(runs)
    assert verdict == "not reproduced" and "ρ(BLEU-4, −FD) over the 9 models = 1.00" in evidence


def test_reads_a_compare_report(findings: Any, tmp_path: Path) -> None:
    runs = thesis_like()
    payload = {"runs": [*runs.values(), {"model": "real data", "real": True}]}
    (tmp_path / "report.json").write_text(json.dumps(payload), encoding="utf-8")
    loaded = findings.load(tmp_path)
    assert set(loaded) == set(MODELS)
    table = findings.render(loaded)
    assert table.count("| reproduced |") == len(findings.FINDINGS)


def test_the_peers_rows_against_the_lm_on_fd_and_the_test_nll(findings: Any, tmp_path: Path) -> None:
    """``--peers``: each row's standing against the LM on FD (from the report) and on the test
    split's NLL (from each retrained run's ``model-nll.json``, as ``tge evaluate`` writes it)."""
    fds = {"lstm-lm": 2.25, "maligan": 2.10, "dpgan": 2.252, "rankgan": 2.60}
    nlls = {"lstm-lm": 5.00, "maligan": 4.80, "dpgan": 4.99, "rankgan": 4.80}
    runs = {m: run(m, {"fd": fd}, noise=0.01) for m, fd in fds.items()}
    for model, nll in nlls.items():
        for seed, shift in enumerate((-0.01, 0.0, 0.01)):
            trial = tmp_path / "runs" / model / "trials" / f"retrain-{seed:04d}"
            trial.mkdir(parents=True)
            payload = {"metrics": [{"name": "model-nll", "value": nll + shift}]}
            (trial / "model-nll.json").write_text(json.dumps(payload), encoding="utf-8")
    text = findings.render_peers(tmp_path, runs)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "lstm-lm" not in rows and text.startswith("LM: FD 2.25 ± 0.01, NLL-test 5 ± 0.01")
    assert rows["maligan"].count("**beats the LM**") == 2 and rows["maligan"].endswith("| yes |")
    assert "above the LM, within seed noise" in rows["dpgan"]  # FD
    assert "below the LM, within seed noise" in rows["dpgan"]  # NLL-test
    assert rows["dpgan"].endswith("| no |")
    assert "worse than the LM" in rows["rankgan"] and rows["rankgan"].endswith("| no |")
    _, standing = findings.against_lm([4.9, 4.95, 5.0], [4.9, 4.95, 5.0])
    assert standing == "above"  # equal means are not below
    cell, standing = findings.against_lm([4.0, 4.1], [5.0, 5.1])  # two seeds: Welch's test not run
    assert standing == "below" and "not tested: fewer than 3 seeds" in cell
