"""The `tge` command-line contract: outputs, formats and exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import COCO, coco_lines, run_subprocess
from textgen_eval import __version__, evaluate


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    path = tmp_path / "samples.txt"
    path.write_text("\n".join(coco_lines("train")[:400]) + "\n", encoding="utf-8")
    return path


def test_version(tge) -> None:
    run = tge("--version")
    assert run.code == 0
    assert __version__ in run.out


def test_table_output_uses_bundled_reference_and_says_so(tge, samples: Path) -> None:
    run = tge("evaluate", samples, "--metrics", "bleu-4,self-bleu-4")
    assert run.code == 0, run.err
    assert "bundled reference bundled:coco/test" in run.err
    lines = run.out.splitlines()
    assert lines[0].split() == ["metric", "value", "n", "signature"]
    bleu = next(line for line in lines if line.startswith("bleu-4 "))
    assert "↑" in bleu and "400" in bleu and "refs:bundled:coco/test@" in bleu
    assert "↓" in next(line for line in lines if line.startswith("self-bleu-4 "))


def test_json_schema_matches_python_api(tge, samples: Path) -> None:
    run = tge("evaluate", samples, "--format", "json", "--metrics", "bleu-2,self-bleu-3,unique-ngrams-4")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert set(data) >= {"metrics", "samples", "reference", "version"}
    assert data["version"] == __version__
    assert [m["name"] for m in data["metrics"]] == ["bleu-2", "self-bleu-3", "unique-ngrams-4"]
    for item in data["metrics"]:
        assert set(item) == {"name", "value", "direction", "n", "signature", "details"}
        assert item["direction"] in ("higher", "lower")
    assert data["samples"]["n"] == 400
    assert data["reference"]["bundled"] is True and data["reference"]["n"] == 10_000
    api = evaluate(str(samples), metrics="bleu-2,self-bleu-3,unique-ngrams-4")
    assert [m.to_dict() for m in api.scores] == data["metrics"]


def test_csv_output_and_output_file(tge, samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "res" / "scores.csv"
    run = tge(
        "evaluate",
        samples,
        "--metrics",
        "bleu-3",
        "--format",
        "csv",
        "--output",
        out,
        "-r",
        COCO / "test.txt",
    )
    assert run.code == 0, run.err
    assert run.out == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0]["name"] == "bleu-3" and rows[0]["direction"] == "higher"
    # the bundled test file given by path is named as the bundled reference: one file, one signature
    assert "|refs:bundled:coco/test@72e25c9fb4d2|" in rows[0]["signature"]
    assert "no --reference given" not in run.err


def test_empty_samples_are_kept_and_reported(tge, tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("a man on a horse\n\na dog\n", encoding="utf-8")
    kept = json.loads(tge("evaluate", path, "--format", "json", "-m", "bleu-1").out)
    assert kept["samples"]["n"] == 3 and kept["samples"]["empty"] == 1
    run = tge("evaluate", path, "--format", "json", "-m", "bleu-1", "--skip-empty")
    skipped = json.loads(run.out)
    assert skipped["samples"]["n"] == 2 and skipped["samples"]["skipped_empty"] == 1
    assert kept["metrics"][0]["value"] != skipped["metrics"][0]["value"]
    assert "empty:skip" in skipped["metrics"][0]["signature"]


def test_metrics_list(tge) -> None:
    run = tge("metrics", "list")
    assert run.code == 0
    for name in ("bleu-N", "self-bleu-N", "unique-ngrams-N"):
        assert name in run.out
    items = json.loads(tge("metrics", "list", "--format", "json").out)
    assert {i["name"]: i["direction"] for i in items}["self-bleu-N"] == "lower"
    # every built-in is listed as built-in; installed plugins may add rows (issue 19: the suite
    # passes with plugins installed — tests/core/test_plugins.py runs these tests with some)
    from textgen_eval.metrics import metric_registry

    builtins = {e.name for e in metric_registry.entries() if e.origin == "built-in"}
    origins = {i["name"]: i["origin"] for i in items}
    assert all(origins[name] == "built-in" for name in builtins if name in origins)
    assert {"bleu-N", "fd", "mauve"} <= {n for n in origins if origins[n] == "built-in"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["evaluate", "{missing}"], "missing.txt: file not found"),
        (["evaluate", "{dir}"], "is a directory"),
        (
            ["evaluate", "{samples}", "-m", "bleu-0"],
            "invalid metric 'bleu-0': the order must be an integer from 1 to 100",
        ),
        (["evaluate", "{samples}", "-m", "blue-4"], "unknown metric 'blue-4'; did you mean 'bleu-4'"),
        (["evaluate", "{samples}", "-m", "self-blue-2"], "did you mean 'self-bleu-2'"),
        (["evaluate", "{samples}", "-m", "bleu"], "metric 'bleu' needs an order"),
        (["evaluate", "{samples}", "-m", "bleu-4,,"], "empty metric name"),
        (["evaluate", "{one}", "-m", "self-bleu-4"], "self-bleu-4 needs at least 2 samples, got 1"),
        (["evaluate", "{samples}", "--preset", "fast"], "Invalid value for '--preset'"),
        (["evaluate", "{samples}", "--format", "xml"], "Invalid value for '--format'"),
        (["evaluate", "{samples}", "--bogus"], "No such option '--bogus'"),
        (["evaluate", "{samples}", "-t", "wordpiece"], "unknown tokenizer 'wordpiece'"),
        (["evaluate", "{samples}", "-r", "{missing}"], "missing.txt: file not found"),
        (
            ["evaluate", "{samples}", "--plugin", "nope_module:Metric"],
            "failed to import module 'nope_module'",
        ),
        (["evaluate", "{samples}", "--plugin", "json"], "expected the form 'module:attribute'"),
        (["evaluate", "{latin1}"], "latin1.txt: not valid UTF-8 at line 1, byte offset 3"),
        (["evaluate", "{samples}", "--output", "{samples}"], "an input of this command"),
    ],
)
def test_user_errors_exit_2_with_message_and_no_traceback(
    tge, tmp_path: Path, samples: Path, args, expected
) -> None:
    one = tmp_path / "one.txt"
    one.write_text("a single sample\n", encoding="utf-8")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9\n".encode("latin-1"))
    before = samples.read_bytes()
    paths = {
        "missing": tmp_path / "missing.txt",
        "dir": tmp_path,
        "samples": samples,
        "one": one,
        "latin1": latin1,
    }
    run = tge(*[a.format(**paths) for a in args])
    assert run.code == 2, (run.out, run.err)
    assert expected in run.err
    assert "Traceback" not in run.err
    assert samples.read_bytes() == before  # nothing overwritten


def test_debug_shows_traceback_and_internal_errors_exit_1(tmp_path: Path) -> None:
    samples = tmp_path / "s.txt"
    samples.write_text("a b\nc d\n", encoding="utf-8")
    plugin = tmp_path / "broken_metric.py"
    plugin.write_text(
        "from textgen_eval.metrics import Metric\n"
        "class Broken(Metric):\n"
        "    name = 'broken'\n"
        "    direction = 'higher'\n"
        "    description = 'raises'\n"
        "    def compute(self, samples, references=None, **context):\n"
        "        raise RuntimeError('boom')\n",
        encoding="utf-8",
    )
    env = {"PYTHONPATH": str(tmp_path)}
    run = run_subprocess(
        "evaluate", str(samples), "-m", "broken", "--plugin", "broken_metric:Broken", env=env
    )
    assert run.code == 1
    assert "internal error: RuntimeError: boom" in run.err and "Traceback" not in run.err
    debug = run_subprocess("--debug", "evaluate", str(samples), "-m", "bleu-0", env=env)
    assert debug.code != 0 and "Traceback" in debug.err


def test_threads_option_sets_torch_and_openmp_threads(tmp_path: Path) -> None:
    """Issue 19: `--threads` on every command that trains; applied before torch starts."""
    import subprocess
    import sys

    refs = tmp_path / "r.txt"
    refs.write_text("a man on a horse\na dog in a park\n", encoding="utf-8")
    code = (
        "import os, sys\n"
        "from textgen_eval.cli.main import main\n"
        f"rc = main(['evaluate', {str(refs)!r}, '-r', {str(refs)!r}, '-m', 'bleu-2', '--threads', '1'])\n"
        "import torch\n"
        "print(rc, os.environ['OMP_NUM_THREADS'], torch.get_num_threads())\n"
    )
    env = {
        k: v for k, v in __import__("os").environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "0 1 1", out.stderr
    for command in ("train", "sample", "meta-eval", "tune", "compare"):
        helped = subprocess.run(
            [sys.executable, "-m", "textgen_eval", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "--threads" in helped.stdout, command


def test_a_temperature_sweep_equals_separate_evaluations(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    """Issue 19: `tge evaluate RUN --temperatures` scores each temperature as a separate
    `--temperature T` evaluation does, with the temperature in every signature, and keeps the
    points in RUN/sweeps/."""
    from tests.conftest import tiny_recipe_args

    run = tmp_path / "lm"
    trained = tge("train", "lstm-lm", "--data", tiny_bundle, "--out", run, "--no-progress",
                  "--set", "model.hidden_size=16", "--set", "model.emb_dim=8",
                  "--set", "runner.max_epochs=2")  # fmt: skip
    assert trained.code == 0, trained.err
    common = ("-m", "bleu-2,self-bleu-2,unique-ngrams-2", "--samples", "30", "--seed", "3",
              "--format", "json", *tiny_recipe_args())  # fmt: skip
    swept = tge("evaluate", run, "--temperatures", "0.7,1.3", *common)
    assert swept.code == 0, swept.err
    points = json.loads(swept.out)["sweep"]["points"]
    assert [p["temperature"] for p in points] == [0.7, 1.3]
    for point in points:
        single = tge("evaluate", run, "--temperature", str(point["temperature"]), *common)
        by = {m["name"]: m for m in json.loads(single.out)["metrics"]}
        for name, metric in point["metrics"].items():
            assert metric["value"] == by[name]["value"] and metric["signature"] == by[name]["signature"]
            if name != "model-nll":  # the model's own likelihood of the test split draws no samples
                assert f"|temp:{point['temperature']:g}|" in metric["signature"]
    assert points[0]["metrics"]["bleu-2"]["signature"] != points[1]["metrics"]["bleu-2"]["signature"]
    (kept,) = (run / "sweeps").glob("sweep-*.json")
    assert [p["temperature"] for p in json.loads(kept.read_text())["points"]] == [0.7, 1.3]
    bad = tge("evaluate", run, "--temperatures", "0.7,nope", *common)
    assert bad.code == 2 and "--temperatures" in bad.err
