"""Leakage and sanity warnings (issue 19): each fires on a constructed case, none on a clean one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TINY_RECIPE, coco_lines
from textgen_eval.pipelines.evaluate import evaluate
from textgen_eval.pipelines.sanity import contained_fraction, oov_rate

TRAIN = coco_lines("train")[:300]
TEST = coco_lines("test")[:120]
CLEAN = coco_lines("test")[200:260]  # held-out captions: neither references nor training text


def codes(result) -> set[str]:
    return {w.code for w in result.warnings}


def bundle(root: Path, *, valid: list[str] | None = None, train: list[str] = TRAIN) -> Path:
    root.mkdir()
    (root / "train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (root / "test.txt").write_text("\n".join(TEST) + "\n", encoding="utf-8")
    if valid is not None:
        (root / "valid.txt").write_text("\n".join(valid) + "\n", encoding="utf-8")
    return root


def run(samples, root: Path, metrics: str, **options):
    return evaluate(samples, metrics=metrics, bundle=str(root), recipe_overrides=TINY_RECIPE, **options)


def test_fractions_are_exact() -> None:
    assert contained_fraction(["a", " b ", "c", ""], ["a", "b"]) == pytest.approx(2 / 3)
    assert oov_rate(["x y z", "x"], lambda t: t == "x", str.split) == pytest.approx(2 / 4)


def test_clean_evaluation_has_no_warning(tmp_path: Path) -> None:
    # the whole COCO training text: 5 % of held-out tokens are unknown to it (300 lines: 32 %)
    root = bundle(tmp_path / "b", train=coco_lines("train"))
    result = run(CLEAN, root, "bleu-2,lm-score,fd", featurizer="lsa:dim=8")
    assert result.warnings == [] and result.to_dict()["warnings"] == []


def test_valid_split_equal_to_test_is_flagged(tmp_path: Path) -> None:
    root = bundle(tmp_path / "b", valid=TEST)
    assert "split-overlap" in codes(run(CLEAN, root, "bleu-2"))  # the bundle gave the references
    result = run(CLEAN, root, "lm-score")
    (warning,) = [w for w in result.warnings if w.code == "split-overlap"]
    assert warning.value == 1.0 and "valid split (the two files hold the same sentences)" in warning.message
    assert "early-stops on the test set" in warning.message


def test_training_text_holding_the_test_split_is_flagged(tmp_path: Path) -> None:
    result = run(CLEAN, bundle(tmp_path / "b", train=TRAIN + TEST[:20]), "lm-score")
    (warning,) = [w for w in result.warnings if w.code == "split-overlap"]
    assert warning.value == pytest.approx(20 / 120) and "its train split" in warning.message


def test_samples_copied_from_references_or_training_are_flagged(tmp_path: Path) -> None:
    root = bundle(tmp_path / "b")
    shuffled = list(reversed(TEST))  # not line for line: a set copy
    assert "samples-in-references" in codes(run(shuffled, root, "bleu-2"))
    memorized = run(TRAIN[:60], root, "lm-score")
    assert codes(memorized) == {"samples-in-training"}
    assert memorized.warnings[0].value == pytest.approx(57 / 60)  # 3 of 60 are in the carved valid


def test_out_of_vocabulary_samples_are_flagged_for_the_lm_and_the_encoder(tmp_path: Path) -> None:
    strange = [f"zorblax quintic {i} vexillum paradigmatic xylograph" for i in range(60)]
    result = run(strange, bundle(tmp_path / "b"), "lm-score,fd")
    messages = {w.message.split(":")[0] for w in result.warnings if w.code == "oov"}
    assert any("the LM of lm-score" in m for m in messages)
    assert any("the featurizer of fd" in m for m in messages)


def test_fd_with_fewer_vectors_than_dimensions_is_flagged(tmp_path: Path) -> None:
    root = bundle(tmp_path / "b")
    small = run(CLEAN[:20], root, "fd", featurizer="lsa:dim=32")
    (warning,) = [w for w in small.warnings if w.code == "fd-n-below-d"]
    assert (warning.value, warning.threshold) == (20.0, 32.0)
    assert "fd-n-below-d" not in codes(run(CLEAN, root, "fd", featurizer="lsa:dim=32"))


def test_the_cli_prints_warnings_and_lists_them_in_json(tge, tmp_path: Path) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("\n".join(TEST) + "\n", encoding="utf-8")
    out = tge("evaluate", refs, "-r", refs, "-m", "bleu-2", "--format", "json")
    assert out.code == 0 and "warning: 100% of the samples are copies of reference sentences" in out.err
    assert json.loads(out.out)["warnings"][0]["code"] == "samples-in-references"
