"""The settings of ``benchmarks/peer_oracle_reproduction.py`` (the peers' oracle reproductions in
docs/reproductions.md): every model's resolve to a valid config with the stated budget, so a
renamed or mistyped key fails here and not an hour into a reproduction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_benchmark
from textgen_eval.pipelines.train import resolve_config


@pytest.fixture(scope="module")
def bench() -> Any:
    return load_benchmark("peer_oracle_reproduction")


def configs(bench: Any, model: str, mle: Path) -> dict[str, Any]:
    pairs = (setting.split("=", 1) for setting in bench.settings(model, 1, mle))
    return resolve_config(model, None, {key: value for key, value in pairs})


@pytest.mark.parametrize(
    "model", ["maligan", "dpgan", "rankgan", "leakgan", "relgan", "gsgan", "textgan"]
)  # fmt: skip
def test_every_models_reproduction_settings_are_a_valid_config(
    bench: Any, model: str, tmp_path: Path
) -> None:
    assert model in bench.BUDGETS and bench.BUDGETS[model][1]  # the peer's budget beside ours, stated
    cfg = configs(bench, model, tmp_path)
    assert cfg["model"].max_len == 20 and cfg["train"].batch_size == 64  # the oracle's length, SeqGAN's batch
    assert cfg["runner"].probe_every == bench.PROBES.get(model, bench.PROBE)
    assert cfg["runner"].probe_samples == bench.PROBE_SAMPLES.get(model, 9984)
    if model in bench.SELF_PRETRAINING:
        assert cfg["gan"].init_from is None and cfg["gan"].pretrain_epochs > 0
    else:  # the 120-epoch MLE generator of the same seed, and no pretraining of its own
        assert cfg["gan"].init_from == str(tmp_path / "mle-s1" / "model") and cfg["gan"].pretrain_epochs == 0


def test_relgan_runs_at_the_papers_oracle_setting(bench: Any, tmp_path: Path) -> None:
    """RG#22: the table's 6.680 used β_max = 1 under ``exp`` at length 20 (β ≡ 1), with the
    script's relational memory (1 slot, 2 heads of 256) and 1 G + 5 D steps at Adam 1e-4."""
    cfg = configs(bench, "relgan", tmp_path)
    assert (cfg["relgan"].beta_max, cfg["relgan"].schedule, cfg["relgan"].loss) == (1.0, "exp", "rsgan")
    assert (cfg["model"].core, cfg["model"].mem_slots, cfg["model"].num_heads, cfg["model"].head_size) == (
        "rmc", 1, 2, 256,
    )  # fmt: skip
    assert cfg["model"].emb_dim == 32 and cfg["discriminator"].num_filters == (300, 300, 300, 300)
    assert (cfg["train"].g_lr, cfg["train"].d_lr, cfg["gan"].d_steps) == (1e-4, 1e-4, 5)


def test_the_peers_own_evaluations_are_scored_beside_temperature_1(bench: Any) -> None:
    """LeakGAN's log samples from ×1.5 logits; Texygen's TextGAN decodes greedily (PEERS.md §3.3)."""
    assert bench.temperatures("leakgan") == (1.0, 1 / 1.5)
    assert bench.temperatures("textgan") == (1.0, 0.0)
    assert bench.temperatures("relgan") == bench.temperatures("gsgan") == (1.0,)
