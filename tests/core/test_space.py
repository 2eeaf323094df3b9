"""Search spaces: seeded drawing, conditions, file overrides, errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.space import SearchSpace, choice, integer, loguniform, parse_param, uniform
from textgen_eval.generators.registry import generator_class

SPACE = SearchSpace(
    {
        "train.lr": loguniform(1e-4, 1e-2),
        "model.hidden_size": integer(16, 512, log=True),
        "train.batch_size": integer(16, 128, step=16),
        "switch": choice(False, True),
        "model.recurrent_dropout": uniform(0.0, 0.5, when={"switch": True}),
        "model.recurrent_dropout_kind": choice("gal", "moon", when={"switch": True}),
    },
    fixed={"runner.max_epochs": 2},
)


def test_draws_respect_bounds_types_and_conditions() -> None:
    configs = SPACE.draw(300, seed=1)
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == 300
    for config in configs:
        assert 1e-4 <= config["train.lr"] <= 1e-2
        assert isinstance(config["model.hidden_size"], int) and 16 <= config["model.hidden_size"] <= 512
        assert config["train.batch_size"] in range(16, 129, 16)
        conditional = {"model.recurrent_dropout", "model.recurrent_dropout_kind"}
        if config["switch"]:
            assert conditional <= set(config)
        else:
            assert not conditional & set(config)
    switches = [c["switch"] for c in configs]
    assert 100 < sum(switches) < 200
    # log-uniform: about as many draws per decade of the learning rate
    decades = np.histogram(np.log10([c["train.lr"] for c in configs]), bins=[-4, -3, -2])[0]
    assert abs(decades[0] - decades[1]) < 60


def test_same_seed_same_configurations_in_a_new_process() -> None:
    code = (
        "import json\n"
        "from textgen_eval.generators.registry import generator_class\n"
        "print(json.dumps(generator_class('lstm-lm').search_space.draw(20, seed=7)))\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    here = generator_class("lstm-lm").search_space.draw(20, seed=7)
    assert json.loads(runs[0]) == here
    assert here != generator_class("lstm-lm").search_space.draw(20, seed=8)


def test_overrides_for_drops_switches_and_adds_fixed() -> None:
    config = {"train.lr": 0.001, "switch": True, "model.recurrent_dropout": 0.2}
    assert SPACE.overrides_for(config) == {
        "runner.max_epochs": 2,
        "train.lr": 0.001,
        "model.recurrent_dropout": 0.2,
    }


def test_round_trip_through_a_dict() -> None:
    assert SearchSpace.from_dict(SPACE.to_dict()) == SPACE
    assert SPACE.digest() == SearchSpace.from_dict(json.loads(json.dumps(SPACE.to_dict()))).digest()


def test_file_updates_replace_and_fix() -> None:
    updated = SPACE.merged(
        {"space": {"train.lr": {"uniform": [0.1, 0.2]}}, "fixed": {"model.hidden_size": 64}}, where="f.toml"
    )
    assert updated.params["train.lr"] == uniform(0.1, 0.2)
    assert "model.hidden_size" not in updated.params and updated.fixed["model.hidden_size"] == 64
    replaced = SPACE.merged({"replace": True, "space": {"train.lr": {"loguniform": [1e-3, 1e-1]}}}, where="f")
    assert list(replaced.params) == ["train.lr"] and replaced.fixed == {}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"uniform": [1, 0]}, "low ≤ high"),
        ({"loguniform": [0, 1]}, "log-scale range needs low > 0"),
        ({"int": [1.5, 3]}, "int bounds must be integers"),
        ({"choice": []}, "non-empty list"),
        ({"uniform": [0, 1], "choice": [1]}, "exactly one of"),
        ({"normal": [0, 1]}, "exactly one of"),
        ("0.1", "expected a table"),
    ],
)
def test_bad_parameter_specs_name_the_key(spec: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=r"space.toml \[space\] 'train.lr'") as err:
        parse_param(spec, where="space.toml [space] 'train.lr'")
    assert expected in str(err.value)


def test_condition_on_a_later_parameter_is_rejected() -> None:
    with pytest.raises(ConfigError, match="must be declared before"):
        SearchSpace({"a": uniform(0, 1, when={"b": True}), "b": choice(False, True)})


def test_too_small_a_space_for_the_budget_is_an_error() -> None:
    with pytest.raises(ConfigError, match="only 2 distinct configurations"):
        SearchSpace({"a": choice(1, 2)}).draw(3, seed=0)


def test_integer_log_draws_cover_the_range() -> None:
    rng = np.random.default_rng(0)
    param = integer(1, 1000, log=True)
    values = [param.draw(rng) for _ in range(4000)]
    assert min(values) == 1 and max(values) >= 900
    assert math.isclose(np.mean(np.log(values)), np.log(1001) / 2, rel_tol=0.1)


def test_the_shipped_thesis_space_builds_every_drawn_configuration() -> None:
    from tests.conftest import ROOT
    from textgen_eval.pipelines.tune import build_spec

    spec = build_spec(
        "lstm-lm",
        "coco",
        name="thesis",
        budget=100,
        retrain=7,
        objective="fd",
        metrics=None,
        space_path=ROOT / "examples" / "spaces" / "lstm-lm-thesis.toml",
        overrides={},
        trial_options={},
        seed=0,
        trial_timeout=None,
    )
    space = spec.search_space()
    assert space.fixed["runner.max_epochs"] == 50 and "model.layer_norm" in space.params
    assert len(spec.search_slots()) == 100 and spec.direction == "lower"
    assert spec.trial_kind == "text"
    assert spec.trial_options == {"samples": 1000, "max_len": 50, "lm_recipe": {}}


SHIPPED = ["lstm-vae", "hybrid-vae", "wgan-conv-deconv", "wgan-conv-lstm", "seqgan-reinforce", "seqgan-step",
           "seqgan-rollout", "leakgan-leak", "leakgan-noleak", "leakgan-mixed"]  # fmt: skip


@pytest.mark.parametrize("model", SHIPPED)
def test_the_shipped_model_spaces_build_every_drawn_configuration(model: str) -> None:
    from tests.conftest import ROOT
    from textgen_eval.pipelines.tune import build_spec

    file = "leakgan" if model.startswith("leakgan") else model
    for space_path in (None, ROOT / "examples" / "spaces" / f"{file}-thesis.toml"):
        spec = build_spec(
            model, "coco", name="v", budget=40, retrain=2, objective="fd", metrics=None,
            space_path=space_path, overrides={}, trial_options={}, seed=0, trial_timeout=None,
        )  # fmt: skip
        assert len(spec.search_slots()) == 40


@pytest.mark.parametrize(
    "model", ["maligan", "dpgan", "rankgan", "leakgan", "cot", "jsdgan", "relgan", "gsgan", "textgan"]
)
def test_the_peer_model_spaces_build_every_drawn_configuration(model: str) -> None:
    """The CPU default and the peer-scale space (examples/spaces/MODEL-peers.toml, one per peer
    model, issues 30 and 31), each stating the peers' settings it keeps and changes."""
    from tests.conftest import ROOT
    from textgen_eval.pipelines.train import resolve_config
    from textgen_eval.pipelines.tune import build_spec

    peers = ROOT / "examples" / "spaces" / f"{model}-peers.toml"
    assert peers.is_file(), f"{model} ships no peer-scale space"
    header = peers.read_text(encoding="utf-8").split("replace = true")[0]
    assert "PEERS.md" in header and "Kept" in header and "hang" in header  # sources; Changed/changing
    for space_path in (None, peers):
        spec = build_spec(
            model, "seqgan-oracle", name="v", budget=40, retrain=2, objective="fd", metrics=None,
            space_path=space_path, overrides={}, trial_options={}, seed=0, trial_timeout=None,
        )  # fmt: skip
        slots = spec.search_slots()
        assert len(slots) == 40
        for params, seed in slots:  # every drawn trial's settings make a valid config
            resolve_config(model, None, spec.trial_overrides(params, seed=seed))
    disc = resolve_config(model, None, spec.trial_overrides(slots[0][0], seed=0)).get("discriminator")
    if model == "rankgan":
        assert disc.num_filters == (200, 200, 200)
    if model == "leakgan":  # the code's 1,720-d leaked feature
        assert sum(disc.num_filters) == 1720 and len(disc.filter_sizes) == 12


@pytest.mark.parametrize("model", ["vae", "ladder-vae"])
def test_the_image_model_spaces_build_every_drawn_configuration(model: str) -> None:
    """The CPU default and the paper-scale space: 60 draws each, every one a valid config
    (share_topdown only with the ladder, recollect without batch norm allowed)."""
    from tests.conftest import ROOT
    from textgen_eval.pipelines.tune import build_spec

    for space_path in (None, ROOT / "examples" / "spaces" / f"{model}-paper.toml"):
        spec = build_spec(
            model, "mnist-binarized", name="v", budget=60, retrain=2, objective=None, metrics=None,
            space_path=space_path, overrides={}, trial_options={}, seed=0, trial_timeout=None,
        )  # fmt: skip
        assert spec.objective == "nll-iw-100" and spec.trial_kind == "image"
        drawn = [params for params, _ in spec.search_slots()]
        assert len(drawn) == 60
        if model == "ladder-vae":
            assert {p["model.kind"] for p in drawn} == {"vae", "ladder"}
            assert all(("model.share_topdown" in p) == (p["model.kind"] == "ladder") for p in drawn)


def test_the_compound_vae_space_builds_every_drawn_configuration() -> None:
    from textgen_eval.pipelines.tune import build_spec

    spec = build_spec(
        "compound-vae", "mnist-binarized", name="v", budget=40, retrain=2, objective=None, metrics=None,
        space_path=None, overrides={}, trial_options={}, seed=0, trial_timeout=None,
    )  # fmt: skip
    assert spec.objective == "nll-iw-100"
    drawn = [params for params, _ in spec.search_slots()]
    assert {p["model.encoder"] for p in drawn} == {"vanilla", "bnn", "dbnn"}


def test_the_weight_vae_space_builds_every_drawn_configuration() -> None:
    from textgen_eval.pipelines.tune import build_spec

    spec = build_spec(
        "weight-vae", "mnist", name="v", budget=20, retrain=2, objective=None, metrics=None,
        space_path=None, overrides={}, trial_options={}, seed=0, trial_timeout=None,
    )  # fmt: skip
    assert spec.objective == "accuracy-drop" and spec.direction == "lower"
    assert len(spec.search_slots()) == 20


def test_the_bnn_space_builds_every_drawn_configuration() -> None:
    from textgen_eval.pipelines.tune import build_spec

    spec = build_spec(
        "bnn", "mnist", name="v", budget=40, retrain=2, objective=None, metrics=None, space_path=None,
        overrides={}, trial_options={}, seed=0, trial_timeout=None,
    )  # fmt: skip
    assert spec.objective == "nll-pred" and spec.direction == "lower"
    drawn = [params for params, _ in spec.search_slots()]
    assert {p["model.inference"] for p in drawn} == {"map", "bbb", "sghmc"}
    assert all(("sampler.lr" in p) == (p["model.inference"] == "sghmc") for p in drawn)


def test_the_transformer_spaces_build_every_drawn_configuration() -> None:
    """The CPU default (and its written-out TOML, which must equal it), the GPU space on COCO and
    the oracle preset's space on SeqGAN's oracle: 40 draws each, every one a valid config."""
    from tests.conftest import ROOT
    from textgen_eval.generators.transformer_lm.space import SEARCH_SPACE
    from textgen_eval.pipelines.compare_presets import ORACLE
    from textgen_eval.pipelines.train import resolve_config
    from textgen_eval.pipelines.tune import build_spec

    spaces = ROOT / "examples" / "spaces"
    written = build_spec(
        "transformer-lm", "coco", name="v", budget=40, retrain=2, objective="fd", metrics=None,
        space_path=spaces / "transformer-lm-cpu.toml", overrides={}, trial_options={}, seed=0,
        trial_timeout=None,
    )  # fmt: skip
    assert written.space == SEARCH_SPACE.to_dict()
    oracle = ORACLE["model"]["transformer-lm"]["space"]  # type: ignore[index]
    for data, space_path in (
        ("coco", None),
        ("coco", spaces / "transformer-lm-gpu.toml"),
        ("seqgan-oracle", oracle),
    ):
        spec = build_spec(
            "transformer-lm", data, name="v", budget=40, retrain=2, objective="fd", metrics=None,
            space_path=space_path, overrides={}, trial_options={}, seed=0, trial_timeout=None,
        )  # fmt: skip
        slots = spec.search_slots()
        assert len(slots) == 40
        for params, seed in slots:
            cfg = resolve_config("transformer-lm", None, spec.trial_overrides(params, seed=seed))["model"]
            if data == "seqgan-oracle":
                assert (cfg.n_embd, cfg.context) == (32, 21)
