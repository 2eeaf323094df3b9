"""Text generators in the model registry (``textgen_eval.core.models``)."""

from __future__ import annotations

from pathlib import Path

from textgen_eval.core.errors import ConfigError, PluginError
from textgen_eval.core.models import load_model as _load_model
from textgen_eval.core.models import model_class, model_registry
from textgen_eval.generators.base import Generator

ENTRY_POINT_GROUP = "textgen_eval.generators"

#: The one model registry (text generators are the entries of modality ``text``).
generator_registry = model_registry


def generator_class(name: str) -> type[Generator]:
    cls = model_class(name)
    if not issubclass(cls, Generator):
        raise PluginError(
            f"model {name!r} is {cls.__module__}:{cls.__qualname__} of modality {cls.modality!r}, "
            "expected a text generator (a textgen_eval.generators.Generator subclass)"
        )
    return cls


def load_generator(directory: str | Path) -> Generator:
    """Load any saved text generator (a model directory or a `tge train` run directory)."""
    model = _load_model(directory)
    if not isinstance(model, Generator):
        raise ConfigError(
            f"{directory}: the saved model {model.name!r} is a {model.modality} model, not text"
        )
    return model
