"""Leakage and sanity checks of an evaluation: numbers that are computable but misleading.

Each check is a pure function of the texts and returns the fraction it measures; :func:`check`
turns those above their threshold into :class:`SanityWarning` s, which ``tge evaluate`` prints
on stderr and lists under ``warnings`` in its JSON (issue 19). Nothing is refused: the scores are
still computed and the warning says what to make of them.

* ``split-overlap`` — the bundle's validation or training split holds test sentences (the
  GansFallingShort copy of COCO has ``valid.txt`` = ``test.txt``: the reverse LM then early-stops on
  the test set).
* ``samples-in-references`` / ``samples-in-training`` — samples that are exact copies of reference
  or training sentences (BLEU 1 and FD 0 for a copy of the references; memorization otherwise).
* ``oov`` — sample tokens outside the vocabulary of a model that scores them (the reference LM of
  ``lm-score`` / ``reverse-lm-score``, FD's encoder): those tokens are all one unknown word to it.
* ``fd-n-below-d`` — FD with fewer vectors than dimensions: the covariance is singular and FD is
  dominated by its bias.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

#: Thresholds: at or above, a warning is given.
SPLIT_OVERLAP = 0.05
COPIED = 0.5
OOV = 0.10


@dataclass(frozen=True)
class SanityWarning:
    """One warning: a stable code for scripts, the message for people, what was measured."""

    code: str
    message: str
    value: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def contained_fraction(texts: Sequence[str], pool: Collection[str]) -> float:
    """Fraction of the non-empty ``texts`` that occur exactly (after stripping) in ``pool``."""
    items = [t.strip() for t in texts if t.strip()]
    if not items:
        return 0.0
    members = pool if isinstance(pool, (set, frozenset)) else {p.strip() for p in pool}
    return sum(t in members for t in items) / len(items)


def oov_rate(
    texts: Iterable[str], known: Callable[[str], bool], tokenize: Callable[[str], list[str]]
) -> float:
    """Fraction of the tokens of ``texts`` that ``known`` rejects."""
    total = unknown = 0
    for text in texts:
        for token in tokenize(text):
            total += 1
            unknown += not known(token)
    return unknown / total if total else 0.0


def split_warnings(
    train: Sequence[str] | None, valid: Sequence[str] | None, test: Sequence[str], name: str
) -> list[SanityWarning]:
    test_set = {t.strip() for t in test if t.strip()}
    out = []
    for split, texts in (("valid", valid), ("train", train)):
        if texts is None:
            continue
        members = {t.strip() for t in texts if t.strip()}
        share = contained_fraction(test, members)
        if share >= SPLIT_OVERLAP:
            identical = " (the two files hold the same sentences)" if members == test_set else ""
            consequence = (
                "the reverse LM early-stops on the test set"
                if split == "valid"
                else "models trained on the bundle have seen the references"
            )
            out.append(
                SanityWarning(
                    "split-overlap",
                    f"bundle {name}: {share:.0%} of the test sentences are also in its {split} split"
                    f"{identical}; {consequence}, so scores against the test split are optimistic",
                    share,
                    SPLIT_OVERLAP,
                )
            )
    return out


def copy_warnings(
    samples: Sequence[str], references: Sequence[str] | None, training: Sequence[str] | None
) -> list[SanityWarning]:
    out = []
    if references is not None:
        share = contained_fraction(samples, {r.strip() for r in references})
        if share >= COPIED:
            out.append(
                SanityWarning(
                    "samples-in-references",
                    f"{share:.0%} of the samples are copies of reference sentences: BLEU near 1 and FD near "
                    "0 say nothing about a generator; were the references given as samples?",
                    share,
                    COPIED,
                )
            )
    if training is not None:
        share = contained_fraction(samples, {t.strip() for t in training})
        if share >= COPIED:
            out.append(
                SanityWarning(
                    "samples-in-training",
                    f"{share:.0%} of the samples are copies of training sentences: the generator memorizes "
                    "(see copy-rate and novel-ngrams-N)",
                    share,
                    COPIED,
                )
            )
    return out


def oov_warning(rate: float, what: str) -> list[SanityWarning]:
    if rate < OOV:
        return []
    return [
        SanityWarning(
            "oov",
            f"{rate:.0%} of the sample tokens are outside the vocabulary of {what}: it reads them all as one "
            "unknown word, so its score ignores what they are",
            rate,
            OOV,
        )
    ]


def fd_size_warning(name: str, n: int, dim: int) -> list[SanityWarning]:
    if n >= dim:
        return []
    return [
        SanityWarning(
            "fd-n-below-d",
            f"{name}: {n} vectors in {dim} dimensions: the covariance is singular and the value is dominated "
            "by the estimator's bias; use at least as many samples as dimensions",
            float(n),
            float(dim),
        )
    ]
