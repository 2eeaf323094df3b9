"""Model-based metrics of Semeniuta (2019, §5.6): Fréchet Distance, LM score, reverse LM score.

They get their models from ``context["resources"]`` (an
:class:`~textgen_eval.core.protocols.EvaluationResources`, built by ``textgen_eval.evaluate``),
so this module never imports a generator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textgen_eval.core.errors import ConfigError, MetricError
from textgen_eval.core.protocols import EvaluationResources
from textgen_eval.metrics.base import Metric, Score
from textgen_eval.metrics.bootstrap import RatioOfSums, TwoSets, bootstrap_interval
from textgen_eval.metrics.frechet import fd_infinity, frechet_distance
from textgen_eval.metrics.tables import reference_label

THESIS = "Semeniuta, S. (2019). Recurrent neural networks for discriminative and generative learning, §5.6"


def require_resources(context: Mapping[str, Any], metric: str) -> EvaluationResources:
    resources = context.get("resources")
    if resources is None:
        raise MetricError(
            f"metric {metric!r} needs evaluation resources (a reference LM); compute it through "
            "textgen_eval.evaluate() or `tge evaluate`"
        )
    res: EvaluationResources = resources
    return res


def _subsample(n_total: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=n, replace=False))


@dataclass(frozen=True)
class Embedded:
    """Both sets embedded by the evaluation's featurizer, with what names them in signatures."""

    samples: np.ndarray
    references: np.ndarray
    featurizer: str
    refs_label: str


def embed_pair(
    samples: Sequence[str], references: Sequence[str] | None, context: Mapping[str, Any], metric: str
) -> Embedded:
    """Features of the samples and of the references with ``--featurizer`` (via the resources)."""
    if references is None:
        raise MetricError(f"{metric} needs references")
    resources = require_resources(context, metric)
    featurizer = resources.featurizer(context.get("featurizer"))
    fa = np.asarray(featurizer.features(list(samples), role="samples"), dtype=np.float64)
    fb = np.asarray(featurizer.features(list(references), role="references"), dtype=np.float64)
    return Embedded(fa, fb, featurizer.signature, reference_label(references))


#: Bootstrap resamples behind the standard error reported with every FD (``--fd-se-resamples``).
DEFAULT_FD_SE_RESAMPLES = 50


class FrechetDistance(Metric):
    """FD between sentence embeddings of samples and references (lower is better)."""

    name = "fd"
    direction = "lower"
    description = "Fréchet Distance between sentence-embedding distributions (--featurizer, --fd-n)"
    citation = THESIS + ".2; Heusel et al. (2017)"
    needs_references = True
    needs_resources = True

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        for role, texts in (("samples", samples), ("references", references or ())):
            if len(texts) < 2:
                raise MetricError(
                    f"fd needs at least 2 {role} (a covariance of one vector is undefined); got {len(texts)}"
                )
        embedded = embed_pair(samples, references, context, self.name)
        fa, fb, feat = embedded.samples, embedded.references, embedded.featurizer
        n_req = context.get("fd_n")
        seed = int(context.get("seed", 0))
        notes = []
        if n_req is not None:
            if n_req < 2 or n_req > min(len(fa), len(fb)):
                raise ConfigError(
                    f"--fd-n {n_req}: expected 2 ≤ N ≤ {min(len(fa), len(fb))} "
                    f"(samples: {len(fa)}, references: {len(fb)})"
                )
            fa = fa[_subsample(len(fa), n_req, seed)]
            fb = fb[_subsample(len(fb), n_req, seed + 1)]
        elif len(fa) != len(fb):
            notes.append(
                f"fd: {len(fa):,} samples vs {len(fb):,} references; FD is biased by set size, so compare "
                "models only at equal n (--fd-n N subsamples both sets)"
            )
        value = frechet_distance(
            fa, fb, names=(f"the samples' features ({feat})", "the references' features")
        )
        settings = {
            "feat": feat,
            "n": len(fa),
            "nrefs": len(fb),
            "refs": embedded.refs_label,
            "sub": f"seed{seed}" if n_req is not None else "none",
        }
        resample = TwoSets(fa, fb, frechet_distance)
        details: dict[str, Any] = {"n_samples": len(fa), "n_references": len(fb), "dim": int(fa.shape[1])}
        asked = context.get("fd_se_resamples")
        se_resamples = DEFAULT_FD_SE_RESAMPLES if asked is None else int(asked)
        if se_resamples >= 2:  # FD's own noise at this n, so that differences can be read against it
            spread = bootstrap_interval(resample, level=0.95, resamples=se_resamples, seed=seed)
            details.update(se=spread.se, se_resamples=se_resamples)
        return self.make_score(
            value, n=len(fa), settings=settings, details={**details, "notes": notes}, resample=resample
        )


class FrechetDistanceInfinity(Metric):
    """FD extrapolated to n → ∞ (Chong & Forsyth 2020): removes FD's finite-n bias."""

    name = "fd-inf"
    direction = "lower"
    description = "FD extrapolated linearly in 1/n to infinitely many samples (Chong & Forsyth 2020)"
    citation = "Chong & Forsyth 2020, §3.2"
    needs_references = True
    needs_resources = True

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        embedded = embed_pair(samples, references, context, self.name)
        fa, fb = embedded.samples, embedded.references
        if len(fa) < 4 or len(fb) < 2:
            raise MetricError(
                f"fd-inf needs at least 4 samples and 2 references (got {len(fa)} and {len(fb)})"
            )
        seed = int(context.get("seed", 0))
        value, slope, sizes, values = fd_infinity(fa, fb, seed=seed)
        settings = {
            "feat": embedded.featurizer,
            "n": len(fa),
            "nrefs": len(fb),
            "refs": embedded.refs_label,
            "points": len(sizes),
            "from": sizes[0],
            "seed": seed,
        }
        details = {"slope": slope, "sizes": sizes, "fd": values, "fd_at_n": values[-1]}
        return self.make_score(value, n=len(fa), settings=settings, details=details)


class LMScore(Metric):
    """Per-token NLL (nats) of the samples under a reference LM (precision proxy)."""

    name = "lm-score"
    direction = "lower"
    description = "per-token NLL (nats) of samples under the reference LM, EOS scored (--lm)"
    citation = THESIS + ".3"
    needs_resources = True

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        resources = require_resources(context, self.name)
        scorer = resources.scorer(context.get("lm"))
        scores = scorer.score_texts(list(samples))
        total_tokens = int(scores.tokens.sum())
        if total_tokens == 0:
            raise MetricError("lm-score: no tokens to score")
        words = scores.tokens - 1  # EOS is not a word
        n_words = int(words.sum())
        n_oov = int(scores.oov.sum())
        nll = math.fsum(scores.nll.tolist()) / total_tokens
        all_oov = int(((scores.oov == words) & (words > 0)).sum())
        notes = []
        if n_words > 0 and n_oov == n_words:
            # scored, not refused: a collapsed generator's samples ("<unk> <unk> ...") are a result;
            # `tge evaluate FILE` refuses such a file before scoring (evaluate(refuse_unreadable=True))
            notes.append(
                f"lm-score: every word of the {len(samples):,} samples is out of the language model's "
                "vocabulary (100% OOV): the score is the probability of the unknown word"
            )
        elif all_oov:
            notes.append(f"lm-score: {all_oov} samples consist only of out-of-vocabulary tokens")
        details = {
            "perplexity": math.exp(min(nll, 700.0)),
            "tokens": total_tokens,
            "oov_rate": n_oov / n_words if n_words else 0.0,
            "sentence_nll": math.fsum(scores.nll.tolist()) / len(samples),
            "samples_all_oov": all_oov,
            "notes": notes,
        }
        settings = {"lm": scorer.signature, "unit": "nats/token", "bos": "no", "eos": "yes"}
        if scores.bound is not None:  # a VAE's bound on the NLL is not the NLL: say so in the signature
            settings = {"lm": scorer.signature, "bound": scores.bound, **settings}
            details["bound"] = scores.bound
        resample = RatioOfSums(
            np.asarray(scores.nll, dtype=np.float64), np.asarray(scores.tokens, dtype=np.float64)
        )
        return self.make_score(nll, n=len(samples), settings=settings, details=details, resample=resample)


class ReverseLMScore(Metric):
    """Per-token NLL of real test text under an LM trained on the samples (recall proxy)."""

    name = "reverse-lm-score"
    direction = "lower"
    description = "NLL (nats/token) of real test text under an LM trained on the samples (slow; --fast skips)"
    citation = THESIS + ".3; Zhao et al. (2018)"
    needs_resources = True

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        resources = require_resources(context, self.name)
        seed = int(context.get("seed", 0))
        result = resources.reverse_lm(list(samples), seed=seed)
        settings = {**result.settings, "n": len(samples), "seed": seed}
        return self.make_score(result.value, n=len(samples), settings=settings, details=dict(result.details))
