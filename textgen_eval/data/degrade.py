"""Controlled degradations of real text, for testing metrics (Semeniuta 2019, §5.6.3, Fig. 5.9).

Each degradation maps (held-out sentences, level, seed) to a set of ``n`` sentences that is
worse in one known way, and is a pure function of its arguments:

* ``topics`` — mode collapse: ``level`` topics removed (labels given, or k-means clusters), the
  ``n`` sentences drawn from the remaining topics' sentences;
* ``dropout`` — every word removed independently with probability ``level``;
* ``swap`` — scanning left to right, each adjacent pair of words swapped with probability
  ``level`` (a swapped word is not swapped again);
* ``duplicate`` — a fraction ``level`` of the sentences replaced by copies of the others.

Words are whitespace tokens (the bundles' convention). Randomness: ``numpy.random.default_rng``
seeded with ``[seed, level index, stream]``, so every point is reproducible on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from textgen_eval.core.errors import ConfigError


@dataclass(frozen=True)
class Degraded:
    """One degraded sample set and what was done to make it."""

    texts: list[str]
    #: sentences drawn twice because the kept pool was smaller than ``n`` (``topics`` only)
    redrawn: int = 0
    #: topic labels removed (``topics`` only)
    removed: tuple[str, ...] = ()


def base_sample(pool: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` sentences of ``pool`` without replacement, in a seeded order (the level-0 set)."""
    if n > len(pool):
        raise ConfigError(f"--n {n}: the held-out pool has only {len(pool)} sentences")
    rng = np.random.default_rng([seed, 0, 0])
    return [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]


def drop_words(texts: Sequence[str], rate: float, rng: np.random.Generator) -> list[str]:
    """Each word kept with probability ``1 − rate`` (a sentence may become empty)."""
    out = []
    for text in texts:
        words = text.split()
        keep = rng.random(len(words)) >= rate
        out.append(" ".join(w for w, k in zip(words, keep) if k))
    return out


def swap_words(texts: Sequence[str], rate: float, rng: np.random.Generator) -> list[str]:
    """Adjacent words swapped with probability ``rate`` per position, left to right."""
    out = []
    for text in texts:
        words = text.split()
        draws = rng.random(max(len(words) - 1, 0))
        i = 0
        while i < len(words) - 1:
            if draws[i] < rate:
                words[i], words[i + 1] = words[i + 1], words[i]
                i += 2  # the moved word is not moved again
            else:
                i += 1
        out.append(" ".join(words))
    return out


def duplicate(texts: Sequence[str], fraction: float, rng: np.random.Generator) -> list[str]:
    """``round(fraction · n)`` sentences replaced by copies of sentences that are not replaced."""
    n = len(texts)
    k = round(fraction * n)
    if k >= n:
        raise ConfigError(f"duplicate fraction {fraction}: at least one original sentence must remain")
    out = list(texts)
    replaced = rng.choice(n, size=k, replace=False)
    kept = np.setdiff1d(np.arange(n), replaced)
    for i, j in zip(replaced, rng.choice(kept, size=k, replace=True)):
        out[int(i)] = texts[int(j)]
    return out


def remove_topics(
    pool: Sequence[str], labels: Sequence[str], removed: int, n: int, seed: int, level_index: int
) -> Degraded:
    """``n`` sentences from the topics left after removing ``removed`` of them at random.

    When the remaining topics hold fewer than ``n`` sentences, all of them are taken and the rest
    drawn again from them (counted in :attr:`Degraded.redrawn`) so that every level has ``n``.
    """
    topics = sorted(set(labels))
    if not 0 <= removed < len(topics):
        raise ConfigError(f"cannot remove {removed} of {len(topics)} topics (at least one must remain)")
    rng = np.random.default_rng([seed, level_index, 1])
    gone = {topics[i] for i in rng.choice(len(topics), size=removed, replace=False)}
    kept = np.array([i for i, label in enumerate(labels) if label not in gone])
    if len(kept) >= n:
        chosen = rng.choice(kept, size=n, replace=False)
        redrawn = 0
    else:
        chosen = np.concatenate([rng.permutation(kept), rng.choice(kept, size=n - len(kept), replace=True)])
        redrawn = n - len(kept)
    return Degraded([pool[int(i)] for i in chosen], redrawn, tuple(sorted(gone)))


#: The text-level degradations (``topics`` needs labels and is built separately).
TextDegradation = Callable[[Sequence[str], float, np.random.Generator], list[str]]
TEXT_DEGRADATIONS: dict[str, TextDegradation] = {
    "dropout": drop_words,
    "swap": swap_words,
    "duplicate": duplicate,
}
#: Default levels (the thesis' Fig. 5.9 uses rates up to 0.5).
DEFAULT_RATES: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def degrade(
    name: str, pool: Sequence[str], level: float, *, n: int, seed: int, level_index: int
) -> Degraded:
    """The ``name`` degradation of a seeded ``n``-sentence base sample at ``level``."""
    if name not in TEXT_DEGRADATIONS:
        raise ConfigError(f"unknown degradation {name!r}; expected one of topics, {', '.join(TEXT_DEGRADATIONS)}")
    base = base_sample(pool, n, seed)
    if level == 0:
        return Degraded(base)
    rng = np.random.default_rng([seed, level_index, 2])
    return Degraded(TEXT_DEGRADATIONS[name](base, level, rng))
