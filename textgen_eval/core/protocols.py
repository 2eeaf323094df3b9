"""Interfaces that cross package boundaries (``metrics`` never imports ``generators``).

A reference language model is a :class:`SequenceScorer` and a :class:`Featurizer`; the LSTM LM
happens to be both, a ``transformers`` model can be either. ``pipelines`` builds the objects and
hands them to metrics through an :class:`EvaluationResources`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class TokenScores:
    """Per-sentence log-likelihood totals under a sequence model.

    Attributes:
        nll: summed negative log-likelihood in nats of each sentence (EOS scored, BOS not).
        tokens: number of scored tokens of each sentence (its tokens plus EOS).
        oov: number of tokens of each sentence that are outside the model's vocabulary.
    """

    nll: np.ndarray
    tokens: np.ndarray
    oov: np.ndarray


@runtime_checkable
class SequenceScorer(Protocol):
    """Anything that assigns a likelihood to sentences (an LM)."""

    @property
    def signature(self) -> str:
        """Names the model, tokenizer and BOS/EOS policy: equal signature ⇒ equal scores."""
        ...

    def score_texts(self, texts: Sequence[str]) -> TokenScores: ...


@runtime_checkable
class Featurizer(Protocol):
    """Maps sentences to fixed-size vectors (for the Fréchet Distance)."""

    @property
    def signature(self) -> str: ...

    def features(self, texts: Sequence[str], *, role: str = "samples") -> np.ndarray:
        """An ``(len(texts), d)`` float array. ``role`` is ``samples`` or ``references``; only
        featurizers of precomputed vectors need it."""
        ...


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

    def reference_model(self) -> Any: ...

    def scorer(self, spec: str | None = None) -> SequenceScorer: ...

    def featurizer(self, spec: str | None = None) -> Featurizer: ...

    def reverse_lm(self, samples: Sequence[str], *, seed: int) -> TrainedScore: ...


class TrainingTask(Protocol):
    """What a model gives the shared training runner (``textgen_eval.training.Runner``).

    The runner seeds, then calls :meth:`setup` (build the module and its optimizers on
    ``device``), then repeatedly :meth:`training_step` on batches of :meth:`train_batches`,
    choosing the optimizer by :attr:`update_schedule` (``[("disc", 5), ("gen", 1)]`` alternates
    five discriminator updates with one generator update; an LM has ``[("main", 1)]``).
    """

    module: Any
    update_schedule: Sequence[tuple[str, int]]

    def setup(self, device: Any) -> None: ...

    def optimizers(self) -> Mapping[str, Any]:
        """Named ``torch.optim.Optimizer`` objects (created in :meth:`setup`)."""
        ...

    def train_batches(self, epoch: int) -> Any:
        """An iterable of batches for ``epoch``; must depend only on the seed and ``epoch``."""
        ...

    def training_step(self, batch: Any, *, optimizer: str, step: int, epoch: int) -> Mapping[str, Any]:
        """Losses as 0-d tensors; ``"loss"`` is minimised by ``optimizer``, the rest are logged."""
        ...

    def validate(self) -> Mapping[str, float]:
        """Validation quantities (e.g. ``{"valid_nll": 3.2}``); ``{}`` when there is no validation set."""
        ...
