"""Interfaces that cross package boundaries (``metrics`` never imports ``generators``).

A reference language model is a :class:`SequenceScorer` and a :class:`Featurizer`; the LSTM LM
happens to be both, a ``transformers`` model can be either. ``pipelines`` builds the objects and
hands them to metrics through an :class:`EvaluationResources`. The model/runner contract is in
:mod:`textgen_eval.core.training`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


#: How a per-sentence NLL was obtained: the exact likelihood of an autoregressive model, or an
#: upper bound on the NLL (a VAE's negative ELBO, or the importance-weighted bound of Burda et al.
#: 2016 with K samples, which tightens towards the NLL as K grows).
Estimate = Literal["exact", "elbo", "iw"]


@dataclass(frozen=True)
class TokenScores:
    """Per-sentence negative log-likelihood totals under a sequence model.

    Attributes:
        nll: summed NLL in nats of each sentence (EOS scored, BOS not); an upper bound on the NLL
            when ``estimate`` is not ``exact``.
        tokens: number of scored tokens of each sentence (its tokens plus EOS).
        oov: number of tokens of each sentence that are outside the model's vocabulary.
        estimate: ``exact``, ``elbo`` (−ELBO at KL weight 1) or ``iw`` (importance-weighted bound).
        importance_samples: K of the ``iw`` bound (``None`` otherwise).
        unit: what ``tokens`` counts: ``token`` (the model's vocabulary is the corpus's tokens)
            or ``model-token`` (a pretrained checkpoint's own tokenizer, e.g. GPT-2's pieces).
        words: whitespace words + 1 (EOS) of each sentence, given when ``unit`` is not ``token``:
            the unit in which the NLL compares with a word-level model's.
    """

    nll: np.ndarray
    tokens: np.ndarray
    oov: np.ndarray
    estimate: Estimate = "exact"
    importance_samples: int | None = None
    unit: str = "token"
    words: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.estimate == "iw") != (self.importance_samples is not None):
            raise ValueError("importance_samples is given exactly when estimate is 'iw'")
        if self.importance_samples is not None and self.importance_samples < 1:
            raise ValueError(f"importance_samples must be ≥ 1, got {self.importance_samples}")
        if (self.unit != "token") != (self.words is not None):
            raise ValueError("words are given exactly when the unit is not the corpus's token")

    @property
    def bound(self) -> str | None:
        """``None`` for an exact likelihood, else the bound's label for signatures: ``elbo``, ``iw-K``."""
        if self.estimate == "exact":
            return None
        if self.estimate == "iw":
            return f"iw-{self.importance_samples}"
        return self.estimate


@runtime_checkable
class SequenceScorer(Protocol):
    """Anything that assigns a likelihood to sentences (an LM)."""

    @property
    def signature(self) -> str:
        """Names the model, tokenizer and BOS/EOS policy: equal signature ⇒ equal scores."""
        ...

    def score_texts(self, texts: Sequence[str]) -> TokenScores: ...


@runtime_checkable
class HasVocabulary(Protocol):
    """A scorer or featurizer with a closed vocabulary: it can say how much of a text it does not
    know (tokens it reads as one unknown word). Used for the ``oov`` sanity warning."""

    def oov_rate(self, texts: Sequence[str]) -> float:
        """Fraction of the tokens of ``texts`` outside the vocabulary."""
        ...


@runtime_checkable
class Featurizer(Protocol):
    """Maps sentences to fixed-size vectors (for the Fréchet Distance)."""

    @property
    def signature(self) -> str: ...

    def features(self, texts: Sequence[str], *, role: str = "samples") -> np.ndarray:
        """An ``(len(texts), d)`` float array. ``role`` is ``samples`` or ``references``; only
        featurizers of precomputed vectors need it."""
        ...


@runtime_checkable
class ReferenceModel(SequenceScorer, Featurizer, Protocol):
    """The LM trained on a reference bundle: it scores sentences and embeds them."""


@dataclass(frozen=True)
class TrainedScore:
    """The outcome of a metric that trains a model (reverse LM score)."""

    value: float
    settings: Mapping[str, object]
    details: Mapping[str, Any] = field(default_factory=dict)


class EvaluationResources(Protocol):
    """What model-based metrics ask the evaluation pipeline for.

    ``reference_model()`` is the LM trained on the reference bundle (scorer and featurizer);
    ``scorer(spec)`` / ``featurizer(spec)`` resolve ``--lm`` / ``--featurizer`` specs.
    """

    def reference_model(self) -> ReferenceModel: ...

    def scorer(self, spec: str | None = None) -> SequenceScorer: ...

    def featurizer(self, spec: str | None = None) -> Featurizer: ...

    def reverse_lm(self, samples: Sequence[str], *, seed: int) -> TrainedScore: ...

    def training_texts(self) -> Sequence[str]:
        """The bundle's training sentences (what memorization metrics compare samples with)."""
        ...

    def training_label(self) -> str:
        """``bundle/train@digest``: names the training text in signatures."""
        ...


# -- image models --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElboBreakdown:
    """The terms of the ELBO of ``n`` images, in nats, averaged over ``draws`` posterior draws.

    Attributes:
        rec: ``(n,)`` −log p(x | z₁) per image.
        kl_layers: per stochastic layer (bottom → top), ``(n,)`` KL term per image.
        kl_units: per layer, ``(Zᵢ,)`` KL term per unit averaged over the images (LVAE §4's
            active-unit statistic).
        kl_estimator: how the KL terms were computed (``analytic``, ``sample``, or
            ``analytic-top`` when only some layers allow the closed form).
        draws: posterior draws per image.
    """

    rec: np.ndarray
    kl_layers: tuple[np.ndarray, ...]
    kl_units: tuple[np.ndarray, ...]
    kl_estimator: str
    draws: int


@runtime_checkable
class LatentVariableModel(Protocol):
    """An image model with a latent-variable likelihood (VAE, ladder VAE): what the image metrics
    ask of it. Inputs are ``(n, D)`` binary pixel arrays; every call is seeded."""

    name: str

    def log_likelihood(self, pixels: np.ndarray, *, k: int, seed: int, batch_size: int) -> np.ndarray:
        """``(n,)`` float64 importance-weighted bound L_K of log p(x) (eq. 12 with 1/K)."""
        ...

    def elbo_terms(
        self, pixels: np.ndarray, *, seed: int, batch_size: int, draws: int = 1
    ) -> ElboBreakdown: ...

    def posterior_means(self, pixels: np.ndarray, *, batch_size: int) -> tuple[np.ndarray, ...]:
        """Per layer ``(n, Zᵢ)`` posterior means (a pass with zero noise)."""
        ...

    def evaluation_settings(self) -> Mapping[str, object]:
        """Settings of the model that change its scores (batch-norm mode, …), for signatures."""
        ...


@runtime_checkable
class ProbabilisticClassifier(Protocol):
    """An image classifier with a predictive distribution (a network, a BNN, posterior samples):
    what the classifier metrics ask of it."""

    name: str

    def predict_proba(self, pixels: np.ndarray, *, seed: int, batch_size: int) -> np.ndarray:
        """``(n, classes)`` predictive probabilities (for a Bayesian model, averaged over its
        weight samples; how many is in :meth:`evaluation_settings`)."""
        ...

    def evaluation_settings(self) -> Mapping[str, object]: ...


@dataclass(frozen=True)
class CompressionReport:
    """What a compressed network keeps (Cheng et al. 2024; IMAGES.md §6).

    ``code_floats`` is the size of the latent codes (chunks × latent); ``decoder_parameters`` what
    must ship with them. Accuracies are on one labelled split: the original network, the decoded
    one, and the controls (every chunk decoded from the mean code; 8-bit uniform quantisation;
    magnitude pruning keeping parameters/ratio weights). ``relative_error`` is ‖ŵ − w‖/‖w‖ per
    parameter tensor.
    """

    parameters: int
    code_floats: int
    decoder_parameters: int
    accuracy_original: float
    accuracy_reconstructed: float
    accuracy_mean_code: float
    accuracy_quantised_8bit: float
    accuracy_pruned: float
    relative_error: Mapping[str, float]


@runtime_checkable
class CompressedModel(Protocol):
    name: str

    def compression_report(self, data: Any, *, seed: int = 0) -> CompressionReport: ...

    def evaluation_settings(self) -> Mapping[str, object]: ...


@runtime_checkable
class WeightUncertainModel(Protocol):
    """A model with random weights (a Bayesian encoder): its weight KL, reported apart from the
    ELBO's terms as the compound-VAE paper does."""

    name: str

    def weight_kl(self, pixels: np.ndarray, *, seed: int, batch_size: int) -> tuple[float, float]:
        """(KL of the static weights, summed; mean per-image KL of the dynamic weights), nats."""
        ...

    def evaluation_settings(self) -> Mapping[str, object]: ...
