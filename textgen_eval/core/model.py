"""The model interface shared by every modality: anything the runner trains and the protocol tunes.

A model has a registry ``name``, a ``modality`` (``text``: samples are strings; ``image``: samples
and data are tensors), a one-line ``description``, the ``paper`` it follows, one frozen config
dataclass per section (``config_sections``), a default ``search_space``, ``fit`` with the shared
runner, and persistence as ``config.json`` + ``weights.pt`` (a ``state_dict``, never a pickled
module, so it loads with ``torch.load(weights_only=True)``) + whatever extras the model writes.
Text generators (``textgen_eval.generators.Generator``) are one kind; image models another.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

from textgen_eval import __version__
from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.safe_load import load_tensors
from textgen_eval.core.space import SearchSpace
from textgen_eval.core.training import TaskRunner, TrainResult

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"

Modality = Literal["text", "image"]
MODALITIES: tuple[str, ...] = ("text", "image")

#: The training data of a model: ``Sequence[str]`` for text, a tensor or array for images.
DataT = TypeVar("DataT")


class Model(ABC, Generic[DataT]):
    """Base class of every trainable model.

    Subclasses set ``name``, ``modality``, ``description``, ``paper`` and ``config_sections``
    (section name → config dataclass) and implement the abstract methods. ``configs`` holds one
    instance per section.
    """

    name: ClassVar[str]
    modality: ClassVar[str]
    description: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    config_sections: ClassVar[Mapping[str, type]]
    #: The default hyperparameter search space of ``tge tune`` (dotted ``section.key`` names);
    #: ``None`` means a space must be given with ``--space``.
    search_space: ClassVar[SearchSpace | None] = None
    #: The metrics ``tge evaluate`` and ``tge tune`` use for this model when none are given
    #: (``None``: those of its modality's trial kind), and the tuning objective.
    default_metrics: ClassVar[tuple[str, ...] | None] = None
    default_objective: ClassVar[str | None] = None

    def __init__(self, configs: Mapping[str, Any]) -> None:
        missing = set(self.config_sections) - set(configs)
        if missing:
            raise ValueError(f"{type(self).__name__} needs config sections {sorted(missing)}")
        self.configs = dict(configs)

    @abstractmethod
    def fit(
        self, train: DataT, valid: DataT | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        """Train on ``train`` (validating on ``valid``) with ``runner``; returns its result."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Tensors to save (weights only)."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...

    def network_builder(self, train: DataT) -> Callable[[], Any] | None:
        """What training on ``train`` would build, as a function the memory preflight calls on
        PyTorch's ``meta`` device (:mod:`textgen_eval.pipelines.preflight`); ``None``: not checked.
        Text generators are checked through their vocabulary instead (``pipelines.train.preflight``)."""
        return None

    def save_extra(self, directory: Path) -> None:
        """Write non-tensor artefacts (e.g. the vocabulary) next to the weights."""

    def load_extra(self, directory: Path) -> None:
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
            "generator": self.name,  # the key predates image models; kept so old files load
            "modality": self.modality,
            "version": __version__,
            "config": {section: to_dict(cfg) for section, cfg in self.configs.items()},
        }
        atomic_write_text(directory / CONFIG_FILE, json.dumps(payload, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Model[Any]:
        """Rebuild a saved model (see :func:`textgen_eval.core.models.load_model`)."""

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
        try:
            model.load_extra(directory)
        except (InputError, ConfigError) as exc:  # a foreign or damaged vocabulary, format, ...
            raise InputError(f"{directory}: the {cls.name} model's files do not load: {exc}") from None
        state = load_tensors(directory / WEIGHTS_FILE, what="a weights file (a state_dict)")
        if not isinstance(state, dict):
            raise InputError(
                f"{directory / WEIGHTS_FILE}: not a state_dict (it holds a {type(state).__name__})"
            )
        try:
            model.load_state_dict(state)
        except InputError as exc:
            raise InputError(
                f"{directory / WEIGHTS_FILE} does not fit the {cls.name} model that "
                f"{directory / CONFIG_FILE} describes (the two files come from different runs): {exc}"
            ) from None
        return model


def read_config(directory: Path) -> dict[str, Any]:
    """The ``config.json`` of a saved model, checked for the keys every model writes."""
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
