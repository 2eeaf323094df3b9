"""`tge plot`: the training curves of runs of every model family, overlaid, to PNG, PDF and SVG;
only the series asked for; exit 2 naming what is wrong (issue 33, item 4)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.cli.test_image_cli import TINY as IMAGE_TINY
from tests.cli.test_image_cli import gray_bundle  # noqa: F401  (a fixture)
from tests.cli.test_oracle_cli import GAN_TINY, TINY, _sets, make_tiny_oracle
from textgen_eval.pipelines.curves import read_curves, select_series, smooth, wants_log_scale

#: one model of every text family (LM, transformer, VAE, WGAN-GP, policy-gradient GAN, relaxed GAN)
TEXT_FAMILIES = ("lstm-lm", "transformer-lm", "lstm-vae", "wgan-conv-lstm", "seqgan-rollout", "relgan")


@pytest.fixture(scope="module")
def oracle_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_oracle(tmp_path_factory.mktemp("oracles") / "tiny-oracle")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, oracle_bundle: Path, gray_bundle: Path) -> dict[str, Path]:  # noqa: F811  (gray_bundle)
    from textgen_eval.cli.main import main

    root = tmp_path_factory.mktemp("plot-runs")
    out: dict[str, Path] = {}
    for name in TEXT_FAMILIES:
        out[name] = root / name
        args = ["train", name, "--data", str(oracle_bundle), "--out", str(out[name]), "--no-progress"]
        assert main([*args, *_sets([*TINY.get(name, GAN_TINY), "runner.log_every=2"])]) == 0, name
    out["vae"] = root / "vae"
    assert main(["train", "vae", "--data", str(gray_bundle), "--out", str(out["vae"]), "--no-progress",
                 "--max-steps", "4", *_sets([*IMAGE_TINY[:2], "train.binarize=dynamic"])]) == 0  # fmt: skip
    return out


def test_every_family_plots_every_series_it_logs_in_each_format(
    tge, runs: dict[str, Path], tmp_path: Path
) -> None:
    for name, run in runs.items():
        curves = read_curves(run)
        logged = {
            (r.get("stage"), r.get("optimizer") if r["event"] == "train" else None, k)
            for r in map(json.loads, (run / "log.jsonl").read_text().splitlines())
            if r["event"] in ("train", "valid", "oracle")
            for k, v in r.items()
            if isinstance(v, float) and k not in ("time", "temperature")
        }
        assert {(s.stage, s.optimizer, s.key) for s in curves.series} == logged, name
        for fmt, magic in (("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")):
            target = tmp_path / f"{name}.{fmt}"
            result = tge("plot", run, "--output", target)
            assert result.code == 0, result.err
            assert target.read_bytes().startswith(magic), (name, fmt)
            assert f"{len(curves.series)} series of 1 run" in result.err


def test_gan_curves_hold_the_quantities_researchers_watch(runs: dict[str, Path]) -> None:
    names = read_curves(runs["wgan-conv-lstm"]).names()
    assert any(n.endswith("critic/wdist") for n in names) and any(n.endswith("critic/gp") for n in names)
    assert any(n.endswith("nll_oracle") for n in names)
    assert any("lr" in n for n in names)
    vae = {s.key for s in read_curves(runs["lstm-vae"]).series}
    assert {"kl", "kl_weight"} <= vae, vae


def test_several_runs_are_overlaid_and_only_the_asked_series_drawn(
    tge, runs: dict[str, Path], tmp_path: Path
) -> None:
    a, b = runs["seqgan-rollout"], runs["lstm-lm"]
    result = tge("plot", a, b, "--series", "nll_oracle", "-o", tmp_path / "two.svg", "--smooth", "0.5")
    assert result.code == 0, result.err
    svg = (tmp_path / "two.svg").read_text()
    assert "seqgan-rollout" in svg and "lstm-lm" in svg  # the legend names each run
    chosen = select_series([read_curves(a), read_curves(b)], ["nll_oracle"])
    assert chosen and all(n.endswith("nll_oracle") for n in chosen)
    assert f"{len(chosen)} series of 2 run(s)" in result.err
    glob = select_series([read_curves(a)], ["*gen/*"])
    assert glob and all("gen/" in n for n in glob)


def test_bad_input_exits_2_naming_it(tge, runs: dict[str, Path], tmp_path: Path) -> None:
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    for args, message in (
        ((not_a_run,), f"{not_a_run}: not a run directory"),
        ((tmp_path / "missing",), "not a directory"),
        ((runs["lstm-lm"], "--series", "nope"), "--series nope: no run logs such a series"),
        ((runs["lstm-lm"], "--output", tmp_path / "x.jpg"), ".png, .pdf or .svg"),
        ((runs["lstm-lm"], "--output", runs["lstm-lm"] / "log.jsonl"), "log.jsonl"),
    ):
        result = tge("plot", *args, *(() if "--output" in args else ("-o", tmp_path / "ok.png")))
        assert result.code == 2 and message in result.err, (args, result.err)
        assert "Traceback" not in result.err
    assert (runs["lstm-lm"] / "log.jsonl").read_text().startswith("{")  # never overwritten


def test_smoothing_is_debiased_and_keeps_gaps() -> None:
    assert smooth([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])  # no pull towards 0
    out = smooth([1.0, math.nan, 3.0], 0.5)
    assert math.isnan(out[1]) and out[2] == pytest.approx((0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25))
    assert (
        wants_log_scale([1000.0, 10.0, 1.0])
        and not wants_log_scale([5.0, 1.0])
        and not wants_log_scale([-1.0, 200.0])
    )


def test_a_log_torn_mid_write_is_read_and_a_bad_line_is_named(tmp_path: Path) -> None:
    from textgen_eval.core.errors import InputError

    run = tmp_path / "run"
    run.mkdir()
    good = json.dumps({"event": "train", "stage": "train", "step": 1, "optimizer": "main", "loss": 2.0})
    (run / "log.jsonl").write_text(good + "\n" + '{"event": "tr')
    assert [s.values for s in read_curves(run).series] == [(2.0,)]
    (run / "log.jsonl").write_text('{"event": "tr\n' + good + "\n")
    with pytest.raises(InputError, match="line 1: not JSON"):
        read_curves(run)
