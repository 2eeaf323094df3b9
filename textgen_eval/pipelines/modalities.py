"""What differs between modalities when a model is trained: where its training data comes from.

Each modality registers a :class:`TrainingDataSource`; ``tge train`` and the tuning trials ask
it for the train/valid data of a bundle or of explicit files. Image models add theirs here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.hashing import text_digest
from textgen_eval.core.registry import Registry
from textgen_eval.data.token_ids import TokenIdFormat


@dataclass(frozen=True)
class TrainingData:
    """Training and validation data plus a JSON-able record of where they came from (``run.json``)."""

    train: Any
    valid: Any | None
    source: dict[str, Any] = field(default_factory=dict)
    #: The content of the data, not how it was named (digests): a resumed run must be given the
    #: same (``run.json``'s ``data_identity``).
    identity: str = ""
    #: A fixed-length token-id corpus (a synthetic-oracle bundle's ``bundle.json``): the model
    #: trains and samples in that format (:meth:`~textgen_eval.generators.Generator.use_format`).
    text_format: TokenIdFormat | None = None


class TrainingDataSource(Protocol):
    def from_bundle(self, bundle: str) -> TrainingData: ...

    def from_files(self, train: str, valid: str | None) -> TrainingData: ...


class TextData:
    """Sentences: a bundle's train split and its valid split (carved, every 20th line, when absent),
    or the ``--train``/``--valid`` files."""

    def from_bundle(self, bundle: str) -> TrainingData:

        from textgen_eval.data.bundles import bundle_reference, resolve_bundle
        from textgen_eval.pipelines.resources import BundleTexts

        resolved = resolve_bundle(bundle)
        texts = BundleTexts(resolved)
        fmt = resolved.meta.format
        source = {
            "bundle": bundle_reference(bundle),
            "train_digest": texts.train_digest,
            "valid": texts.valid_policy,
            **({"format": fmt.to_dict()} if fmt is not None else {}),
        }
        identity = f"text:train@{texts.train_digest},{texts.valid_policy}"
        return TrainingData(list(texts.train), list(texts.valid), source, identity, fmt)

    def from_files(self, train: str, valid: str | None) -> TrainingData:
        from textgen_eval.core.hashing import file_digest
        from textgen_eval.data.sources import read_texts

        train_texts: Sequence[str] = read_texts(train, option="--train")
        valid_texts = read_texts(valid, option="--valid") if valid else None
        source: dict[str, Any] = {"train": train, "valid": valid}
        if not train.startswith("hf:"):
            source["train_digest"] = file_digest(train, 12)
        if valid and not valid.startswith("hf:"):
            source["valid_digest"] = file_digest(valid, 12)
        pairs = (("train", train_texts), ("valid", valid_texts))
        identity = "text:" + ",".join(
            f"{role}@{text_digest(texts) if texts is not None else 'none'}" for role, texts in pairs
        )
        valid_list = list(valid_texts) if valid_texts is not None else None
        return TrainingData(list(train_texts), valid_list, source, identity)


class ImageData:
    """Images: an image bundle's train and valid splits (``mnist-binarized``, or a directory of
    ``.npy`` splits), or ``--train X.npy [--valid Y.npy]``."""

    def from_bundle(self, bundle: str) -> TrainingData:
        from textgen_eval.data.images import resolve_image_bundle

        resolved = resolve_image_bundle(bundle)
        return TrainingData(resolved.train, resolved.valid, resolved.source(), image_identity(resolved))

    def from_files(self, train: str, valid: str | None) -> TrainingData:
        from pathlib import Path

        from textgen_eval.data.images import load_npy_split

        train_split = load_npy_split(Path(train), "train")
        valid_split = load_npy_split(Path(valid), "valid") if valid else None
        if valid_split is not None and valid_split.shape != train_split.shape:
            raise ConfigError(
                f"--valid {valid}: images of shape {valid_split.shape}, --train has {train_split.shape}"
            )
        source: dict[str, Any] = {
            "modality": "image",
            "train": train_split.describe(),
            "valid": valid_split.describe() if valid_split is not None else None,
        }
        return TrainingData(train_split, valid_split, source, image_identity(train_split, valid_split))


def image_identity(train: Any, valid: Any | None = None) -> str:
    """The pixel digests of an image bundle's train and valid splits (or of two split files)."""
    if hasattr(train, "train"):  # an ImageBundle
        train, valid = train.train, train.valid
    return f"image:train@{train.digest},valid@{valid.digest if valid is not None else 'none'}"


modality_registry: Registry[TrainingDataSource] = Registry("modality")
modality_registry.register("text", TextData())
modality_registry.register("image", ImageData())


def training_data(modality: str, *, bundle: str | None, train: str | None, valid: str | None) -> TrainingData:
    """The data of ``--data BUNDLE`` or ``--train FILE [--valid FILE]`` (exactly one of the two)."""
    if modality not in modality_registry:
        raise ConfigError(f"no training data source for modality {modality!r}")
    source = modality_registry.get(modality)
    if bundle is not None and train is not None:
        raise ConfigError("give either --data BUNDLE or --train FILE [--valid FILE], not both")
    if bundle is not None:
        if valid is not None:
            raise ConfigError("--valid goes with --train; a bundle brings its own validation split")
        return source.from_bundle(bundle)
    if train is None:
        raise ConfigError("no training data: give --data BUNDLE (e.g. coco) or --train FILE [--valid FILE]")
    return source.from_files(train, valid)
