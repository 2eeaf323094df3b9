"""`tge train MODEL`, `tge models list`, `--max-steps`, `tge evaluate RUN_DIR`, and older run files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import tiny_recipe_args
from textgen_eval.tuning.spec import TuneSpec


def test_models_list_shows_every_model_with_modality_paper_and_origin(tge) -> None:
    table = tge("models", "list")
    assert table.code == 0
    assert "lstm-lm" in table.out and "text" in table.out and "built-in" in table.out
    rows = json.loads(tge("models", "list", "--format", "json").out)
    row = next(r for r in rows if r["name"] == "lstm-lm")
    assert row["modality"] == "text" and row["origin"] == "built-in"
    assert "Semeniuta 2019" in row["paper"] and "recurrent dropout" in row["description"]


def test_train_any_model_on_a_bundle_with_max_steps(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = tge(
        "train", "lstm-lm", "--data", tiny_bundle, "--out", out, "--max-steps", "3", "--no-progress",
        "--set", "model.hidden_size=8", "--set", "model.emb_dim=8",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "trained 3 steps" in run.out and "max_steps" in run.out
    info = json.loads((out / "run.json").read_text())
    assert info["max_steps"] == 3 and info["model"] == "lstm-lm" and info["modality"] == "text"
    assert info["data"]["bundle"] == str(tiny_bundle.resolve())
    assert info["data"]["valid"] == "carved-every-20th"
    assert [s["name"] for s in info["stages"]] == ["train"]
    # `tge train lm` is the same model
    alias = tge("train", "lm", "--train", tiny_bundle / "train.txt", "--out", tmp_path / "lm",
                "--max-steps", "1", "--no-progress", "--set", "model.hidden_size=8")  # fmt: skip
    assert alias.code == 0, alias.err
    assert json.loads((tmp_path / "lm" / "run.json").read_text())["model"] == "lstm-lm"


def test_train_option_errors_exit_2(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    both = tge("train", "lstm-lm", "--data", tiny_bundle, "--train", tiny_bundle / "train.txt",
               "--out", tmp_path / "a")  # fmt: skip
    assert both.code == 2 and "not both" in both.err
    neither = tge("train", "lstm-lm", "--out", tmp_path / "b")
    assert neither.code == 2 and "--data BUNDLE" in neither.err
    unknown = tge("train", "lstm-lmm", "--data", tiny_bundle, "--out", tmp_path / "c")
    assert unknown.code == 2 and "did you mean 'lstm-lm'" in unknown.err
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_evaluate_a_trained_model_directory(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert tge("train", "lstm-lm", "--data", tiny_bundle, "--out", out, "--no-progress",
               "--set", "model.hidden_size=8", "--set", "runner.max_epochs=1").code == 0  # fmt: skip
    run = tge(
        "evaluate", out, "--samples", "50", "--seed", "4", "--format", "json", "--no-progress",
        "-m", "bleu-4,lm-score,model-nll", *tiny_recipe_args(),
    )  # fmt: skip
    assert run.code == 0, run.err
    result = json.loads(run.out)
    names = [m["name"] for m in result["metrics"]]
    assert names == ["bleu-4", "lm-score", "model-nll"]
    assert "scoring the model's own likelihood: model-nll" in run.err  # announced before the work
    assert result["samples"]["n"] == 50 and result["samples"]["seed"] == 4
    assert result["samples"]["model"].startswith("lstm-lm@")
    assert "the bundle the model was trained on" in run.err
    nll = next(m for m in result["metrics"] if m["name"] == "model-nll")
    assert nll["n"] == 120 and "model:lstm-lm@" in nll["signature"] and "bound" not in nll["signature"]
    assert nll["details"]["estimate"] == "exact"
    # the same seed gives the same samples, hence the same BLEU
    again = json.loads(tge("evaluate", out / "model", "--samples", "50", "--seed", "4", "--format", "json",
                           "--no-progress", "-m", "bleu-4", "--bundle", tiny_bundle).out)  # fmt: skip
    assert again["metrics"][0]["value"] == result["metrics"][0]["value"]
    assert [m["name"] for m in again["metrics"]] == ["bleu-4"]  # model-nll only when asked (or by default)
    only = tge("evaluate", out, "-m", "model-nll", "--format", "json", "--no-progress")
    assert only.code == 0, only.err
    alone = json.loads(only.out)
    assert [m["name"] for m in alone["metrics"]] == ["model-nll"] and alone["samples"]["n"] == 0  # none drawn
    assert alone["metrics"][0]["value"] == nll["value"]
    wrong = tge("evaluate", out, "-m", "nll-test", "--no-progress")
    assert wrong.code == 2 and "-m nll-test" in wrong.err and "model-nll" in wrong.err


def test_a_bundle_directory_as_reference_points_to_bundle(tge, tiny_bundle: Path) -> None:
    run = tge("evaluate", tiny_bundle / "test.txt", "-r", tiny_bundle, "-m", "bleu-4")
    assert run.code == 2 and f"pass it as --bundle {tiny_bundle}" in run.err and "Traceback" not in run.err


def test_a_tune_json_written_before_trial_kinds_still_reads() -> None:
    old = {
        "generator": "lstm-lm", "data": "coco", "data_digest": "abc", "name": "old", "budget": 3,
        "retrain": 1, "objective": "fd", "direction": "lower", "metrics": ["fd"], "space": {},
        "overrides": {}, "lm_recipe": {"model.hidden_size": "16"}, "seed": 0, "samples": 200,
        "max_len": 30, "trial_timeout": None, "version": "0.1.0",
    }  # fmt: skip
    spec = TuneSpec.from_dict(old)
    assert spec.model == "lstm-lm" and spec.trial_kind == "text"
    assert dict(spec.trial_options) == {
        "samples": 200,
        "max_len": 30,
        "lm_recipe": {"model.hidden_size": "16"},
    }
    assert TuneSpec.from_dict(spec.to_dict()) == spec


def test_openmp_spins_briefly_whatever_the_load_and_never_against_the_users_choice(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    """The bound holds from the start, so a load that arrives later finds it (issue 33, item 6)."""
    from tests.conftest import run_subprocess
    from textgen_eval.core.threads import SPINCOUNT, openmp_environment

    assert SPINCOUNT == "1000"  # the measured choice (docs/performance.md); libgomp's default is 300000
    assert openmp_environment({}) == {"GOMP_SPINCOUNT": SPINCOUNT}
    assert openmp_environment({"OMP_WAIT_POLICY": "ACTIVE"}) == {}
    assert openmp_environment({"GOMP_SPINCOUNT": "5"}) == {}
    args = ["train", "lstm-lm", "--data", str(tiny_bundle), "--max-steps", "1", "--no-progress",
            "--set", "model.hidden_size=8"]  # fmt: skip
    run = run_subprocess(*args, "--out", str(tmp_path / "a"), unset=USER_OMP)
    assert run.code == 0, run.err
    threads = json.loads((tmp_path / "a" / "run.json").read_text())["threads"]
    assert threads["GOMP_SPINCOUNT"] == SPINCOUNT and threads["OMP_WAIT_POLICY"] is None
    mine = run_subprocess(
        *args, "--out", str(tmp_path / "b"), env={"OMP_WAIT_POLICY": "ACTIVE"}, unset=("GOMP_SPINCOUNT",)
    )
    assert mine.code == 0, mine.err
    threads = json.loads((tmp_path / "b" / "run.json").read_text())["threads"]
    assert threads["OMP_WAIT_POLICY"] == "ACTIVE" and threads["GOMP_SPINCOUNT"] is None


USER_OMP = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


API_OPENMP = """
import os, sys
import textgen_eval
assert "GOMP_SPINCOUNT" not in os.environ  # importing the package decides nothing (tge --help stays instant)
textgen_eval.evaluate  # the API: the CLI's OpenMP choice, made before torch is imported
print(os.environ.get("GOMP_SPINCOUNT"), "torch" in sys.modules)
"""


def test_the_python_api_makes_the_clis_openmp_choice_before_torch_loads() -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run(
        [sys.executable, "-c", API_OPENMP], env=env, capture_output=True, text=True, check=True
    )
    spin, _ = out.stdout.split()
    from textgen_eval.core.threads import SPINCOUNT

    assert spin == SPINCOUNT
