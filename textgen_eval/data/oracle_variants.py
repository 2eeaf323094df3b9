"""Degraded oracles: generators derived from a synthetic oracle whose both truths are exact.

``tge meta-eval --oracle`` tests every metric against NLL-oracle (quality: the oracle's NLL of a
generator's samples) and NLL-test (coverage: the generator's NLL of held-out oracle samples). The
degradations of real text (:mod:`textgen_eval.data.degrade`) are sets of sentences, not
distributions: they have no NLL-test. On an oracle bundle the same ideas are distributions with
an exact density, so both truths of every point are known:

* ``tempered`` — the oracle itself sampled at temperature ``level``: p_T(y_t | y_<t) ∝
  p(y_t | y_<t)^(1/T) per position (the sharpening/flattening of Caccia et al. 2020's
  temperature sweep, applied to the truth; ``level`` 1 is the oracle);
* ``noise`` — with probability ``level`` a sequence is replaced by L tokens drawn uniformly from
  the vocabulary: P(x) = (1 − p)·P_o(x) + p·V^−L (quality falls, coverage barely);
* ``collapse`` — mode collapse (the ``duplicate``/``topics`` idea): with probability ``level`` a
  sequence is one of a fixed memorised set M of :data:`COLLAPSE_SET` oracle samples, drawn
  uniformly: P(x) = (1 − m)·P_o(x) + m·c_M(x)/|M| (quality stays the oracle's, coverage falls).

Word dropout has no fixed-length counterpart (NLL-oracle needs exactly L ids), and swapped words
have a density only as a sum over Fib(L+1) swap patterns of an LSTM's probabilities (10,946 for
L = 20, each a full oracle pass), so neither is offered here.

Every function is pure in its arguments; randomness comes from ``numpy.random.default_rng`` seeded
with ``[seed, stream]`` and from the oracle's own seeded sampler.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from textgen_eval.core.errors import ConfigError
from textgen_eval.data.oracle import LSTMOracle

#: Sequences in the memorised set of ``collapse``.
COLLAPSE_SET = 100
#: Streams of the seeded numpy generators (so the memorised set does not depend on the level).
_SET_STREAM, _MIX_STREAM, _NOISE_STREAM = 1, 2, 3


def mixture_nll(log_weights: np.ndarray, log_probs: np.ndarray) -> np.ndarray:
    """Per-sequence −log Σ_k w_k·P_k(x) from ``log_weights (K,)`` and ``log_probs (K, N)``
    (−∞ allowed: a component that cannot produce x) → ``(N,)``."""
    with np.errstate(divide="ignore"):
        return -np.logaddexp.reduce(log_weights[:, None] + log_probs, axis=0)


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def memorised_set(oracle: LSTMOracle, length: int, seed: int) -> np.ndarray:
    """The fixed set M of ``collapse``: :data:`COLLAPSE_SET` oracle samples ``(|M|, L)``."""
    return oracle.sample(COLLAPSE_SET, length, seed=seed * 7919 + _SET_STREAM)


@dataclass(frozen=True)
class OracleVariant:
    """A degraded oracle at one level: how to sample it, and its exact per-sequence NLL."""

    name: str
    #: (oracle, level, n, length, seed) → ``(n, length)`` ids
    sample: Callable[[LSTMOracle, float, int, int, int], np.ndarray]
    #: (oracle, level, ids, seed) → ``(N,)`` −log P(x) of each sequence, nats
    sequence_nll: Callable[[LSTMOracle, float, np.ndarray, int], np.ndarray]
    #: whether a level is valid, and the valid range in words
    accepts: Callable[[float], bool]
    valid: str
    description: str

    def check(self, level: float) -> None:
        if not (math.isfinite(level) and self.accepts(level)):
            raise ConfigError(f"oracle degradation {self.name}: level {level:g} is not {self.valid}")


def _tempered_sample(oracle: LSTMOracle, level: float, n: int, length: int, seed: int) -> np.ndarray:
    return oracle.sample(n, length, seed=seed, temperature=level)


def _tempered_nll(oracle: LSTMOracle, level: float, ids: np.ndarray, seed: int) -> np.ndarray:
    return oracle.token_nll(ids, temperature=level).sum(axis=1)


def _noise_sample(oracle: LSTMOracle, level: float, n: int, length: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, _NOISE_STREAM])
    out = oracle.sample(n, length, seed=seed)
    replaced = rng.random(n) < level
    out[replaced] = rng.integers(0, oracle.vocab_size, size=(int(replaced.sum()), length))
    return out


def _noise_nll(oracle: LSTMOracle, level: float, ids: np.ndarray, seed: int) -> np.ndarray:
    log_oracle = -oracle.token_nll(ids).sum(axis=1)
    log_uniform = np.full(len(ids), -ids.shape[1] * math.log(oracle.vocab_size))
    return mixture_nll(np.array([_log(1 - level), _log(level)]), np.stack([log_oracle, log_uniform]))


def _collapse_sample(oracle: LSTMOracle, level: float, n: int, length: int, seed: int) -> np.ndarray:
    memorised = memorised_set(oracle, length, seed)
    rng = np.random.default_rng([seed, _MIX_STREAM])
    out = oracle.sample(n, length, seed=seed)
    collapsed = rng.random(n) < level
    out[collapsed] = memorised[rng.integers(0, len(memorised), size=int(collapsed.sum()))]
    return out


def _collapse_nll(oracle: LSTMOracle, level: float, ids: np.ndarray, seed: int) -> np.ndarray:
    memorised = memorised_set(oracle, ids.shape[1], seed)
    counts = Counter(map(tuple, memorised.tolist()))
    with np.errstate(divide="ignore"):
        log_set = np.log(np.array([counts.get(tuple(row), 0) / len(memorised) for row in ids.tolist()]))
    log_oracle = -oracle.token_nll(ids).sum(axis=1)
    return mixture_nll(np.array([_log(1 - level), _log(level)]), np.stack([log_oracle, log_set]))


ORACLE_VARIANTS: Mapping[str, OracleVariant] = {
    v.name: v
    for v in (
        OracleVariant(
            "tempered", _tempered_sample, _tempered_nll, lambda x: x > 0, "a temperature > 0",
            "the oracle sampled at temperature LEVEL (1: the oracle)",
        ),
        OracleVariant(
            "noise", _noise_sample, _noise_nll, lambda x: 0 <= x <= 1, "a fraction in [0, 1]",
            "a fraction LEVEL of the sequences replaced by uniformly random ids",
        ),
        OracleVariant(
            "collapse", _collapse_sample, _collapse_nll, lambda x: 0 <= x < 1, "a fraction in [0, 1)",
            f"a fraction LEVEL of the sequences drawn from a fixed set of {COLLAPSE_SET} oracle samples",
        ),
    )
}  # fmt: skip
#: Levels scored by default: each family spans its range, so a metric's ρ has room to show.
DEFAULT_LEVELS: Mapping[str, tuple[float, ...]] = {
    "tempered": (0.6, 0.8, 1.25, 1.5),
    "noise": (0.1, 0.25, 0.5, 0.75),
    "collapse": (0.25, 0.5, 0.75, 0.9),
}


def oracle_variant(name: str) -> OracleVariant:
    if name not in ORACLE_VARIANTS:
        raise ConfigError(
            f"unknown oracle degradation {name!r}; expected one of {', '.join(ORACLE_VARIANTS)}"
        )
    return ORACLE_VARIANTS[name]


def variant_nll_test(oracle: LSTMOracle, name: str, level: float, ids: np.ndarray, seed: int) -> float:
    """The degraded oracle's exact NLL of held-out ``ids``, nats per token (its NLL-test)."""
    variant = oracle_variant(name)
    variant.check(level)
    return math.fsum(variant.sequence_nll(oracle, level, ids, seed).tolist()) / ids.size
