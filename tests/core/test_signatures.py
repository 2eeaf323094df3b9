"""Signatures change exactly when a setting that changes the number changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import coco_lines
from textgen_eval import evaluate
from textgen_eval.core.signature import parse_signature

SAMPLES = [*coco_lines("train")[:600], ""]
REFS = coco_lines("test")[:3000]
METRICS = ["bleu-4", "self-bleu-4", "unique-ngrams-4"]


def signatures(**options) -> dict[str, tuple[str, float]]:
    result = evaluate(
        options.pop("samples", SAMPLES), options.pop("references", REFS), metrics=METRICS, **options
    )
    return {s.name: (s.signature, s.value) for s in result.scores}


BASE = signatures()


@pytest.mark.parametrize(
    ("options", "changed"),
    [
        ({"preset": "texygen-fast"}, {"bleu-4", "self-bleu-4"}),
        ({"tokenize": "13a"}, set(METRICS)),
        ({"lowercase": True, "samples": [s.upper() for s in SAMPLES]}, set(METRICS)),
        ({"skip_empty": True}, set(METRICS)),
        ({"references": REFS[:2999]}, {"bleu-4"}),
        ({"references": [*REFS[:-1], REFS[-1] + " extra"]}, {"bleu-4"}),
        ({"samples": [*SAMPLES[:-2], ""]}, {"bleu-4", "self-bleu-4", "unique-ngrams-4"}),
    ],
)
def test_signature_changes_with_every_setting_that_changes_the_value(options, changed) -> None:
    other = signatures(**options)
    for name in METRICS:
        if name in changed:
            assert other[name][0] != BASE[name][0], f"{name}: {options} must change the signature"
        else:
            assert other[name] == BASE[name], f"{name}: {options} changed nothing, the signature must stay"


def test_same_settings_same_signature_and_value() -> None:
    assert signatures() == BASE


def test_signature_fields() -> None:
    name, fields = parse_signature(BASE["bleu-4"][0])
    assert name == "bleu-4"
    assert fields["nrefs"] == "3000" and fields["nhyps"] == "601"
    assert fields["tok"] == "whitespace" and fields["smooth"] == "method1" and fields["preset"] == "full"
    assert fields["v"]
    assert fields["refs"].startswith("<memory>@")


def test_signature_names_the_reference_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "refs.txt"
    path.write_text("\n".join(REFS), encoding="utf-8")
    result = evaluate(SAMPLES, str(path), metrics=["bleu-2"])
    signature = result["bleu-2"].signature
    assert "|refs:refs.txt@" in signature and str(tmp_path) not in signature  # not how it was spelled
    assert result.reference is not None and result.reference["bundled"] is False
    # every spelling of the path, and a copy elsewhere, give the same signature (issue 19)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    copy = tmp_path / "sub" / "refs.txt"
    copy.write_bytes(path.read_bytes())
    for spelling in ("refs.txt", "./refs.txt", "sub/../refs.txt", str(path), str(copy)):
        assert evaluate(SAMPLES, spelling, metrics=["bleu-2"])["bleu-2"].signature == signature, spelling
    (tmp_path / "other.txt").write_text("\n".join(REFS[:-1]), encoding="utf-8")
    changed = evaluate(SAMPLES, "other.txt", metrics=["bleu-2"])["bleu-2"].signature
    assert changed != signature  # other content (and name): another signature


def test_common_signature_of_seeds() -> None:
    from textgen_eval.core.signature import common_signature

    sigs = ["fd|feat:x|n:500|sub:seed1|v:1", "fd|feat:x|n:500|sub:seed7|v:1"]
    assert common_signature(sigs) == ("fd|feat:x|n:500|sub:*|v:1", {"sub": ["seed1", "seed7"]})
    assert common_signature(sigs[:1]) == (sigs[0], {})
    assert common_signature(["a|k:1|v:1", "b|v:1"]) == ("*|k:*|v:1", {"k": ["1", ""]})


def test_recipe_ids_are_pinned_and_ignore_settings_that_do_not_train() -> None:
    """The reference and reverse LMs' recipe ids are in every lm-score, FD (lm) and reverse-LM
    signature, in users' caches and in the README: they change only when a recipe's training
    changes (then update these pins, the README and docs/reproductions.md together). Adding a
    ``[runner]`` setting that does not change the weights — the oracle probe's — must not."""
    import dataclasses

    from textgen_eval.pipelines.recipes import NOT_TRAINING, REFERENCE_LM, REVERSE_LM

    assert (REFERENCE_LM.id, REVERSE_LM.id) == ("reflm1-162439ff", "revlm1-f8affd2e")
    probed = dataclasses.replace(
        REFERENCE_LM, runner=dataclasses.replace(REFERENCE_LM.runner, probe_samples=7)
    )
    assert probed.id == REFERENCE_LM.id and "probe_samples" in NOT_TRAINING
    trained_longer = dataclasses.replace(
        REFERENCE_LM, runner=dataclasses.replace(REFERENCE_LM.runner, max_epochs=3)
    )
    assert trained_longer.id != REFERENCE_LM.id
