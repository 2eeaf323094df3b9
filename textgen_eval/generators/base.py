"""The generator interface every model implements (built-in or plugin).

A generator has a frozen config dataclass per section (``config_sections``), trains with the
shared runner (``fit``), samples sentences (``sample``), scores them when it defines a likelihood
(``score_texts``), and persists as JSON config + a ``state_dict`` (``save``/``load``) — never a
pickled module, so a saved model loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

from textgen_eval import __version__
from textgen_eval.core.errors import InputError
from textgen_eval.core.space import SearchSpace

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"


class TaskRunner(Protocol):
    """The part of ``textgen_eval.training.Runner`` a generator uses (no import of ``training``)."""

    config: Any  # a RunnerConfig: the generator reads ``seed`` for its batch order

    def fit(self, task: Any, *, resume: bool = False) -> Any: ...


class Generator(ABC):
    """Base class of text generators.

    Subclasses set ``name`` (registry name) and ``config_sections`` (section name → config
    dataclass) and implement the abstract methods. ``configs`` holds one instance per section.
    """

    name: ClassVar[str]
    config_sections: ClassVar[Mapping[str, type]]
    #: The default hyperparameter search space of ``tge tune`` (dotted ``section.key`` names);
    #: ``None`` means a space must be given with ``--space``.
    search_space: ClassVar[SearchSpace | None] = None

    def __init__(self, configs: Mapping[str, Any]) -> None:
        missing = set(self.config_sections) - set(configs)
        if missing:
            raise ValueError(f"{type(self).__name__} needs config sections {sorted(missing)}")
        self.configs = dict(configs)

    @abstractmethod
    def fit(
        self, train: Sequence[str], valid: Sequence[str] | None, runner: TaskRunner, *, resume: bool = False
    ) -> Any:
        """Train on ``train`` (early-stopping on ``valid``) with ``runner``; returns its result."""

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

    def score_texts(self, texts: Sequence[str]) -> Any:
        """Per-sentence NLL totals (``textgen_eval.core.protocols.TokenScores``), where defined."""
        raise NotImplementedError(f"generator {self.name!r} does not define a likelihood")

    def nll(self, texts: Sequence[str]) -> Any:
        """Negative log-likelihood in nats of each sentence (EOS scored, BOS not), as a float64
        array; raises ``NotImplementedError`` for generators without a likelihood (GANs)."""
        return self.score_texts(texts).nll

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Tensors to save (weights only)."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...

    def save_extra(self, directory: Path) -> None:  # noqa: B027 (optional hook)
        """Write non-tensor artefacts (e.g. the vocabulary) next to the weights."""

    def load_extra(self, directory: Path) -> None:  # noqa: B027 (optional hook)
        """Read what :meth:`save_extra` wrote; called before :meth:`load_state_dict`."""

    # -- persistence -----------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json``, ``weights.pt`` and extras to ``directory`` (created)."""
        import io

        import torch

        from textgen_eval.core.config import to_dict
        from textgen_eval.core.files import atomic_write_bytes, atomic_write_text

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.save_extra(directory)
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self.state_dict().items()}, buffer)
        atomic_write_bytes(directory / WEIGHTS_FILE, buffer.getvalue())
        payload = {
            "generator": self.name,
            "version": __version__,
            "config": {section: to_dict(cfg) for section, cfg in self.configs.items()},
        }
        atomic_write_text(directory / CONFIG_FILE, json.dumps(payload, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Generator:
        """Rebuild a saved generator (see :func:`textgen_eval.generators.load_generator`)."""
        import torch

        from textgen_eval.core.config import from_mapping

        directory = Path(directory)
        payload = read_config(directory)
        configs: dict[str, Any] = {}
        for section, section_cls in cls.config_sections.items():
            configs[section] = from_mapping(
                section_cls,
                payload["config"].get(section, {}),
                where=f"{directory / CONFIG_FILE} [{section}]",
            )
        model = cls(configs)
        model.load_extra(directory)
        try:
            state = torch.load(directory / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise InputError(f"{directory / WEIGHTS_FILE}: weights file missing") from None
        except Exception as exc:  # a truncated or foreign file
            raise InputError(
                f"{directory / WEIGHTS_FILE}: cannot read weights ({type(exc).__name__}: {exc})"
            ) from None
        model.load_state_dict(state)
        return model


def read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory (expected a saved model from `tge train`)")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{directory}: no {CONFIG_FILE}; expected a model saved by `tge train`") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(payload, dict) or "generator" not in payload or "config" not in payload:
        raise InputError(f"{path}: not a textgen_eval model config (needs 'generator' and 'config')")
    return payload
