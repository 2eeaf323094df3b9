"""`tge train`, `tge sample`, `tge evaluate RUN_DIR` and `tge tune` for the six discrete GANs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import tiny_recipe_args

NAMES = [
    "seqgan-reinforce",
    "seqgan-step",
    "seqgan-rollout",
    "leakgan-leak",
    "leakgan-noleak",
    "leakgan-mixed",
]
TINY = ["model.emb_dim=6", "model.hidden_size=8", "discriminator.emb_dim=6", "discriminator.hidden_size=8",
        "gan.pretrain_epochs=1", "gan.pretrain_d_steps=2", "gan.adversarial_steps=2", "gan.d_steps=1",
        "gan.rollouts=2", "gan.eval_every=1", "train.batch_size=16", "runner.log_every=1"]  # fmt: skip


def _sets(assignments: list[str]) -> list[str]:
    return [item for a in assignments for item in ("--set", a)]


@pytest.mark.parametrize("name", NAMES)
def test_train_sample_and_evaluate(name: str, tge, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / name
    run = tge("train", name, "--data", tiny_bundle, "--out", out, "--no-progress", *_sets(TINY))
    assert run.code == 0, run.err
    result = json.loads((out / "result.json").read_text())
    order = ["pretrain-d", "pretrain-g"] if name.startswith("leakgan") else ["pretrain-g", "pretrain-d"]
    assert [s["name"] for s in result["stages"]] == [*order, "adversarial"]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    gen = [r for r in log if r.get("optimizer") == "gen"]
    assert len(gen) == 2 and {"reward", "baseline", "sample_len"} <= set(gen[0])
    sample = tge("sample", out, "-n", "4", "--seed", "1", "--no-progress")
    assert sample.code == 0 and len(sample.out.splitlines()) == 4
    evaluation = tge("evaluate", out, "--samples", "30", "-m", "bleu-4,model-nll", "--format", "json",
                     "--no-progress", *tiny_recipe_args())  # fmt: skip
    assert evaluation.code == 0, evaluation.err
    scores = {m["name"]: m for m in json.loads(evaluation.out)["metrics"]}
    assert scores["model-nll"]["details"]["estimate"] == "exact"  # every variant has a likelihood


def test_seqgan_starts_from_a_saved_lm(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    lm = tmp_path / "lm"
    sizes = _sets(["model.emb_dim=6", "model.hidden_size=8"])
    assert tge("train", "lstm-lm", "--data", tiny_bundle, "--out", lm, "--max-steps", "3", "--no-progress",
               *sizes).code == 0  # fmt: skip
    out = tmp_path / "gan"
    run = tge("train", "seqgan-reinforce", "--data", tiny_bundle, "--out", out, "--no-progress",
              *_sets([*TINY, f"gan.init_from={lm}", "train.g_lr=0"]))  # fmt: skip
    assert run.code == 0, run.err
    assert [s["name"] for s in json.loads((out / "result.json").read_text())["stages"]] == [
        "pretrain-d",
        "adversarial",
    ]
    same = [tge("sample", d, "-n", "5", "--seed", "3", "--no-progress").out for d in (lm, out)]
    assert same[0] == same[1]  # g_lr = 0: the LM's samples exactly
    mismatch = tge("train", "seqgan-step", "--data", tiny_bundle, "--out", tmp_path / "bad", "--no-progress",
                   *_sets([*TINY, f"gan.init_from={lm}", "model.hidden_size=16"]))  # fmt: skip
    assert mismatch.code == 2 and "hidden_size: 16 vs the LM's 8" in mismatch.err


TINY_SPACE = """
replace = true
[space]
"train.g_lr" = { loguniform = [1e-4, 1e-3] }
"gan.rollouts" = { choice = [2, 3] }
[fixed]
"model.emb_dim" = 6
"model.hidden_size" = 8
"discriminator.emb_dim" = 6
"discriminator.hidden_size" = 8
"gan.pretrain_epochs" = 1
"gan.pretrain_d_steps" = 2
"gan.adversarial_steps" = 2
"train.batch_size" = 16
"""


def test_tune_seqgan_rollout_with_budget_and_retrains(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    space = tmp_path / "space.toml"
    space.write_text(TINY_SPACE, encoding="utf-8")
    out = tmp_path / "tune"
    run = tge("tune", "seqgan-rollout", "--data", tiny_bundle, "--space", space, "--budget", "4",
              "--retrain", "2", "--samples", "30", "--out", out, "--no-progress",
              *tiny_recipe_args())  # fmt: skip
    assert run.code == 0, run.err
    (data,) = json.loads(tge("report", out, "--format", "json", "--no-real-data").out)["runs"]
    assert data["generator"] == "seqgan-rollout" and data["trials"]["complete"] == 4
    assert data["retrain"]["trials"]["complete"] == 2
