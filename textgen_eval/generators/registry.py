"""The generator registry: built-ins (lazy) and plugins under ``textgen_eval.generators``."""

from __future__ import annotations

from pathlib import Path

from textgen_eval.core.errors import PluginError
from textgen_eval.core.registry import Registry
from textgen_eval.generators.base import Generator, read_config

ENTRY_POINT_GROUP = "textgen_eval.generators"

generator_registry: Registry[type[Generator]] = Registry("generator", group=ENTRY_POINT_GROUP)
generator_registry.register("lstm-lm", "textgen_eval.generators.lstm_lm.model:LSTMLanguageModel")


def generator_class(name: str) -> type[Generator]:
    entry = generator_registry.entry(name)
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise PluginError(
            f"generator plugin {name!r} ({entry.origin}) is {cls!r}, expected a Generator subclass"
        )
    return cls


def load_generator(directory: str | Path) -> Generator:
    """Load any saved generator: ``config.json`` names its class."""
    directory = Path(directory)
    if (directory / "model" / "config.json").is_file():  # a `tge train` run directory
        directory = directory / "model"
    payload = read_config(directory)
    return generator_class(str(payload["generator"])).load(directory)
