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


def test_signature_names_the_reference_file(tmp_path: Path) -> None:
    path = tmp_path / "refs.txt"
    path.write_text("\n".join(REFS), encoding="utf-8")
    result = evaluate(SAMPLES, str(path), metrics=["bleu-2"])
    assert f"refs:{path}@" in result["bleu-2"].signature
    assert result.reference is not None and result.reference["bundled"] is False
