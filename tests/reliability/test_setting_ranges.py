"""Settings are checked before anything is written (issue 34, item 2): runner values that were
silently accepted, and config files whose meaning is ambiguous (a JSON key given twice: the last
won) or unreadable (not UTF-8), are refused with exit 2 naming the setting or file."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("setting", "message"),
    [("runner.lr_decay_start=-1", "lr_decay_start must be ≥ 0"), ("runner.min_lr=-0.1", "min_lr must be"),
     ("runner.min_lr=nan", "min_lr: 'nan' is not a finite number"),
     ("runner.plateau_patience=-2", "plateau_patience must be ≥ 0")],
)  # fmt: skip
def test_runner_values_out_of_range_are_refused_before_writing(
    tge, tiny_bundle: Path, tmp_path: Path, setting: str, message: str
) -> None:
    out = tmp_path / "run"
    run = tge("train", "lstm-lm", "--data", tiny_bundle, "--out", out, "--set", setting, "--no-progress")
    assert run.code == 2 and message in run.err and "Traceback" not in run.err
    assert not out.exists()


def test_a_json_config_with_a_key_given_twice_is_refused(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text('{"train": {"lr": 0.1, "lr": 0.001}}')
    run = tge("train", "lstm-lm", "--data", tiny_bundle, "--config", config, "--out", tmp_path / "r")
    assert run.code == 2 and "'lr' is given twice" in run.err and str(config) in run.err
    assert not (tmp_path / "r").exists()


def test_a_config_file_that_is_not_utf8_is_refused(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_bytes(b"[train]\nlr = 0.1 # \xff\xfe\n")
    run = tge("train", "lstm-lm", "--data", tiny_bundle, "--config", config, "--out", tmp_path / "r")
    assert run.code == 2 and "not UTF-8" in run.err and str(config) in run.err and "Traceback" not in run.err


@pytest.mark.parametrize(
    ("model", "setting", "message"),
    [("lstm-lm", "train.weight_decay=-0.1", "weight_decay must be a finite number ≥ 0"),
     ("lstm-lm", "train.momentum=-1", "momentum must be a finite number ≥ 0"),
     ("lstm-lm", "train.momentum=1.5", "momentum must be < 1"),
     ("compound-vae", "model.var_eps=0", "var_eps must be a finite number > 0"),
     ("compound-vae", "model.log_sigma1=800", "log_sigma1 must be a finite number in [-30, 30]")],
)  # fmt: skip
def test_optimizer_and_prior_values_are_checked_with_the_config(
    model: str, setting: str, message: str
) -> None:
    """Refused when the config is built (before any output), not when torch builds the optimizer
    or exp() overflows mid-training."""
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.pipelines.train import resolve_config

    key, value = setting.split("=")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        resolve_config(model, None, {key: value})


def test_a_malformed_list_literal_in_set_is_refused(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    bad = "discriminator.num_filters=[4,4"
    run = tge("train", "rankgan", "--data", tiny_bundle, "--out", out, "--set", bad, "--no-progress")
    assert run.code == 2 and "num_filters" in run.err and "not a list literal" in run.err
    assert "internal error" not in run.err and not out.exists()


@pytest.mark.parametrize("bound", ["inf", "nan", "-inf"])
def test_a_search_space_bound_that_is_not_finite_is_refused(
    tge, tiny_bundle: Path, tmp_path: Path, bound: str
) -> None:
    space = tmp_path / "s.toml"
    low, high = ("1e-4", bound) if bound != "-inf" else (bound, "1e-2")
    space.write_text(f'[space]\n"train.lr" = {{ uniform = [{low}, {high}] }}\n')
    out = tmp_path / "tune"
    run = tge("tune", "lstm-lm", "--data", tiny_bundle, "--space", space, "--budget", "2", "--out", out)
    assert run.code == 2 and "'train.lr'" in run.err and str(space) in run.err
    assert "internal error" not in run.err and not out.exists()


@pytest.mark.parametrize(("option", "value"), [("--budget", "1000000000000"), ("--retrain", "100000000")])
def test_counts_without_a_natural_bound_are_refused_above_the_stated_limit(
    tge, tiny_bundle: Path, tmp_path: Path, option: str, value: str
) -> None:
    """Before any work: a budget of 10¹² grew memory at ~46 MB/s while drawing configurations."""
    for command in (["tune", "lstm-lm"], ["compare", "--preset", "cpu"]):
        out = tmp_path / command[0]
        run = tge(*command, "--data", tiny_bundle, option, value, "--out", out, "--no-progress")
        assert run.code == 2 and option in run.err and "not in the range" in run.err, run.err
        assert not out.exists()


def test_a_preset_or_spec_above_the_limits_is_refused(tmp_path: Path) -> None:
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.core.limits import MAX_BUDGET
    from textgen_eval.pipelines.compare_presets import parse_preset
    from textgen_eval.tuning.spec import TuneSpec

    with pytest.raises(ConfigError, match="budget = 100001 is above the limit"):
        parse_preset({"budget": MAX_BUDGET + 1, "retrain": 1, "models": ["lstm-lm"]}, name="p", base=tmp_path)
    with pytest.raises(ConfigError, match="retrain must be an integer"):
        TuneSpec(name="x", model="lstm-lm", data="coco", data_digest="d", retrain=0)


@pytest.mark.parametrize(
    ("model", "setting", "message"),
    [("lstm-lm", "model.max_vocab=-1", "config [model]: max_vocab must be ≥ 1 (or unset: no limit), got -1"),
     ("transformer-lm", "model.max_vocab=0", "config [model]: max_vocab must be ≥ 1"),
     ("lstm-vae", "model.min_freq=100000", "at least model.min_freq = 100000 times"),
     ("lstm-lm", "model.min_freq=100000", "lower model.min_freq")],
)  # fmt: skip
def test_vocabulary_settings_are_named_in_their_refusal(
    tge, tiny_bundle: Path, tmp_path: Path, model: str, setting: str, message: str
) -> None:
    """Issue 34, item 6: the vocabulary's limits are refused in the user's terms (not an internal
    ``max_size``), naming the setting and its value, before anything is written."""
    out = tmp_path / "run"
    run = tge("train", model, "--data", tiny_bundle, "--out", out, "--set", setting, "--no-progress")
    assert run.code == 2 and message in run.err and "Traceback" not in run.err, run.err
    assert not out.exists()


def test_a_split_that_is_a_directory_or_a_symlink_loop_is_named_as_such(tge, tmp_path: Path) -> None:
    """Issue 34, item 6: docs/reliability.md §6 — a train.txt that is a directory or a symlink loop
    is not "missing"."""
    from tests.conftest import coco_lines

    for kind in ("directory", "loop", "missing"):
        bundle = tmp_path / kind
        bundle.mkdir()
        (bundle / "test.txt").write_text("\n".join(coco_lines("test")[:20]) + "\n")
        if kind == "directory":
            (bundle / "train.txt").mkdir()
        elif kind == "loop":
            (bundle / "train.txt").symlink_to(bundle / "train.txt")
        run = tge("train", "lstm-lm", "--data", bundle, "--out", tmp_path / f"out-{kind}", "--no-progress")
        expected = {"directory": "is a directory", "loop": "is a symlink loop", "missing": "is missing"}[kind]
        assert run.code == 2 and f"train split {bundle / 'train.txt'} {expected}" in run.err, run.err


def test_meta_eval_labels_that_mean_nothing_are_refused_before_anything_is_written(
    tge, tiny_bundle: Path, tmp_path: Path
) -> None:
    """Issue 34, item 5: a --labels file with one topic (topic removal would remove nothing and
    every metric would look blind to it) or an empty line (silently a topic named '')."""
    n = len((tiny_bundle / "test.txt").read_text().splitlines())
    one = tmp_path / "one.txt"
    one.write_text("sports\n" * n)
    holes = tmp_path / "holes.txt"
    holes.write_text("".join("sports\n" if i != 5 else "\n" for i in range(n)))
    for labels, message in ((one, "one topic ('sports')"), (holes, "line 6: empty")):
        out = tmp_path / f"out-{labels.stem}"
        run = tge("meta-eval", "--bundle", tiny_bundle, "--labels", labels, "--out", out, "--no-progress")
        assert run.code == 2 and message in run.err and str(labels) in run.err, run.err
        assert not out.exists()


@pytest.mark.parametrize(
    ("model", "setting", "message"),
    [("lstm-lm", "model.hidden_size=1000000000", "overflows 64 bits); reduce the sizes (model.hidden_size"),
     ("lstm-lm", "model.hidden_size=200000", "set by model.hidden_size = 200,000"),
     ("transformer-lm", "model.n_embd=400000", "set by model.n_embd = 400,000"),
     ("seqgan-rollout", "model.hidden_size=300000", "the largest tensor is gen.rnn.lstm.weight_hh_l0"),
     ("seqgan-rollout", "gan.rollouts=1000000000", "gan.rollouts = 1,000,000,000, train.batch_size = 64"),
     ("rankgan", "gan.rollouts=100000000", "rollouts (64 samples × "),
     ("leakgan", "gan.rollouts=1000000000", "lower gan.rollouts = 1,000,000,000"),
     ("lstm-vae", "vae.iw_samples=1000000000", "lower vae.iw_samples = 1,000,000,000"),
     ("hybrid-vae", "vae.iw_samples=100000000", "NLL (64 sentences × 100,000,000 samples)")],
)  # fmt: skip
def test_a_model_the_machine_cannot_hold_is_refused_with_its_size_before_anything_is_written(
    tge, tiny_bundle: Path, tmp_path: Path, model: str, setting: str, message: str
) -> None:
    """Issue 34, item 2: sizes of 10⁵–10⁹ were found by the allocator (an internal error, exit 1);
    now the network is built on the meta device first and refused naming the estimate and the
    setting. Per-batch counts too: a bad ``gan.rollouts`` left a run directory with a checkpoint,
    and ``vae.iw_samples = 10⁹`` trained fine and broke ``tge evaluate`` later."""
    out = tmp_path / "run"
    run = tge("train", model, "--data", tiny_bundle, "--out", out, "--set", setting, "--no-progress")
    assert run.code == 2 and message in run.err and "Traceback" not in run.err, run.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("model", "data", "setting", "message"),
    [("vae", "mnist-binarized", "model.hidden=3000000", "set by model.hidden = (3,000,000)"),
     ("ladder-vae", "mnist-binarized", "model.hidden=[3000000,256,128,64,32]", "(3,000,000, 256"),
     ("compound-vae", "mnist-binarized", "model.hidden=3000000", "set by model.hidden = 3,000,000"),
     ("bnn", "mnist", "model.hidden=[3000000000]", "set by model.hidden = (3,000,000,000)"),
     ("weight-vae", "mnist", "model.chunk=1000000000", "set by model.chunk = 1,000,000,000")],
)  # fmt: skip
def test_an_image_model_the_machine_cannot_hold_is_refused_naming_the_setting(
    tge, tmp_path: Path, model: str, data: str, setting: str, message: str
) -> None:
    """Issue 34, item 2: image models were refused only by the allocator ("out of memory", no
    setting named); their networks are now built on the meta device for the data's image shape."""
    out = tmp_path / "run"
    run = tge("train", model, "--data", data, "--out", out, "--set", setting, "--no-progress")
    assert run.code == 2 and message in run.err and "GiB" in run.err and "Traceback" not in run.err, run.err
    assert not out.exists()


@pytest.mark.parametrize(
    "command",
    [["train", "lstm-lm", "--data", "{bundle}", "--max-steps", "1", "--no-progress", "--out"],
     ["tune", "lstm-lm", "--data", "{bundle}", "--budget", "1", "--retrain", "1", "--out"],
     ["compare", "lstm-lm", "--data", "{bundle}", "--out"],
     ["meta-eval", "--bundle", "{bundle}", "--out"],
     ["bundle", "--train", "{bundle}/train.txt", "--test", "{bundle}/test.txt"]],
)  # fmt: skip
def test_an_output_directory_below_a_regular_file_is_refused_by_name(
    tge, tiny_bundle: Path, tmp_path: Path, command: list[str]
) -> None:
    """Issue 34, item 5: `--out` (or a bundle's OUT) below a regular file was NotADirectoryError,
    an internal error, after the inputs had been read."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    target = blocker / "sub"
    args = [a.replace("{bundle}", str(tiny_bundle)) for a in command]
    run = tge(*args, target) if command[0] != "bundle" else tge("bundle", target, *args[1:])
    assert run.code == 2, run.err
    assert f"{target}: cannot be a directory (inside {blocker}, which is a file)" in run.err
    assert blocker.read_text() == "x"


@pytest.mark.parametrize(
    "error",
    [RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: you tried "
                  "to allocate 512000000000 bytes. Error code 12"),
     MemoryError()],
)  # fmt: skip
def test_an_allocation_failure_is_exit_2_saying_what_to_lower(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, error: BaseException
) -> None:
    """Issue 34, item 2: a per-batch size the machine cannot hold (gan.rollouts = 10⁹ asked torch
    for 512 GB) ended as "internal error … this is a bug"; an allocation failure is the settings'
    doing: exit 2, saying which kind of setting to lower. (Simulated: a real 512 GB request is
    refused by Linux's default overcommit, but not under every setting.)"""
    import textgen_eval.pipelines.train as train_pipeline
    from textgen_eval.cli.main import main

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(train_pipeline, "train_model", fail)
    code = main(["train", "lstm-lm", "--data", "coco", "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "out of memory" in err and "gan.rollouts" in err and "internal error" not in err


def _config_classes() -> list[tuple[str, type]]:
    from textgen_eval.core.models import model_registry
    from textgen_eval.training import RunnerConfig

    out: list[tuple[str, type]] = [("runner", RunnerConfig)]
    for entry in model_registry.entries():
        for section, cls in entry.load().config_sections.items():
            if all(cls is not c for _, c in out):
                out.append((section, cls))
    return out


def test_every_integer_setting_of_every_registered_model_has_a_range_the_config_enforces() -> None:
    """Issue 34, item 2: walk the config dataclasses of every registered model (and [runner]); an
    integer field that accepts −1 has no declared range. Seventeen did before this test (vocabulary
    limits, the hybrid VAE's head sizes, the conv VAE's widths, runner.seed)."""
    import dataclasses
    import typing

    accepted = []
    for section, cls in _config_classes():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            kind = hints[field.name]
            args = typing.get_args(kind)
            if kind is int or (int in args and bool not in args and type(None) in args):
                try:
                    cls(**{field.name: -1})
                except (ValueError, TypeError):
                    continue
                accepted.append(f"{section}.{field.name} ({cls.__name__})")
    assert accepted == [], accepted


#: Float settings that are meaningful at any finite value, each with why (a declared range too).
SIGNED_FLOATS = {
    "rho_init": "σ = softplus(ρ): ρ is an unconstrained log-space parameter (ρ = −5 is σ ≈ 0.0067)",
}


def test_every_float_setting_of_every_registered_model_is_finite_and_bounded_below() -> None:
    """Issue 34, item 2, the float half of the walker: every float field refuses NaN and ±∞ (40 took
    them when a config was built in code — ``--set`` refused them only while parsing), and one that
    accepts −10³⁰ is listed in :data:`SIGNED_FLOATS` with its reason (the residual scales of the WGAN
    generator and critic took any negative number)."""
    import dataclasses
    import math
    import typing

    accepted = []
    for section, cls in _config_classes():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            args = typing.get_args(hints[field.name])
            if not (hints[field.name] is float or (float in args and type(None) in args)):
                continue
            values = [math.nan, math.inf, -math.inf] + ([] if field.name in SIGNED_FLOATS else [-1e30])
            for value in values:
                try:
                    cls(**{field.name: value})
                except (ValueError, TypeError):
                    continue
                accepted.append(f"{section}.{field.name} = {value} ({cls.__name__})")
    assert accepted == [], accepted


@pytest.mark.parametrize(
    ("setting", "message"),
    [("model.hidden_size=1000000000", "reduce the sizes (model.hidden_size = 1,000,000,000)"),
     ("model.hidden_size=200000", "set by model.hidden_size = 200,000")],
)  # fmt: skip
def test_a_reference_lm_recipe_the_machine_cannot_hold_is_refused_before_it_trains(
    tge, tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, message: str
) -> None:
    """Issue 34, item 2: ``--lm-recipe-set`` sizes of 10⁹ were found by the allocator after the
    "training the reference LM" note; now the recipe's LM is built on the meta device first."""
    samples = tmp_path / "s.txt"
    samples.write_text("a man rides a horse\n", encoding="utf-8")
    cache = tmp_path / "cache"
    monkeypatch.setenv("TGE_CACHE_DIR", str(cache))
    run = tge("evaluate", samples, "--bundle", tiny_bundle, "-m", "lm-score", "--lm-recipe-set", setting)
    assert run.code == 2 and "the reference LM (--lm-recipe-set)" in run.err and message in run.err, run.err
    assert "training the reference LM" not in run.err
    assert [p.name for p in (cache / "reference-lm").iterdir() if not p.name.endswith(".lock")] == []
