"""`tge tune` and `tge report` end to end: worker processes, SIGKILL + resume, divergence, reports."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import run_subprocess, tiny_recipe_args
from textgen_eval.pipelines.evaluate import DEFAULT_METRICS
from textgen_eval.pipelines.tune import TuneSpec
from textgen_eval.tuning import queue
from textgen_eval.tuning.storage import open_storage, parse_storage

#: Trials of about a second: long enough for two workers to share them and to be killed mid-way.
SLOW_SPACE = """
replace = true
[space]
"train.lr" = { loguniform = [1e-3, 1e-2] }
"model.hidden_size" = { choice = [8, 16] }
"switch" = { choice = [false, true] }
"model.input_dropout" = { uniform = [0.0, 0.3], when = { switch = true } }
[fixed]
"model.emb_dim" = 8
"runner.max_epochs" = 25
"""

DIVERGING_SPACE = """
replace = true
[space]
"train.lr" = { choice = [0.003, 1e38] }
[fixed]
"model.emb_dim" = 8
"model.hidden_size" = 8
"train.optimizer" = "sgd"
"runner.max_epochs" = 1
"""

#: Two quick configurations that both train.
TINY_SPACE = """
replace = true
[space]
"train.lr" = { choice = [0.003, 0.005] }
[fixed]
"model.emb_dim" = 8
"model.hidden_size" = 8
"runner.max_epochs" = 1
"""


def tune_args(bundle: Path, space: Path, out: Path, *extra: str) -> list[str]:
    return [
        "tune", "lstm-lm", "--data", str(bundle), "--space", str(space), "--samples", "40",
        "--out", str(out), "--no-progress", *tiny_recipe_args(), *extra,
    ]  # fmt: skip


def study_trials(run: Path, phase: str = "search") -> list[optuna.trial.FrozenTrial]:
    storage = open_storage(parse_storage(str(run / "study.journal")), heartbeat_interval=None)
    return optuna.load_study(study_name=f"{run.name}:{phase}", storage=storage).get_trials()


@pytest.fixture(scope="module")
def spaces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("spaces")
    (root / "slow.toml").write_text(SLOW_SPACE, encoding="utf-8")
    (root / "diverging.toml").write_text(DIVERGING_SPACE, encoding="utf-8")
    (root / "tiny.toml").write_text(TINY_SPACE, encoding="utf-8")
    return {name: root / f"{name}.toml" for name in ("slow", "diverging", "tiny")}


@pytest.fixture(scope="module")
def two_worker_run(
    tiny_bundle: Path, spaces: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, session_cache: Path
) -> Path:
    out = tmp_path_factory.mktemp("tune") / "two-workers"
    args = tune_args(tiny_bundle, spaces["slow"], out, "--budget", "6", "--retrain", "2", "--workers", "2",
                     "--tensorboard", str(out.parent / "tensorboard"))  # fmt: skip
    result = run_subprocess(*args, env={"TGE_CACHE_DIR": str(session_cache)})
    assert result.code == 0, result.err
    return out


def test_two_workers_run_exactly_the_budget_without_duplicates(two_worker_run: Path) -> None:
    search = study_trials(two_worker_run)
    assert len(search) == 6
    assert all(t.state == TrialState.COMPLETE for t in search)
    assert sorted(t.user_attrs[queue.SLOT] for t in search) == list(range(6))
    configs = {json.dumps(t.params, sort_keys=True) for t in search}
    assert len(configs) == 6
    workers = {t.user_attrs[queue.WORKER]["pid"] for t in search}
    assert len(workers) == 2, "both worker processes took trials"
    retrain = study_trials(two_worker_run, "retrain")
    best = min(search, key=lambda t: t.value)
    # the two workers may queue the retraining phase together: copies are duplicates that never run
    ran = [t for t in retrain if t.user_attrs.get(queue.STATUS) != queue.DUPLICATE]
    assert sorted(t.user_attrs[queue.SLOT] for t in ran) == [0, 1]
    assert all(t.state == TrialState.COMPLETE and t.params == best.params for t in ran)
    assert len({t.user_attrs[queue.SEED] for t in ran}) == 2
    assert all("tge:run_dir" not in t.user_attrs for t in retrain if t not in ran), "a duplicate ran"


def test_trials_record_config_seed_metrics_signatures_and_time(two_worker_run: Path) -> None:
    trial = study_trials(two_worker_run)[0]
    attrs = trial.user_attrs
    assert set(attrs["tge:metrics"]) == set(DEFAULT_METRICS)  # all six, the reverse LM included
    assert attrs["tge:metrics"]["fd"]["value"] == trial.value
    assert all(m["signature"].startswith(name) for name, m in attrs["tge:metrics"].items())
    assert attrs["tge:config"]["model"]["hidden_size"] == trial.params["model.hidden_size"]
    assert attrs["tge:config"]["runner"]["seed"] == attrs[queue.SEED]
    assert attrs["tge:config"]["runner"]["max_epochs"] == 25
    assert attrs["tge:wall"] > 0 and 0 <= attrs["tge:overhead"] < attrs["tge:wall"]
    assert attrs[queue.STATUS] == "complete"
    run_dir = Path(attrs["tge:run_dir"])
    assert (run_dir / "samples.txt").is_file() and not (run_dir / "checkpoint.pt").exists()


def test_enqueued_configurations_are_those_of_the_seed_in_a_new_process(two_worker_run: Path) -> None:
    spec = json.loads((two_worker_run / "tune.json").read_text())["spec"]
    code = (
        "import json, sys\n"
        "from textgen_eval.pipelines.tune import TuneSpec\n"
        "print(json.dumps(TuneSpec.from_dict(json.loads(sys.stdin.read())).search_slots()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(spec), capture_output=True, text=True, check=True
    )
    slots = json.loads(proc.stdout)
    for trial in study_trials(two_worker_run):
        params, seed = slots[trial.user_attrs[queue.SLOT]]
        assert trial.params == params and trial.user_attrs[queue.SEED] == seed
    assert slots == [list(s) for s in TuneSpec.from_dict(spec).search_slots()]


def test_report_formats(two_worker_run: Path, tmp_path: Path) -> None:
    md = run_subprocess("report", str(two_worker_run))
    assert md.code == 0, md.err
    assert "| fd ↓ |" in md.out and "| bleu-4 ↑ |" in md.out and " ± " in md.out
    assert "6 / 0 / 6" in md.out

    data = json.loads(run_subprocess("report", str(two_worker_run), "--format", "json", "--no-real-data").out)
    (run,) = data["runs"]
    assert set(run) >= {"generator", "run_dir", "budget", "trials", "best", "best30", "retrain"}
    assert run["generator"] == "lstm-lm" and run["budget"] == 6
    assert run["trials"] == {"complete": 6, "failed": 0, "running": 0, "waiting": 0}
    search = study_trials(two_worker_run)
    best = min(search, key=lambda t: t.value)
    assert run["best"]["objective"] == best.value and run["best"]["config"] == best.params
    assert run["best30"] == sorted(t.value for t in search)
    fd = run["retrain"]["metrics"]["fd"]
    retrain = sorted(study_trials(two_worker_run, "retrain"), key=lambda t: t.user_attrs[queue.SLOT])
    assert fd["values"] == [t.value for t in retrain] and fd["direction"] == "lower"
    assert fd["mean"] == pytest.approx(sum(fd["values"]) / 2)
    assert fd["std"] == pytest.approx(abs(fd["values"][0] - fd["values"][1]) / 2**0.5)
    assert run["retrain"]["seeds"] == [t.user_attrs[queue.SEED] for t in retrain]

    rows = list(
        csv.DictReader(io.StringIO(run_subprocess("report", str(two_worker_run), "--format", "csv").out))
    )
    assert {r["metric"] for r in rows} == set(run["retrain"]["metrics"])
    assert float(next(r for r in rows if r["metric"] == "fd")["mean"]) == fd["mean"]

    latex = run_subprocess("report", str(two_worker_run), "--format", "latex", "--no-real-data").out
    assert latex.startswith(r"\begin{tabular}{lr}") and r"fd $\downarrow$ &" in latex and r"\pm" in latex


def test_signatures_are_one_per_run_and_equal_to_evaluate_s(two_worker_run: Path, tiny_bundle: Path) -> None:
    """Issue 19: a report gives one signature per metric with the seeds as its varying field
    (never "mixed"), and a trial's scores carry the signatures `tge evaluate` gives the same
    samples against the same bundle, however its path was spelled."""
    data = json.loads(run_subprocess("report", str(two_worker_run), "--format", "json", "--no-real-data").out)
    (run,) = data["runs"]
    fd = run["retrain"]["metrics"]["fd"]
    retrain = sorted(study_trials(two_worker_run, "retrain"), key=lambda t: t.user_attrs[queue.SLOT])
    assert "|sub:*|" in fd["signature"] and fd["varies"] == {
        "sub": [f"seed{t.user_attrs[queue.SEED]}" for t in retrain]
    }
    bleu = run["retrain"]["metrics"]["bleu-4"]
    assert bleu["varies"] == {} and "|refs:tinycoco/test@" in bleu["signature"]
    assert data["not_comparable"] == {}

    trial = retrain[0]
    samples = Path(trial.user_attrs["tge:run_dir"]) / "samples.txt"
    relative = os.path.relpath(tiny_bundle, Path.cwd())
    for spelling in (str(tiny_bundle), relative, f"{tiny_bundle}/"):
        scored = run_subprocess(
            "evaluate", str(samples), "--bundle", spelling, "-m", "bleu-4,unique-ngrams-4",
            "--format", "json",
            env={"TGE_CACHE_DIR": os.environ["TGE_CACHE_DIR"]},
        )  # fmt: skip
        assert scored.code == 0, scored.err
        by = {m["name"]: m for m in json.loads(scored.out)["metrics"]}
        for name in ("bleu-4", "unique-ngrams-4"):
            assert by[name]["signature"] == trial.user_attrs["tge:metrics"][name]["signature"], (
                spelling,
                name,
            )


def test_report_on_a_run_whose_journal_is_gone_says_so_and_creates_nothing(
    two_worker_run: Path, tmp_path: Path
) -> None:
    """Issue 34, item 3: not "0 of 6 trials" and a new empty journal."""
    import shutil

    copy = tmp_path / "moved"
    shutil.copytree(two_worker_run, copy)
    (copy / "study.journal").unlink()
    run = run_subprocess("report", str(copy))
    assert (
        run.code == 2
        and "study.journal" in run.err
        and "is missing" in run.err
        and "Traceback" not in run.err
    )
    assert not (copy / "study.journal").exists()


def test_report_refuses_runs_that_differ_in_more_than_their_seeds() -> None:
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.tuning.report import render

    def run(name: str, refs: str, n: str) -> dict:
        metric = {"mean": 1.0, "std": 0.1, "direction": "lower", "varies": {"sub": ["seed1", "seed2"]},
                  "signature": f"fd|feat:x|n:{n}|refs:{refs}|sub:*|v:1",
                  "values": [0.9, 1.1]}  # fmt: skip
        return {"generator": name, "run_dir": name, "budget": 2,
                "objective": {"name": "fd", "direction": "lower"},
                "trials": {"complete": 2, "failed": 0}, "best": None,
                "retrain": {"seeds": [1, 2], "metrics": {"fd": metric}}}  # fmt: skip

    same = [run("a", "coco/test@1", "500"), run("b", "coco/test@1", "500")]
    assert "| fd ↓ |" in render(same, "md")  # only the seeds differ: comparable
    other = [run("a", "coco/test@1", "500"), run("b", "news/test@2", "1000")]
    with pytest.raises(ConfigError, match=r"not comparable(.|\n)*fd: n = a: 500, b: 1000"):
        render(other, "md")
    table = render(other, "md", allow_mixed=True)
    assert "| fd ↓ † |" in table and "† fd: refs differs — a: coco/test@1, b: news/test@2" in table
    assert "**" not in table.split("\n")[2]  # no "best" between incomparable cells
    assert json.loads(render(other, "json", allow_mixed=True))["not_comparable"]["fd"]["n"] == ["500", "1000"]


def test_tensorboard_gets_one_run_per_trial_with_the_series_of_its_log(two_worker_run: Path) -> None:
    from tests.training.test_tensorboard import assert_events_match_log

    root = two_worker_run.parent / "tensorboard" / two_worker_run.name
    names = sorted(p.name for p in root.iterdir())
    assert names == [*(f"retrain-{i:04d}" for i in range(2)), *(f"search-{i:04d}" for i in range(6))]
    for name in names:
        assert_events_match_log(root / name, two_worker_run / "trials" / name / "log.jsonl")


def test_report_plots(two_worker_run: Path, tmp_path: Path) -> None:
    result = run_subprocess(
        "report", str(two_worker_run), str(two_worker_run), "--plots", str(tmp_path / "p")
    )
    assert result.code == 0, result.err
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == [
        "best30.pdf",
        "best30.png",
        "curves-lstm-lm-two-workers.pdf",  # the retrained seeds' training curves (tge plot's)
        "curves-lstm-lm-two-workers.png",
        "scatter-lstm-lm-two-workers.pdf",
        "scatter-lstm-lm-two-workers.png",
    ]
    for name in names:
        head = (tmp_path / "p" / name).read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if name.endswith("png") else head.startswith(b"%PDF")


def test_sigkill_mid_trial_then_resume_keeps_completed_and_reruns_the_killed(
    tiny_bundle: Path, spaces: dict[str, Path], tmp_path: Path, session_cache: Path
) -> None:
    out = tmp_path / "killed"
    args = tune_args(tiny_bundle, spaces["slow"], out, "--budget", "4", "--retrain", "1")
    env = {**os.environ, "TGE_CACHE_DIR": str(session_cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "textgen_eval", *args], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def mid_trial() -> bool:
        if not (out / "study.journal").is_file():
            return False
        try:
            trials = study_trials(out)
        except KeyError:  # the journal is opened before the study is created in it: not yet
            return False
        running = [t for t in trials if t.state == TrialState.RUNNING and "tge:worker" in t.user_attrs]
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        return bool(done) and bool(running) and (time.time() - running[0].datetime_start.timestamp()) > 0.3

    deadline = time.monotonic() + 120
    while not mid_trial():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its worker, mid-trial
    proc.wait()
    before = {
        t.number: (t.user_attrs[queue.SLOT], t.value)
        for t in study_trials(out)
        if t.state == TrialState.COMPLETE
    }
    killed = [t for t in study_trials(out) if t.state == TrialState.RUNNING]
    assert len(killed) == 1

    result = run_subprocess(
        "tune", "--resume", str(out), "--no-progress", env={"TGE_CACHE_DIR": str(session_cache)}
    )
    assert result.code == 0, result.err
    assert "re-queued 1 search trial(s)" in result.err
    after = study_trials(out)
    for number, (slot, value) in before.items():
        assert after[number].state == TrialState.COMPLETE and after[number].value == value
        assert [t.number for t in after if t.user_attrs[queue.SLOT] == slot] == [number]  # not re-run
    killed_slot = killed[0].user_attrs[queue.SLOT]
    again = [t for t in after if t.user_attrs[queue.SLOT] == killed_slot]
    assert [t.state for t in again] == [TrialState.FAIL, TrialState.COMPLETE]
    assert again[0].user_attrs[queue.STATUS] == "killed" and again[1].params == again[0].params
    assert again[1].user_attrs[queue.SEED] == again[0].user_attrs[queue.SEED]
    counts = queue.count(after, 4)
    assert (counts.complete, counts.failed, counts.done) == (4, 0, 4)
    assert len(study_trials(out, "retrain")) == 1


def test_a_diverging_trial_is_reported_failed_and_the_protocol_goes_on(
    tiny_bundle: Path, spaces: dict[str, Path], tmp_path: Path, tge
) -> None:
    out = tmp_path / "diverging"
    result = tge(*tune_args(tiny_bundle, spaces["diverging"], out, "--budget", "2", "--retrain", "1"))
    assert result.code == 0, result.err
    data = json.loads(tge("report", out, "--format", "json").out)["runs"][0]
    assert data["trials"] == {"complete": 1, "failed": 1, "running": 0, "waiting": 0}
    (failure,) = data["failures"]
    assert failure["status"] == "diverged" and "loss = inf" in failure["error"]
    assert data["best"]["config"] == {"train.lr": 0.003}
    assert data["retrain"]["trials"]["complete"] == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["tune", "lstm-lm", "--data", "coco"], "needs MODEL, --data and --out"),
        (["tune", "no-such-model", "--data", "coco", "--out", "{tmp}/x"], "no-such-model"),
        (["tune", "lstm-lm", "--data", "coco", "--out", "{tmp}/x", "--objective", "nope"], "nope"),
        (["tune", "lstm-lm", "--data", "coco", "--out", "{tmp}/x", "--space", "{tmp}/bad.toml"], "bad.toml"),
        (["tune", "lstm-lm", "--data", "coco", "--out", "{tmp}/x", "--set", "model.nope=1"], "nope"),
        (["tune", "--resume", "{tmp}"], "not a tuning run directory"),
        (["report", "{tmp}"], "not a tuning run directory"),
        (["tune", "--worker", "--study", "x"], "--worker needs --storage"),
        (
            ["tune", "lstm-lm", "--data", "coco", "--out", "{tmp}/x", "--storage", "redis://h"],
            "unknown scheme",
        ),
    ],
)
def test_bad_options_exit_2_with_a_message(tmp_path: Path, tge, args: list[str], expected: str) -> None:
    (tmp_path / "bad.toml").write_text('[space]\n"train.lr" = { normal = [0, 1] }\n', encoding="utf-8")
    result = tge(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.code == 2, result.err
    assert expected in result.err and "Traceback" not in result.err
    assert not (tmp_path / "x").exists()


def test_a_non_empty_out_is_not_overwritten(tmp_path: Path, tge) -> None:
    (tmp_path / "keep.txt").write_text("precious", encoding="utf-8")
    result = tge("tune", "lstm-lm", "--data", "coco", "--out", tmp_path, "--budget", "1")
    assert result.code == 2 and "is not empty" in result.err
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "precious"


def test_set_fixes_a_setting_over_the_space_and_refuses_a_searched_one(tge, tmp_path: Path) -> None:
    """`--set` on a key the space fixes wins (it used to be overridden silently); on a key the space
    searches it is refused with a message naming the key and the way to fix it."""
    from textgen_eval.pipelines.tune import build_spec

    spec = build_spec(
        "vae", "mnist-binarized", name="s", budget=3, retrain=1, objective=None, metrics=None,
        space_path=None, overrides={"runner.max_epochs": "1"}, trial_options={}, seed=0, trial_timeout=None,
    )  # fmt: skip
    for params, seed in spec.search_slots():
        assert spec.trial_overrides(params, seed=seed)["runner.max_epochs"] == "1"  # the space fixes 5
    refused = tge(
        "tune", "vae", "--data", "mnist-binarized", "--out", tmp_path / "x", "--set", "train.lr=0.01"
    )
    assert refused.code == 2 and "--set train.lr: searched by the space of 'vae'" in refused.err
    assert "[fixed]" in refused.err and not (tmp_path / "x").exists()


def test_significance_marks_on_seed_sets_with_known_outcomes() -> None:
    """Welch's t-test of each model's retrained seeds against the best model's (issue 19)."""
    from scipy.stats import ttest_ind

    from textgen_eval.tuning.report import render, significance, welch_p

    def run(name: str, values: list[float]) -> dict:
        mean = sum(values) / len(values)
        metric = {"mean": mean, "std": 0.1, "direction": "lower", "varies": {}, "values": values,
                  "signature": "fd|n:500|v:1"}  # fmt: skip
        return {"generator": name, "run_dir": name, "budget": 2,
                "objective": {"name": "fd", "direction": "lower"},
                "trials": {"complete": 2, "failed": 0}, "best": None,
                "retrain": {"seeds": list(range(len(values))), "metrics": {"fd": metric}}}  # fmt: skip

    best = run("lm", [1.00, 1.01, 0.99, 1.02])
    far = run("gan", [2.00, 2.02, 1.98, 2.01])  # clearly worse
    close = run("vae", [1.00, 1.05, 0.97, 1.03])  # within the noise
    few = run("seqgan", [3.0, 3.1])  # two seeds: not tested
    runs = [best, far, close, few]
    tests = significance(runs, "fd", "lower")
    assert tests[1] == pytest.approx(ttest_ind(far["retrain"]["metrics"]["fd"]["values"],
                                               best["retrain"]["metrics"]["fd"]["values"],
                                               equal_var=False).pvalue)  # fmt: skip
    assert tests[1] < 0.05 and tests[2] > 0.05 and tests[3] is None and 0 not in tests
    assert welch_p([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]) == 1.0 and welch_p([1.0] * 3, [2.0] * 3) == 0.0
    row = next(line for line in render(runs, "md").splitlines() if line.startswith("| fd ↓ |"))
    cells = [c.strip() for c in row.split("|")[2:6]]
    assert cells[0].startswith("**") and cells[1].endswith(" *") and not cells[2].endswith("*")
    assert not cells[3].endswith("*")
    assert "too few seeds to tell" in render(runs, "md")
    table = json.loads(render(runs, "json"))["significance"]["fd"]
    assert table["best"] == "lm" and table["p_welch"]["seqgan"] is None and table["p_welch"]["gan"] < 0.05
    assert "^{*}" in render(runs, "latex")


def test_the_real_data_column_equals_tge_evaluate_of_the_held_out_text(two_worker_run: Path) -> None:
    """Issue 19: `tge report` adds held-out real text scored like the samples — the same metrics,
    n, references and seed — and its values are what `tge evaluate` gives that text."""
    data = json.loads(run_subprocess("report", str(two_worker_run), "--format", "json").out)
    *models, real = data["runs"]
    # the tiny bundle's held-out split (every 20th of 300 lines) has 15 sentences: all of them
    assert real["real"] is True and real["model"] == "real data" and real["n"] == 15
    assert [m["model"] for m in models] == ["lstm-lm"]
    spec = json.loads((two_worker_run / "tune.json").read_text())["spec"]
    held = two_worker_run / "real-data.txt"
    assert len(held.read_text().splitlines()) == 15
    args = ["evaluate", str(held), "--bundle", spec["data"], "--format", "json", "--seed", str(spec["seed"]),
            "--fd-n", "15", *tiny_recipe_args()]  # fmt: skip
    scored = run_subprocess(*args, env={"TGE_CACHE_DIR": os.environ["TGE_CACHE_DIR"]})
    assert scored.code == 0, scored.err
    by = {m["name"]: m for m in json.loads(scored.out)["metrics"]}
    for name, entry in real["retrain"]["metrics"].items():
        assert entry["mean"] == by[name]["value"] and entry["signature"] == by[name]["signature"], name
    md = run_subprocess("report", str(two_worker_run)).out
    assert md.splitlines()[0].endswith("| real data |") and "15 held-out real sentences" in md
    # 15 held-out sentences against the trials' 40 samples: every count-dependent cell is marked ‡
    # and the note says why, instead of calling the column a ceiling (issue 35, item 3)
    differs = data["real_data_not_comparable"]
    assert {"fd", "self-bleu-4", "unique-ngrams-4"} <= set(differs), differs
    assert differs["self-bleu-4"]["nhyps"] == {"real_data": "15", "models": "40"}
    # 40 samples in the encoder's 512 dimensions: every trial recorded fd-n-below-d, and the report
    # says so, flagged as bearing on the objective (issue 35, item 4)
    warned = {w["code"]: w for w in models[0]["warnings"]}
    assert warned["fd-n-below-d"]["trials"] == 8 and warned["fd-n-below-d"]["max"] == 40
    assert "`fd-n-below-d` in 8 of 8 trials" in md and "bears on the objective (fd)" in md
    fd_row = next(line for line in md.splitlines() if line.startswith("| fd "))
    assert fd_row.rstrip(" |").endswith("‡") and "nhyps 15 vs the models' 40" in md and "not a ceiling" in md
    plain = run_subprocess("report", str(two_worker_run), "--no-real-data", "--format", "json").out
    assert [r["model"] for r in json.loads(plain)["runs"]] == ["lstm-lm"]


def test_report_sweep_draws_quality_against_diversity(two_worker_run: Path, tmp_path: Path) -> None:
    """`tge report --sweep` scores the first retrained model at each temperature, keeps the
    points for later reports, and plots one curve per model."""
    args = ("report", str(two_worker_run), "--sweep", "0.8,1.2", "--no-real-data")
    first = run_subprocess(*args, "--format", "json", "--plots", str(tmp_path / "plots"),
                           env={"TGE_CACHE_DIR": os.environ["TGE_CACHE_DIR"]})  # fmt: skip
    assert first.code == 0, first.err
    sweep = json.loads(first.out)["sweeps"]["lstm-lm"]
    assert [p["temperature"] for p in sweep["points"]] == [0.8, 1.2]
    assert {"bleu-4", "self-bleu-4", "lm-score", "reverse-lm-score"} <= set(sweep["points"][0]["metrics"])
    assert (tmp_path / "plots" / "quality-diversity.png").is_file()
    again = run_subprocess(*args, "--format", "json", env={"TGE_CACHE_DIR": os.environ["TGE_CACHE_DIR"]})
    assert "scoring temperatures" not in again.err  # kept: not scored twice
    assert json.loads(again.out)["sweeps"] == json.loads(first.out)["sweeps"]


def test_best_n_plot_takes_a_log_axis_when_models_differ_tenfold() -> None:
    """Table 5.4's FDs span 0.27 (LM) to 1.8 (Conv-Deconv) in the thesis and 2 to 20 here: a
    linear axis would squash the discrete GANs' boxes; values within a factor 10 stay linear."""
    from textgen_eval.tuning.plots import wants_log_axis

    assert wants_log_axis([2.1, 2.4, 7.2, 23.3])
    assert not wants_log_axis([0.273, 0.316, 1.81])
    assert not wants_log_axis([]) and not wants_log_axis([-1.0, 20.0])  # log needs positive values


def test_best_n_plot_title_does_not_promise_more_trials_than_the_budget_ran() -> None:
    """The CPU preset's budget is 6: a title "best 30" over 6 trials per model misleads a reader
    of the committed plot; with any model at 30 or more the best-30 title stands."""
    from textgen_eval.tuning.plots import best_title

    assert best_title("fd", 30, [6, 6, 5], log=False) == "fd of every search trial, fewer than 30 per model"
    assert best_title("fd", 30, [30, 6], log=True) == "fd of the best 30 search trials (log scale)"


def test_scatter_log_axis_labels_one_tick_per_decade_over_wide_ranges() -> None:
    """g_lr drawn over 1e-6…3e-4 labelled 1×, 2× and 5× every decade printed "1e-062e-06…" as one
    run of overlapping text; past two decades only the powers of ten are labelled."""
    from textgen_eval.tuning.plots import log_tick_subs

    assert log_tick_subs(1e-6, 3e-4) == (1.0,)
    assert log_tick_subs(2e-5, 5e-4) == (1.0, 2.0, 5.0)


def test_a_real_data_column_scored_like_the_trials_is_unmarked() -> None:
    from textgen_eval.tuning.report import real_data_column, real_data_mismatches

    def model(sig: str) -> dict[str, object]:
        fd = {"mean": 1.0, "std": 0.1, "direction": "lower", "signature": sig, "values": [1.0]}
        return {"generator": "lm", "model": "lm", "run_dir": "x", "retrain": {"metrics": {"fd": fd}}}

    same = real_data_column({"source": "coco/valid", "n": 40, "seed": 0, "metrics": {"fd": {
        "value": 2.0, "direction": "lower", "signature": "fd|n:40|seed:0|v:1"}}}, {"name": "fd"})  # fmt: skip
    assert real_data_mismatches([model("fd|n:40|seed:*|v:1"), same]) == {}
    smaller = {**same, "retrain": {**same["retrain"], "metrics": {"fd": {
        **same["retrain"]["metrics"]["fd"], "signature": "fd|n:15|seed:0|v:1"}}}}  # fmt: skip
    assert real_data_mismatches([model("fd|n:40|seed:*|v:1"), smaller]) == {"fd": {"n": ("15", "40")}}


def test_a_tune_json_edited_after_the_start_is_refused_on_resume(
    two_worker_run: Path, tmp_path: Path
) -> None:
    """Issue 34, item 4: raising tune.json's budget on a finished run made the coordinator wait for
    trials that no worker (they read the spec the study records) would run; now it is refused,
    naming what changed, and a resume of the unedited run still works."""
    import shutil

    copy = tmp_path / two_worker_run.name
    shutil.copytree(two_worker_run, copy)
    unchanged = run_subprocess("tune", "--resume", str(copy), "--no-progress")
    assert unchanged.code == 0, unchanged.err
    data = json.loads((copy / "tune.json").read_text())
    data["spec"]["budget"] = 9
    (copy / "tune.json").write_text(json.dumps(data))
    edited = run_subprocess("tune", "--resume", str(copy), "--no-progress")
    assert edited.code == 2, edited.err
    assert "tune.json was changed after the run started (budget: 9 in tune.json, 6 in the run)" in edited.err


def test_a_full_disk_requeues_the_trial_and_resume_finishes(
    tiny_bundle: Path, spaces: dict[str, Path], tmp_path: Path, session_cache: Path
) -> None:
    """Issue 34, item 4, with a real failing write: the processes get a file-size limit (RLIMIT_FSIZE)
    that the trial's checkpoint exceeds and the study's journal does not; Python ignores SIGXFSZ, so the
    write fails with EFBIG exactly as a full disk fails with ENOSPC. The trial must be re-queued, not
    recorded as a failed configuration, and ``--resume`` without the limit must finish the run."""
    import resource

    out = tmp_path / "full"
    env = {**os.environ, "TGE_CACHE_DIR": str(session_cache)}
    quick = ("--objective", "bleu-2", "--metrics", "bleu-2,unique-ngrams-2")  # no cached model to build
    limit = 16 * 1024

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    args = tune_args(tiny_bundle, spaces["tiny"], out, "--budget", "2", "--retrain", "1", *quick)
    proc = subprocess.run(
        [sys.executable, "-m", "textgen_eval", *args], env=env, capture_output=True, text=True,
        preexec_fn=small_disk, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "file size limit exceeded writing" in proc.stderr and "checkpoint.pt" in proc.stderr
    assert "re-queued, not failed" in proc.stderr and "internal error" not in proc.stderr
    stopped = study_trials(out)
    assert [t.user_attrs.get(queue.STATUS) for t in stopped if t.state == TrialState.FAIL] == ["environment"]
    assert queue.count(stopped, 2).failed == 0  # not a verdict on the configuration

    resumed = run_subprocess(
        "tune", "--resume", str(out), "--no-progress", env={"TGE_CACHE_DIR": str(session_cache)}
    )
    assert resumed.code == 0, resumed.err
    after = study_trials(out)
    counts = queue.count(after, 2)
    assert (counts.complete, counts.failed) == (2, 0)
    slot = next(t for t in after if t.user_attrs.get(queue.STATUS) == "environment").user_attrs[queue.SLOT]
    again = [t for t in after if t.user_attrs[queue.SLOT] == slot]
    assert [t.state for t in again] == [TrialState.FAIL, TrialState.COMPLETE]
    assert (
        again[1].params == again[0].params
        and again[1].user_attrs[queue.SEED] == again[0].user_attrs[queue.SEED]
    )
    assert len(study_trials(out, "retrain")) == 1
