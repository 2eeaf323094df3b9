"""One registry of every trainable model, all modalities, built-in and plugin.

Built-ins are listed here as ``"module:Class"`` strings (nothing is imported until a model is
used); third-party packages add models under the entry-point group ``textgen_eval.models`` (or
``textgen_eval.generators``, the group text generators used first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textgen_eval.core.errors import PluginError
from textgen_eval.core.model import CONFIG_FILE, Model, read_config
from textgen_eval.core.registry import Registry
from textgen_eval.core.training import MODEL_DIR

ENTRY_POINT_GROUPS = ("textgen_eval.models", "textgen_eval.generators")

#: ``tge train lm`` predates the registry names.
ALIASES = {"lm": "lstm-lm"}

model_registry: Registry[type[Model[Any]]] = Registry("model", group=ENTRY_POINT_GROUPS)
model_registry.register("lstm-lm", "textgen_eval.generators.lstm_lm.model:LSTMLanguageModel")
model_registry.register("jsdgan", "textgen_eval.generators.lstm_lm.jsdgan:JSDGAN")
model_registry.register("transformer-lm", "textgen_eval.generators.transformer_lm.model:TransformerLM")
model_registry.register("lstm-vae", "textgen_eval.generators.vae.lstm_vae:LSTMVAE")
model_registry.register("hybrid-vae", "textgen_eval.generators.vae.hybrid:HybridVAE")
model_registry.register("wgan-conv-deconv", "textgen_eval.generators.wgan.model:WGANConvDeconv")
model_registry.register("wgan-conv-lstm", "textgen_eval.generators.wgan.model:WGANConvLSTM")
model_registry.register("vae", "textgen_eval.images.model:VAE")
model_registry.register("ladder-vae", "textgen_eval.images.model:LadderVAE")
model_registry.register("bnn", "textgen_eval.images.classifier:BayesianClassifier")
model_registry.register("compound-vae", "textgen_eval.images.compound:CompoundVAE")
model_registry.register("weight-vae", "textgen_eval.images.weight_vae:WeightVAE")
for _name, _cls in (
    ("seqgan-reinforce", "SeqGANReinforce"),
    ("seqgan-step", "SeqGANStep"),
    ("seqgan-rollout", "SeqGANRollout"),
    ("leakgan-leak", "LeakGANLeak"),
    ("leakgan-noleak", "LeakGANNoLeak"),
    ("leakgan-mixed", "LeakGANMixed"),
    ("maligan", "MaliGAN"),
    ("dpgan", "DPGAN"),
    ("rankgan", "RankGAN"),
    ("leakgan", "GuoLeakGAN"),
    ("cot", "CoT"),
    ("relgan", "RelGAN"),
    ("gsgan", "GSGAN"),
    ("textgan", "TextGAN"),
):
    model_registry.register(_name, f"textgen_eval.generators.discrete.model:{_cls}")


def model_class(name: str) -> type[Model[Any]]:
    """The class registered as ``name`` (or an alias), checked to be a :class:`Model`."""
    entry = model_registry.entry(ALIASES.get(name, name))
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise PluginError(f"model plugin {name!r} ({entry.origin}) is {cls!r}, expected a Model subclass")
    return cls


def model_directory(directory: str | Path) -> Path:
    """A saved model's directory: ``directory`` itself or a `tge train` run's ``model/``."""
    directory = Path(directory)
    if (directory / MODEL_DIR / CONFIG_FILE).is_file():
        return directory / MODEL_DIR
    return directory


def load_model(directory: str | Path) -> Model[Any]:
    """Load any saved model: its ``config.json`` names its class."""
    directory = model_directory(directory)
    payload = read_config(directory)
    return model_class(str(payload["generator"])).load(directory)


def describe_models() -> list[dict[str, str]]:
    """Name, modality, description, paper and origin of every registered model."""
    rows = []
    for entry in model_registry.entries():
        cls = model_class(entry.name)
        rows.append(
            {
                "name": entry.name,
                "modality": cls.modality,
                "description": cls.description,
                "paper": cls.paper,
                "origin": entry.origin,
            }
        )
    return rows
