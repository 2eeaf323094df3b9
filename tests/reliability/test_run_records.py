"""A damaged run record is never trusted (issue 34, item 3): a garbled or foreign ``run.json``
stops ``--resume`` and ``tge evaluate RUN_DIR`` with exit 2 naming the file — the data-identity
check is not skipped and the run is not scored against another bundle — and nothing is changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SETS = ["--set", "model.emb_dim=4", "--set", "model.hidden_size=4", "--set", "runner.max_epochs=1"]


@pytest.fixture
def interrupted(tge, tiny_bundle: Path, tmp_path: Path) -> Path:
    out = tmp_path / "lm"
    assert tge("train", "lstm-lm", "--data", tiny_bundle, "--out", out, "--no-progress", *SETS).code == 0
    (out / "result.json").unlink()  # as if stopped after its last checkpoint
    return out


@pytest.mark.parametrize(
    "content",
    [b"\x00\xff garbage", b'{"model": "lstm-lm", "data_identity"', b"[1, 2, 3]", b'{"data": "coco"}',
     b'{"data_identity": 7}'],
)  # fmt: skip
def test_a_damaged_run_json_stops_resume_and_evaluate(
    tge, tiny_bundle: Path, interrupted: Path, content: bytes
) -> None:
    record = interrupted / "run.json"
    record.write_bytes(content)
    checkpoint = (interrupted / "checkpoint.pt").read_bytes()
    run = tge(
        "train", "lstm-lm", "--data", tiny_bundle, "--out", interrupted, "--resume", "--no-progress", *SETS
    )
    assert run.code == 2 and str(record) in run.err and "Traceback" not in run.err
    assert record.read_bytes() == content and (interrupted / "checkpoint.pt").read_bytes() == checkpoint
    run = tge("evaluate", interrupted, "--samples", "5", "-m", "bleu-2", "--no-progress")
    assert run.code == 2 and str(record) in run.err and "Traceback" not in run.err


def test_an_intact_run_json_resumes_and_records_the_resumption(
    tge, tiny_bundle: Path, interrupted: Path
) -> None:
    run = tge(
        "train", "lstm-lm", "--data", tiny_bundle, "--out", interrupted, "--resume", "--no-progress", *SETS
    )
    assert run.code == 0, run.err
    assert json.loads((interrupted / "run.json").read_text())["resumes"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x82\xff\x00binary", "not UTF-8 text"),
     (b'{"event": "train"}\n[1, 2]\n', "line 2: expected a JSON object")],
)  # fmt: skip
def test_a_damaged_training_log_stops_model_nll_with_exit_2(
    tge, interrupted: Path, content: bytes, message: str
) -> None:
    """The log's last training record joins model-nll's details: a binary or foreign log is named,
    not an internal error; a line torn by a kill is skipped (the log goes on after a resume)."""
    (interrupted / "log.jsonl").write_bytes(content)
    run = tge("evaluate", interrupted, "-m", "model-nll", "--no-progress")
    assert run.code == 2 and "log.jsonl" in run.err and message in run.err and "internal error" not in run.err
    (interrupted / "log.jsonl").write_bytes(b'{"event": "train", "step": 3, "loss": 1.5}\n{"event": "tr')
    torn = tge("evaluate", interrupted, "-m", "model-nll", "--format", "json", "--no-progress")
    assert torn.code == 0, torn.err
    (nll,) = json.loads(torn.out)["metrics"]
    assert nll["details"]["last_training_record"]["step"] == 3


def test_a_model_directory_of_mixed_or_foreign_files_is_named_with_what_is_wrong(
    tge, tiny_bundle: Path, tmp_path: Path
) -> None:
    """Issue 34, item 6: another model's config.json beside the weights, a foreign vocab.json and
    a missing model/ each get a message naming the file and the problem, not torch's key dump."""
    import shutil

    for name in ("lstm-lm", "transformer-lm"):
        sets = (
            ["model.emb_dim=8", "model.hidden_size=8"]
            if name == "lstm-lm"
            else ["model.n_embd=8", "model.n_head=2"]
        )
        args = [
            "train",
            name,
            "--data",
            tiny_bundle,
            "--out",
            tmp_path / name,
            "--max-steps",
            "2",
            "--no-progress",
        ]
        assert tge(*args, *[x for s in sets for x in ("--set", s)]).code == 0
    mixed = tmp_path / "mixed"
    shutil.copytree(tmp_path / "lstm-lm", mixed)
    shutil.copy(tmp_path / "transformer-lm" / "model" / "config.json", mixed / "model" / "config.json")
    run = tge("sample", mixed, "-n", "2")
    assert run.code == 2 and "does not fit the transformer-lm model" in run.err and "missing (" in run.err
    assert len(run.err) < 1000  # a summary, not every key
    foreign = tmp_path / "foreign"
    shutil.copytree(tmp_path / "lstm-lm", foreign)
    (foreign / "model" / "vocab.json").write_text('{"tokenizer": "whitespace", "tokens": ["a", "b"]}')
    run = tge("sample", foreign, "-n", "2")
    assert run.code == 2 and "vocab.json: not a textgen_eval vocabulary" in run.err
    shutil.rmtree(foreign / "model")
    run = tge("sample", foreign, "-n", "2")
    assert run.code == 2 and "not a trained model" in run.err
