"""The degraded oracles of `tge meta-eval --oracle`: each is a distribution whose exact density is
checked by enumeration (it sums to 1 over every sequence of a tiny format) and against its own
sampler (χ² of the sampled frequencies), and the tempered oracle's NLL against a numpy reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from tests.data.test_oracle import numpy_token_nll
from textgen_eval.core.errors import ConfigError
from textgen_eval.data.oracle import LSTMOracle, random_params
from textgen_eval.data.oracle_variants import (
    COLLAPSE_SET,
    DEFAULT_LEVELS,
    ORACLE_VARIANTS,
    memorised_set,
    mixture_nll,
    oracle_variant,
    variant_nll_test,
)

TINY = random_params(4, vocab_size=3, emb_dim=2, hidden_size=2)
SEQS = np.array(list(itertools.product(range(3), repeat=2)))  # all 9 sequences of length 2


@pytest.fixture(scope="module")
def tiny() -> LSTMOracle:
    return LSTMOracle(TINY, dtype=torch.float64)


CASES = [("tempered", 0.5), ("tempered", 1.7), ("noise", 0.3), ("noise", 1.0), ("collapse", 0.6)]


@pytest.mark.parametrize(("name", "level"), CASES)
def test_each_degraded_oracle_is_a_normalised_distribution(tiny: LSTMOracle, name: str, level: float) -> None:
    p = np.exp(-ORACLE_VARIANTS[name].sequence_nll(tiny, level, SEQS, 0))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(("name", "level"), CASES)
def test_each_sampler_draws_its_density(tiny: LSTMOracle, name: str, level: float) -> None:
    """χ² of 60,000 draws against the exact probabilities of the 9 sequences (8 degrees of
    freedom; 26.1 is p = 0.001). Sequences of zero probability must never be drawn."""
    variant = ORACLE_VARIANTS[name]
    p = np.exp(-variant.sequence_nll(tiny, level, SEQS, 0))
    draws = variant.sample(tiny, level, 60_000, 2, 0)
    counts = np.bincount(draws[:, 0] * 3 + draws[:, 1], minlength=9)
    assert counts[p == 0].sum() == 0
    seen = p > 0
    expected = p[seen] * len(draws)
    chi2 = float(((counts[seen] - expected) ** 2 / expected).sum())
    assert chi2 < 26.1, (chi2, counts, expected)


def test_collapse_at_full_strength_is_its_memorised_set(tiny: LSTMOracle) -> None:
    """With level → 1 every sample is from M, and a sequence outside M has probability (1 − m)·P."""
    memorised = memorised_set(tiny, 2, seed=3)
    assert memorised.shape == (COLLAPSE_SET, 2)
    draws = ORACLE_VARIANTS["collapse"].sample(tiny, 0.999999, 500, 2, 3)
    rows = {tuple(r) for r in memorised.tolist()}
    assert all(tuple(r) in rows for r in draws.tolist())


def test_tempered_nll_matches_a_numpy_reference() -> None:
    params = random_params(7, vocab_size=50, emb_dim=4, hidden_size=5)
    oracle = LSTMOracle(params, dtype=torch.float64)
    ids = np.random.default_rng(0).integers(0, 50, size=(40, 6))
    # numpy reference at temperature T: scale the output layer by 1/T (logits / T)
    arrays = dict(params.arrays)
    arrays["Wo"], arrays["bo"] = arrays["Wo"] / 1.6, arrays["bo"] / 1.6
    np.testing.assert_allclose(
        oracle.token_nll(ids, temperature=1.6), numpy_token_nll(arrays, ids), atol=1e-9
    )
    np.testing.assert_allclose(oracle.token_nll(ids, temperature=1.0), numpy_token_nll(dict(params.arrays), ids),
                               atol=1e-9)  # fmt: skip


def test_mixture_nll_is_the_negative_log_of_the_weighted_sum() -> None:
    log_w = np.log(np.array([0.25, 0.75]))
    with np.errstate(divide="ignore"):
        log_p = np.log(np.array([[0.1, 0.0], [0.2, 0.4]]))  # a component that cannot produce x: −∞
    np.testing.assert_allclose(mixture_nll(log_w, log_p), -np.log([0.25 * 0.1 + 0.75 * 0.2, 0.75 * 0.4]))


def test_noise_nll_test_rises_with_the_level_and_ends_at_log_v(tiny: LSTMOracle) -> None:
    held_out = tiny.sample(2000, 2, seed=9)
    values = [variant_nll_test(tiny, "noise", p, held_out, 0) for p in (0.0, 0.25, 0.5, 1.0)]
    assert values == sorted(values) and values[-1] == pytest.approx(math.log(3))


def test_levels_outside_a_family_range_are_refused(tiny: LSTMOracle) -> None:
    for name, level in (("tempered", 0.0), ("noise", 1.5), ("collapse", 1.0), ("collapse", -0.1)):
        with pytest.raises(ConfigError, match=name):
            variant_nll_test(tiny, name, level, SEQS, 0)
    with pytest.raises(ConfigError, match="unknown oracle degradation 'swap'"):
        oracle_variant("swap")
    for name, levels in DEFAULT_LEVELS.items():
        for level in levels:
            ORACLE_VARIANTS[name].check(level)
