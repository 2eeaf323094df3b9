"""`tge train`, `tge sample`, `tge evaluate RUN_DIR` and `tge tune` for the WGAN-GP text models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import tiny_recipe_args

SMALL = {
    "wgan-conv-deconv": ["model.channels=8", "model.layers=2"],
    "wgan-conv-lstm": ["model.hidden_size=8", "model.emb_dim=4"],
}
SHARED = ["model.noise_dim=4", "critic.channels=8", "critic.blocks=1", "wgan.n_critic=2",
          "wgan.gen_iters=3", "wgan.eval_every=2", "wgan.eval_samples=20", "runner.log_every=1"]  # fmt: skip


def _sets(assignments: list[str]) -> list[str]:
    return [item for a in assignments for item in ("--set", a)]


@pytest.mark.parametrize("model", sorted(SMALL))
def test_train_sample_and_evaluate_a_wgan(model: str, tge, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / model
    run = tge(
        "train", model, "--data", tiny_bundle, "--out", out, "--no-progress", *_sets(SHARED + SMALL[model])
    )
    assert run.code == 0, run.err
    result = json.loads((out / "result.json").read_text())
    assert result["steps"] == 9 and result["stages"][0]["name"] == "adversarial"
    sample = tge("sample", out, "-n", "5", "--seed", "2", "--no-progress")
    assert sample.code == 0 and len(sample.out.splitlines()) == 5
    refused = tge("sample", out, "-n", "5", "--temperature", "0.5", "--no-progress")
    assert refused.code == 2 and "decodes by argmax" in refused.err and "Traceback" not in refused.err
    # repeated -m options add up
    evaluation = tge("evaluate", out, "--samples", "30", "-m", "bleu-4,model-nll", "-m", "unique-ngrams-2",
                     "--format", "json", "--no-progress", *tiny_recipe_args())  # fmt: skip
    assert evaluation.code == 0, evaluation.err
    payload = json.loads(evaluation.out)
    assert {m["name"] for m in payload["metrics"]} == {
        "bleu-4",
        "unique-ngrams-2",
    }  # no likelihood: no model-nll, and the report says so
    assert any("defines no likelihood" in note for note in payload["notes"])
    assert payload["samples"]["n"] == 30


def test_bad_wgan_length_exits_2(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    run = tge(
        "train",
        "wgan-conv-deconv",
        "--data",
        tiny_bundle,
        "--out",
        tmp_path / "x",
        "--set",
        "model.seq_len=1",
    )
    assert run.code == 2 and "seq_len must be ≥ 2" in run.err
    assert "Traceback" not in run.err and not (tmp_path / "x").exists()


TINY_SPACE = """
replace = true
[space]
"train.g_lr" = { loguniform = [1e-4, 1e-3] }
"train.d_lr" = { loguniform = [1e-4, 1e-3] }
[fixed]
"model.noise_dim" = 4
"model.hidden_size" = 8
"model.emb_dim" = 4
"critic.channels" = 8
"critic.blocks" = 1
"wgan.n_critic" = 2
"wgan.gen_iters" = 3
"wgan.eval_every" = 3
"wgan.eval_samples" = 20
"""


def test_tune_conv_lstm_with_budget_and_retrains(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    space = tmp_path / "space.toml"
    space.write_text(TINY_SPACE, encoding="utf-8")
    out = tmp_path / "tune"
    run = tge("tune", "wgan-conv-lstm", "--data", tiny_bundle, "--space", space, "--budget", "4",
              "--retrain", "2", "--samples", "30", "--out", out, "--no-progress",
              *tiny_recipe_args())  # fmt: skip
    assert run.code == 0, run.err
    report = tge("report", out, "--format", "json", "--no-real-data")
    assert report.code == 0, report.err
    (data,) = json.loads(report.out)["runs"]
    assert data["generator"] == "wgan-conv-lstm" and data["budget"] == 4
    assert data["trials"]["complete"] == 4 and data["retrain"]["trials"]["complete"] == 2
    fd = data["retrain"]["metrics"]["fd"]["values"]
    assert len(fd) == 2 and all(v > 0 for v in fd)
