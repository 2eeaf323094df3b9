"""Text generators: the :class:`~textgen_eval.core.model.Model` of modality ``text``.

A generator trains on sentences (``fit(train, valid, runner)``), samples sentences
(``sample(n, max_len, temperature, seed)``) and, where it defines one, scores them
(``score_texts``: an exact likelihood or a labelled bound). Persistence is the model's:
``config.json`` + ``weights.pt`` + extras such as ``vocab.json``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.model import CONFIG_FILE, WEIGHTS_FILE, Model, read_config
from textgen_eval.core.protocols import TokenScores
from textgen_eval.core.training import TaskRunner
from textgen_eval.data.token_ids import TokenIdFormat

__all__ = ["CONFIG_FILE", "WEIGHTS_FILE", "Generator", "TaskRunner", "read_config"]


class Generator(Model[Sequence[str]]):
    """Base class of text generators (registry names, configs and search spaces as for any model)."""

    modality: ClassVar[str] = "text"
    #: Whether the model trains on fixed-length token-id corpora (synthetic-oracle bundles):
    #: a closed vocabulary, no EOS, exactly ``length`` tokens per sample (:meth:`use_format`).
    supports_fixed_length: ClassVar[bool] = False

    def use_format(self, fmt: TokenIdFormat) -> None:
        """Train and sample in ``fmt`` (what a synthetic-oracle bundle declares); a model that
        cannot refuses, naming itself, before anything is written."""
        raise ConfigError(
            f"{self.name} does not train on fixed-length token-id corpora ({fmt.describe()}, a synthetic-"
            "oracle bundle) yet; models that do: see docs/training.md, 'Synthetic-oracle bundles'"
        )

    @abstractmethod
    def sample(
        self,
        n: int,
        *,
        max_len: int = 50,
        temperature: float = 1.0,
        seed: int = 0,
        progress: Callable[[int], object] | None = None,
    ) -> list[str]:
        """``n`` sentences; the same ``seed`` gives the same sentences. ``progress(k)`` is
        called as each batch of ``k`` sentences is done."""

    def score_texts(self, texts: Sequence[str]) -> TokenScores:
        """Per-sentence NLL totals, exact or a labelled bound (``TokenScores.estimate``)."""
        raise NotImplementedError(f"generator {self.name!r} does not define a likelihood")

    def diagnostics(self, texts: Sequence[str]) -> dict[str, float]:
        """Model-specific numbers about ``texts`` that explain the likelihood (a VAE's KL and
        reconstruction terms); ``tge evaluate RUN_DIR`` reports them beside ``model-nll``."""
        return {}

    def nll(self, texts: Sequence[str]) -> np.ndarray:
        """Negative log-likelihood in nats of each sentence (EOS scored, BOS not), as a float64
        array; raises ``NotImplementedError`` for generators without a likelihood (GANs)."""
        return self.score_texts(texts).nll
