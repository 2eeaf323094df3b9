"""`tge train`, `tge sample` and `tge evaluate RUN_DIR` for the text VAEs (word and character level)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import tiny_recipe_args


def _sets(*assignments: str) -> list[str]:
    return [item for a in assignments for item in ("--set", a)]


SMALL = {
    "lstm-vae": _sets("model.hidden_size=16", "model.emb_dim=8", "model.latent_size=4"),
    "hybrid-vae": _sets(
        "model.channels=8",
        "model.feature_size=8",
        "model.head_size=16",
        "model.emb_dim=8",
        "model.latent_size=4",
    ),
}


@pytest.mark.parametrize("model", sorted(SMALL))
def test_train_sample_and_evaluate_a_vae(model: str, tge, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / model
    run = tge("train", model, "--data", tiny_bundle, "--out", out, "--max-steps", "4", "--no-progress",
              *_sets("vae.iw_samples=3", "runner.log_every=1"), *SMALL[model])  # fmt: skip
    assert run.code == 0, run.err
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train = [r for r in log if r["event"] == "train"]
    assert train and {"rec", "kl", "kl_weight", "bound"} <= set(train[0])
    sample = tge("sample", out, "-n", "5", "--seed", "2", "--no-progress")
    assert sample.code == 0 and len(sample.out.splitlines()) == 5
    evaluation = tge("evaluate", out, "--samples", "30", "-m", "bleu-4,model-nll", "--format", "json",
                     "--no-progress", *tiny_recipe_args())  # fmt: skip
    assert evaluation.code == 0, evaluation.err
    scores = {m["name"]: m for m in json.loads(evaluation.out)["metrics"]}
    nll = scores["model-nll"]
    assert "|bound:iw-3|" in nll["signature"] and nll["details"]["estimate"] == "iw"
    assert {"kl_per_sentence", "rec_per_sentence", "kl_bits_per_char"} <= set(nll["details"])
    assert ("aux_per_sentence" in nll["details"]) == (model == "hybrid-vae")
    last = nll["details"]["last_training_record"]  # the annealing weight where training ended
    assert last["step"] == 4 and "kl_weight" in last and "kl" in last


def test_character_level_vae(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "char"
    run = tge("train", "hybrid-vae", "--data", tiny_bundle, "--out", out, "--max-steps", "2", "--no-progress",
              "--set", "model.tokenizer=char", "--set", "model.length=64", "--set", "model.conv_layers=3",
              *SMALL["hybrid-vae"][:-2])  # fmt: skip
    assert run.code == 0, run.err
    sample = tge("sample", out, "-n", "3", "--seed", "0", "--max-len", "200", "--no-progress")
    assert sample.code == 0 and all(len(line) <= 64 for line in sample.out.splitlines())


def test_bad_hybrid_length_exits_2_naming_it(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    run = tge(
        "train", "hybrid-vae", "--data", tiny_bundle, "--out", tmp_path / "x", "--set", "model.length=0"
    )
    assert run.code == 2 and "[model]: length must be ≥ 1, got 0" in run.err
    assert "Traceback" not in run.err and not (tmp_path / "x").exists()
