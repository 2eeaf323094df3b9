"""Bootstrap confidence intervals for scores that are means over items (Efron & Tibshirani 1993).

A metric that is a mean (or a ratio of sums) over samples attaches a :class:`Resample` to its
:class:`~textgen_eval.metrics.base.Score`; ``tge evaluate --ci LEVEL`` then draws ``resamples``
index vectors with replacement (seeded) and reports the percentile interval of the recomputed
values, with the bootstrap standard error. For a ratio of sums (LM score: Σ NLL / Σ tokens) the
numerator and denominator are resampled together. The references of BLEU and self-BLEU are held
fixed: the interval is over the sampling of the samples. FD resamples both feature sets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from textgen_eval.core.errors import ConfigError

#: Index vectors per vectorised chunk (bounds memory at ``chunk × n`` int64).
CHUNK = 64


class Resample(Protocol):
    """The items a value is computed from, and how to recompute it on resampled indices."""

    @property
    def sizes(self) -> tuple[int, ...]:
        """Number of items in each resampled set (one set, or two for FD)."""

    def statistics(self, indices: Sequence[np.ndarray]) -> np.ndarray:
        """The value for each row of ``indices[j]`` ``(B, sizes[j])``; returns ``(B,)``."""


@dataclass(frozen=True)
class RatioOfSums:
    """value = Σ numerators[i] / Σ denominators[i] (a plain mean when ``denominators`` is None)."""

    numerators: np.ndarray
    denominators: np.ndarray | None = None

    @property
    def sizes(self) -> tuple[int, ...]:
        return (len(self.numerators),)

    def statistics(self, indices: Sequence[np.ndarray]) -> np.ndarray:
        (idx,) = indices  # (B, n)
        num = np.asarray(self.numerators, dtype=np.float64)[idx].sum(axis=1)
        if self.denominators is None:
            return num / idx.shape[1]
        den = np.asarray(self.denominators, dtype=np.float64)[idx].sum(axis=1)
        return num / np.where(den > 0, den, np.nan)


@dataclass(frozen=True)
class TwoSets:
    """value = ``fn(a[ia], b[ib])``: both sets resampled independently (e.g. FD's features)."""

    a: np.ndarray
    b: np.ndarray
    fn: Callable[[np.ndarray, np.ndarray], float]

    @property
    def sizes(self) -> tuple[int, ...]:
        return (len(self.a), len(self.b))

    def statistics(self, indices: Sequence[np.ndarray]) -> np.ndarray:
        ia, ib = indices
        return np.array([self.fn(self.a[x], self.b[y]) for x, y in zip(ia, ib)], dtype=np.float64)


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval."""

    level: float
    low: float
    high: float
    se: float
    resamples: int
    seed: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def signature(self) -> str:
        return f"boot:percentile|level:{self.level:g}|B:{self.resamples}|seed:{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "low": self.low,
            "high": self.high,
            "se": self.se,
            "resamples": self.resamples,
            "seed": self.seed,
            "method": "percentile",
            "signature": self.signature(),
        }


def bootstrap_interval(resample: Resample, *, level: float, resamples: int = 1000, seed: int = 0) -> Interval:
    """The ``level`` percentile interval of ``resample``'s statistic over ``resamples`` draws."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"--ci {level}: expected a confidence level between 0 and 1, e.g. 0.95")
    if resamples < 2:
        raise ConfigError(f"--ci-resamples {resamples}: expected at least 2")
    rng = np.random.default_rng(seed)
    values: list[np.ndarray] = []
    done = 0
    while done < resamples:
        b = min(CHUNK, resamples - done)
        indices = [rng.integers(0, n, size=(b, n)) for n in resample.sizes]
        values.append(resample.statistics(indices))
        done += b
    stats = np.concatenate(values)
    stats = stats[np.isfinite(stats)]
    if stats.size < 2:
        raise ConfigError("the bootstrap produced no finite values (too few items?)")
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return Interval(level, float(low), float(high), float(stats.std(ddof=1)), resamples, seed)
