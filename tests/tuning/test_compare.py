"""`tge compare` (issue 17): two generators through one protocol, exact budgets, resume after
SIGKILL without re-running finished trials, and a report consistent with the studies."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import run_subprocess, tiny_recipe_args
from textgen_eval.pipelines.compare_presets import TABLE_5_4, load_preset, parse_preset
from textgen_eval.tuning import queue
from textgen_eval.tuning.storage import open_storage, parse_storage

LM_SPACE = """
replace = true
[space]
"train.lr" = { loguniform = [1e-3, 1e-2] }
"model.hidden_size" = { choice = [8, 16] }
[fixed]
"model.emb_dim" = 8
"runner.max_epochs" = 12
"""

SEQGAN_SPACE = """
replace = true
[space]
"train.g_lr" = { loguniform = [1e-4, 1e-3] }
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

PRESET = """
description = "two tiny generators"
budget = 3
retrain = 2
samples = 30
max_len = 20
models = ["lstm-lm", "seqgan-reinforce"]
metrics = ["bleu-2", "unique-ngrams-2", "fd"]

[model.lstm-lm]
space = "lm.toml"

[model.seqgan-reinforce]
space = "seqgan.toml"
set = { "gan.d_steps" = 1 }
"""


@pytest.fixture
def preset(tmp_path: Path) -> Path:
    root = tmp_path / "preset"
    root.mkdir()
    (root / "lm.toml").write_text(LM_SPACE, encoding="utf-8")
    (root / "seqgan.toml").write_text(SEQGAN_SPACE, encoding="utf-8")
    (root / "tiny.toml").write_text(PRESET, encoding="utf-8")
    return root / "tiny.toml"


def compare_args(bundle: Path, preset: Path, out: Path, *extra: str) -> list[str]:
    return ["compare", "--data", str(bundle), "--preset", str(preset), "--out", str(out), "--no-progress",
            *tiny_recipe_args(), *extra]  # fmt: skip


def trials(out: Path, model: str, phase: str) -> list[optuna.trial.FrozenTrial]:
    storage = open_storage(parse_storage(str(out / "study.journal")), heartbeat_interval=None)
    return optuna.load_study(study_name=f"{out.name}-{model}:{phase}", storage=storage).get_trials()


def test_the_builtin_cpu_preset_is_table_5_4_and_presets_are_validated(tmp_path: Path) -> None:
    from textgen_eval.pipelines.compare_presets import MODERN, PEER_PG_GANS, PEERS
    from textgen_eval.pipelines.compare_report import beyond_the_thesis

    cpu = load_preset("cpu")
    assert tuple(p.model for p in cpu.models) == (*TABLE_5_4, *PEERS, *MODERN) and len(TABLE_5_4) == 9
    assert beyond_the_thesis([p.model for p in cpu.models]) == [*PEERS, *MODERN]  # marked in the report
    # fairness: a discrete GAN's generator pretrains by MLE for no more epochs than the LM row trains
    from textgen_eval.generators.lstm_lm.space import SEARCH_SPACE

    lm_epochs = SEARCH_SPACE.fixed["runner.max_epochs"]
    for plan in [
        *cpu.models[3 : 9 + len(PEER_PG_GANS)],
        *(p for p in cpu.models if p.model in ("gsgan", "textgan", "relgan")),
    ]:
        assert int(plan.sets["gan.pretrain_epochs"]) == lm_epochs, plan
    for bad, message in (
        ({"budget": 0, "retrain": 1, "models": ["lstm-lm"]}, "budget must be an integer ≥ 1"),
        ({"budget": 2, "retrain": 1, "models": []}, "at least one generator"),
        ({"budget": 2, "retrain": 1, "models": ["lstm-lm"], "colour": 1}, "unknown key(s) colour"),
        ({"budget": 2, "retrain": 1, "models": ["lstm-lm"], "model": {"vae": {}}}, "[model.vae] is not in"),
        ({"budget": 2, "retrain": 1, "models": ["lstm-lm"], "model": {"lstm-lm": {"space": "no.toml"}}},
         "file not found"),
    ):  # fmt: skip
        with pytest.raises(
            Exception, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
        ):
            parse_preset(bad, name="p", base=tmp_path)


def test_compare_two_generators_budgets_report_and_plots(
    tge, tiny_bundle: Path, preset: Path, tmp_path
) -> None:
    out = tmp_path / "cmp"
    first = tge(*compare_args(tiny_bundle, preset, out, "lstm-lm"))  # one row first ...
    assert first.code == 0, first.err
    assert json.loads((out / "compare.json").read_text())["models"] == ["lstm-lm"]
    run = tge(*compare_args(tiny_bundle, preset, out))  # ... then the preset's rows: the comparison grows
    assert run.code == 0, run.err
    assert "model 1/2: lstm-lm" in run.err and "model 2/2: seqgan-reinforce" in run.err
    assert json.loads((out / "compare.json").read_text())["models"] == ["lstm-lm", "seqgan-reinforce"]
    for model in ("lstm-lm", "seqgan-reinforce"):  # the same budget for every model, exactly
        search, retrain = trials(out, model, "search"), trials(out, model, "retrain")
        assert sum(t.state == TrialState.COMPLETE for t in search) == 3 and len(search) == 3
        assert sum(t.state == TrialState.COMPLETE for t in retrain) == 2 and len(retrain) == 2
    # every model's search draws its configurations and seeds from the same --seed
    lm_seeds = sorted(t.user_attrs[queue.SEED] for t in trials(out, "lstm-lm", "search"))
    gan_seeds = sorted(t.user_attrs[queue.SEED] for t in trials(out, "seqgan-reinforce", "search"))
    assert lm_seeds == gan_seeds

    report = json.loads((out / "report.json").read_text())
    *models, real = report["runs"]
    assert [r["model"] for r in models] == ["lstm-lm", "seqgan-reinforce"] and report["missing"] == []
    assert (
        real["real"]
        and real["n"] == 15
        and set(real["retrain"]["metrics"]) == {"bleu-2", "unique-ngrams-2", "fd"}
    )
    for r in models:  # the table's cells are the retrained trials' values
        retrained = trials(out, r["model"], "retrain")
        fd = [t.user_attrs["tge:metrics"]["fd"]["value"] for t in retrained]
        assert r["retrain"]["metrics"]["fd"]["mean"] == pytest.approx(statistics.fmean(fd))
        assert r["retrain"]["metrics"]["fd"]["std"] == pytest.approx(statistics.stdev(fd))
        best = min(t.value for t in trials(out, r["model"], "search"))
        assert r["best"]["objective"] == best
    markdown = (out / "report.md").read_text()
    assert "| fd ↓ |" in markdown and markdown.count("**") >= 6
    assert "3 random-search trials" in markdown and "retrained with 2 seeds" in markdown
    fds = {r["model"]: r["retrain"]["metrics"]["fd"]["mean"] for r in models}
    winner = min(fds, key=fds.__getitem__)
    row = next(line for line in markdown.splitlines() if line.startswith("| fd ↓ |"))
    cells = row.split("|")[2:4]
    assert cells[["lstm-lm", "seqgan-reinforce"].index(winner)].strip().startswith("**")
    assert r"\mathbf{" in (out / "report.tex").read_text()
    for name in ("best30.png", "best30.pdf", "scatter-lstm-lm.png", "scatter-seqgan-reinforce.png"):
        assert (out / "plots" / name).is_file(), name
    # a model's run is an ordinary tuning run: `tge report` reads it
    single = tge("report", out / "runs" / "lstm-lm", "--format", "json")
    assert single.code == 0 and json.loads(single.out)["runs"][0]["retrain"] == report["runs"][0]["retrain"]

    # the same command again changes nothing; other settings are refused
    again = tge(*compare_args(tiny_bundle, preset, out))
    assert again.code == 0, again.err
    assert len(trials(out, "lstm-lm", "search")) == 3
    other = tge(*compare_args(tiny_bundle, preset, out, "--budget", "4"))
    assert other.code == 2 and "other settings" in other.err and "lstm-lm settings" in other.err


def test_sigkill_mid_comparison_then_resume_reruns_nothing_finished(
    tiny_bundle: Path, preset: Path, tmp_path: Path, session_cache: Path
) -> None:
    out = tmp_path / "killed"
    env = {**os.environ, "TGE_CACHE_DIR": str(session_cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "textgen_eval", *compare_args(tiny_bundle, preset, out)], env=env,
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def in_second_model() -> bool:  # the first model finished, the second has a finished trial
        if not (out / "runs" / "seqgan-reinforce" / "tune.json").is_file():
            return False
        done = [t for t in trials(out, "seqgan-reinforce", "search") if t.state == TrialState.COMPLETE]
        return bool(done)

    deadline = time.monotonic() + 240
    while not in_second_model():
        assert proc.poll() is None, "the comparison ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {
        model: {t.number: t.value for t in trials(out, model, phase) if t.state == TrialState.COMPLETE}
        for model in ("lstm-lm", "seqgan-reinforce")
        for phase in ("search",)
    }
    lm_retrain = {t.number: t.value for t in trials(out, "lstm-lm", "retrain")}
    assert len(before["lstm-lm"]) == 3 and len(lm_retrain) == 2 and before["seqgan-reinforce"]
    assert not (out / "report.md").exists()

    result = run_subprocess(
        "compare", "--resume", str(out), "--no-progress", env={"TGE_CACHE_DIR": str(session_cache)}
    )
    assert result.code == 0, result.err
    for model, values in before.items():
        after = {t.number: t for t in trials(out, model, "search")}
        for number, value in values.items():  # finished trials are kept, not re-run
            assert after[number].state == TrialState.COMPLETE and after[number].value == value
        slots = [t.user_attrs[queue.SLOT] for t in after.values() if t.state == TrialState.COMPLETE]
        assert sorted(slots) == [0, 1, 2]  # each slot completed exactly once
    assert {t.number: t.value for t in trials(out, "lstm-lm", "retrain")} == lm_retrain
    assert (out / "report.md").is_file()


def test_bad_compare_options_exit_2_before_any_work(
    tge, tiny_bundle: Path, preset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bad"
    for args, message in (
        (["compare", "--data", str(tiny_bundle), "--out", str(out), "--preset", "nope"], "--preset nope"),
        (["compare", "no-such-model", "--data", str(tiny_bundle), "--out", str(out)], "no-such-model"),
        (["compare", "--out", str(out)], "needs --data and --out"),
        (["compare", "--resume", str(out)], "not a comparison directory"),
    ):
        run = tge(*args)
        assert run.code == 2 and message in run.err, run.err
        assert not (out / "compare.json").exists()


def test_the_thesis_scale_preset_builds_every_model_with_its_space(tiny_bundle: Path) -> None:
    """examples/compare/thesis.toml: the nine rows, budget 100, 7 seeds, each model's thesis space
    and the 4k SentencePiece vocabulary — every drawn configuration of every model validates."""
    from tests.conftest import ROOT
    from textgen_eval.pipelines.compare import build_compare_spec

    spec = build_compare_spec(load_preset(str(ROOT / "examples" / "compare" / "thesis.toml")),
                              str(tiny_bundle), name="thesis", seed=0)  # fmt: skip
    assert spec.models == TABLE_5_4
    for tune_spec in spec.specs:
        assert (tune_spec.budget, tune_spec.retrain, tune_spec.objective) == (100, 7, "fd")
        assert tune_spec.overrides == {"model.tokenizer": "spm:4000"}
        assert tune_spec.trial_options["samples"] == 10_000
    cpu = build_compare_spec(load_preset("cpu"), str(tiny_bundle), name="cpu", seed=0)  # validates too
    steps = [t.overrides.get("gan.adversarial_steps") for t in cpu.specs]
    # the WGANs, CoT, JSDGAN, the transformer: their own; RelGAN 100 (its CPU space's 500 took ~72
    # CPU-minutes a trial), with its β horizon; GSGAN and TextGAN the discrete GANs' 50
    assert steps == [None] * 3 + ["50"] * 10 + ["100", "50", "50", None, None, None]
    relgan = next(t for t in cpu.specs if t.model == "relgan")
    assert relgan.overrides["relgan.beta_horizon"] == "100"


def test_the_protocol_sentence_counts_in_the_singular_for_one() -> None:
    """The thesis-smoke preset runs a budget of 1 retrained with 1 seed: not "1 seeds"."""
    from textgen_eval.pipelines.compare_report import count_noun

    assert count_noun(1, "seed") == "1 seed" and count_noun(7, "seed") == "7 seeds"
    assert count_noun(1, "random-search trial") == "1 random-search trial"


ORACLE_PRESET = """
description = "the oracle preset, shrunk"
data = "{bundle}"
budget = 1
retrain = 2
samples = 40
models = ["lstm-lm", "seqgan-step"]
metrics = ["nll-oracle", "bleu-2", "fd"]

[model.lstm-lm]
space = "lm.toml"

[model.seqgan-step]
space = "seqgan.toml"
"""


def test_the_builtin_oracle_preset_builds_every_text_generator(tmp_path: Path) -> None:
    """`tge compare --preset oracle` needs no --data; every row has SeqGAN's 32/32 size."""
    from textgen_eval.pipelines.compare import build_compare_spec
    from textgen_eval.pipelines.compare_presets import ORACLE_MODELS

    oracle = load_preset("oracle")
    assert oracle.data == "seqgan-oracle" and tuple(p.model for p in oracle.models) == ORACLE_MODELS
    assert "nll-oracle" in oracle.metrics and oracle.objective == "fd"
    assert "reverse-lm-score" not in oracle.metrics  # nll-test measures coverage exactly here
    assert all(p.sets["runner.probe_samples"] == "1000" for p in oracle.models)  # curves at n = 1,000
    spec = build_compare_spec(oracle, "seqgan-oracle", name="oracle", seed=0)  # every configuration builds
    assert spec.models[:3] == ("lstm-lm", "lstm-vae", "hybrid-vae") and len(spec.models) == 21
    size_keys = {"hybrid-vae": ("model.emb_dim", "model.head_size"), "relgan": ("model.emb_dim",),
                 "transformer-lm": ("model.n_embd",)}  # fmt: skip
    relgan = spec.specs[spec.models.index("relgan")].trial_overrides({}, seed=0)
    assert relgan["model.head_size"] == "16"  # 2 heads of 16: a memory as wide as SeqGAN's LSTM
    for model, tune in zip(spec.models, spec.specs):  # every drawn configuration is SeqGAN's size
        for params, _ in tune.search_slots():
            overrides = tune.trial_overrides(params, seed=0)
            if model == "wgan-conv-deconv":  # no embedding or recurrent state: the oracle's length
                assert "model.emb_dim" not in overrides
                continue
            keys = size_keys.get(model, ("model.emb_dim", "model.hidden_size"))
            assert all(overrides[k] == "32" for k in keys), model
            if model == "hybrid-vae":
                assert overrides["model.length"] == "20"
            if model == "lstm-lm":  # SeqGAN's MLE, as every GAN row pretrains
                assert (overrides["train.lr"], overrides["train.batch_size"]) == ("0.01", "64")
            if model.startswith(("seqgan", "leakgan")) or model in (
                "maligan",
                "dpgan",
                "rankgan",
                "gsgan",
                "relgan",
            ):
                assert overrides["train.mle_lr"] == "0.01"


def test_compare_on_an_oracle_bundle_reports_the_truth_columns(tge, tmp_path: Path) -> None:
    from textgen_eval.data.oracle import random_params
    from textgen_eval.data.oracle_bundle import build_oracle_bundle

    bundle = tmp_path / "oracle"
    build_oracle_bundle(bundle, oracle="random", length=4, n=120, seed=3,
                        params=random_params(3, vocab_size=15, emb_dim=4, hidden_size=4))  # fmt: skip
    root = tmp_path / "preset"
    root.mkdir()
    (root / "lm.toml").write_text(LM_SPACE, encoding="utf-8")
    (root / "seqgan.toml").write_text(SEQGAN_SPACE, encoding="utf-8")
    (root / "oracle.toml").write_text(ORACLE_PRESET.format(bundle=bundle), encoding="utf-8")
    out = tmp_path / "cmp"
    run = tge("compare", "--preset", root / "oracle.toml", "--out", out, "--no-progress", *tiny_recipe_args())
    assert run.code == 0, run.err
    report = json.loads((out / "report.json").read_text())
    *models, real = report["runs"]
    for r in models:
        assert {"nll-oracle", "nll-test", "nll-train", "fd"} <= set(r["retrain"]["metrics"]), r["model"]
        assert r["retrain"]["metrics"]["nll-test"]["mean"] < 15  # finite, per token
    # the real-data row is held-out oracle text: its nll-oracle is the oracle's entropy rate estimate
    from textgen_eval.data.bundle_meta import read_meta

    entropy = read_meta(bundle).oracle.entropy_rate  # type: ignore[union-attr]
    assert real["retrain"]["metrics"]["nll-oracle"]["mean"] == pytest.approx(entropy, abs=0.3)
    assert "nll-test" not in real["retrain"]["metrics"]  # no model, no held-out likelihood
    assert "| nll-test ↓ |" in (out / "report.md").read_text()


def test_an_interrupted_or_unfinished_model_points_to_compare_resume(
    tiny_bundle: Path, preset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model's tuning stops inside a comparison: the message names `tge compare --resume OUT`
    (which continues every model), not that model's `tge tune --resume`."""
    from textgen_eval.core.errors import TrainingInterrupted
    from textgen_eval.pipelines import compare as pipeline
    from textgen_eval.tuning.coordinator import TuneOptions

    out = tmp_path / "cmp"
    spec = pipeline.build_compare_spec(load_preset(str(preset)), str(tiny_bundle), name="cmp", seed=0)
    seen: list[str] = []

    def stopped(tune_spec, model_dir, *, storage, options, notify):  # what _coordinate raises on Ctrl-C
        seen.append(options.resume_hint(model_dir))
        raise TrainingInterrupted(f"interrupted; continue with `{options.resume_hint(model_dir)}`")

    monkeypatch.setattr(pipeline.tuning, "start", stopped)
    with pytest.raises(TrainingInterrupted, match=f"`tge compare --resume {out}`"):
        pipeline.run(out, spec, storage=None, options=TuneOptions(progress=False), notify=lambda m: None)
    assert seen == [f"tge compare --resume {out}"]
    assert TuneOptions().resume_hint(out) == f"tge tune --resume {out}"  # a lone tuning run


def test_the_small_preset_builds_and_stays_small(tiny_bundle: Path) -> None:
    """`--preset small` (issue 35, item 6): three models, budget 2, 2 seeds, no reverse LM, and
    at least as many samples as FD's encoder has dimensions (512)."""
    from textgen_eval.pipelines.compare import build_compare_spec

    small = load_preset("small")
    assert [p.model for p in small.models] == ["lstm-lm", "transformer-lm", "seqgan-reinforce"]
    assert (small.budget, small.retrain) == (2, 2) and "reverse-lm-score" not in small.metrics
    assert small.samples is not None and small.samples >= 512
    spec = build_compare_spec(small, str(tiny_bundle), name="small", seed=0)
    for tune in spec.specs:
        for params, seed in tune.search_slots():
            overrides = tune.trial_overrides(params, seed=seed)
            assert overrides.get("runner.max_epochs", overrides.get("gan.pretrain_epochs")) == "1"
