"""Sentence featurizers for the Fréchet Distance: a registry of specs → :class:`Featurizer`.

- ``encoder`` (default): an InferSent-style BiLSTM-max sentence encoder trained offline on the
  bundled NLI pairs (:mod:`textgen_eval.metrics.nli_encoder`); the same for every bundle.
  Chosen by measurement (docs/reproductions.md, "Choosing FD's featurizer").
- ``lm``: the reference LSTM LM's hidden states, mean-pooled over the positions after each token
  and EOS (see ``LSTMLanguageModel.features``); trained offline on the bundle.
- ``hf:NAME_OR_PATH``: a ``transformers`` encoder, last hidden layer mean-pooled over the
  attention mask (a local directory loads with ``local_files_only``).
- ``npy:SAMPLES.npy,REFERENCES.npy``: precomputed features, row ``i`` = line ``i``.
- ``lsa[:dim=128,min_df=2]``: TF-IDF + truncated SVD fitted on the bundle's training text
  (:mod:`textgen_eval.metrics.lsa`), cached on disk.

Plugins add featurizers under the entry-point group ``textgen_eval.featurizers``: a callable
``factory(arg: str, resources) -> Featurizer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textgen_eval.core.errors import ConfigError, InputError, MetricError, MissingDependencyError
from textgen_eval.core.hashing import file_digest
from textgen_eval.core.protocols import EvaluationResources, Featurizer
from textgen_eval.core.registry import Registry
from textgen_eval.core.safe_load import load_array
from textgen_eval.metrics.lsa import fit_lsa

FeaturizerFactory = Callable[[str, EvaluationResources], Featurizer]

featurizer_registry: Registry[FeaturizerFactory] = Registry("featurizer", group="textgen_eval.featurizers")
DEFAULT_FEATURIZER = "encoder"


def _lm(arg: str, resources: EvaluationResources) -> Featurizer:
    if arg:
        raise ConfigError(f"featurizer 'lm' takes no argument (got lm:{arg}); use hf:PATH for other models")
    model: Featurizer = resources.reference_model()
    return model


class NpyFeaturizer:
    """Precomputed features for the samples and for the references."""

    def __init__(self, samples_path: str, references_path: str) -> None:
        self.paths = {"samples": Path(samples_path), "references": Path(references_path)}
        self.arrays = {role: self._load(path) for role, path in self.paths.items()}
        dims = {role: arr.shape[1] for role, arr in self.arrays.items()}
        if dims["samples"] != dims["references"]:
            raise InputError(
                f"--featurizer npy: {self.paths['samples']} has {dims['samples']} feature columns but "
                f"{self.paths['references']} has {dims['references']}; both must come from one featurizer"
            )
        self._signature = "npy-" + "-".join(file_digest(str(p), 8) for p in self.paths.values())

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        if not path.is_file():
            raise InputError(f"{path}: features file not found (--featurizer npy:SAMPLES.npy,REFERENCES.npy)")
        arr = load_array(path, what="a NumPy .npy array of features")
        if not isinstance(arr, np.ndarray):
            raise InputError(f"{path}: not a NumPy .npy array of features (an .npz archive)")
        if arr.ndim != 2:
            raise InputError(f"{path}: expected a 2-D (n, d) array, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise InputError(f"{path}: expected real numbers, got dtype {arr.dtype}")
        arr = np.asarray(arr, dtype=np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise InputError(
                f"{path}: NaN or infinity at row {row + 1}, column {col + 1} ({int(bad.sum())} such values); "
                "expected finite features"
            )
        return arr

    @property
    def signature(self) -> str:
        return self._signature

    def features(self, texts: Sequence[str], *, role: str = "samples") -> np.ndarray:
        arr = self.arrays[role]
        if arr.shape[0] != len(texts):
            raise InputError(
                f"{self.paths[role]}: {arr.shape[0]} feature rows but {len(texts)} {role}; "
                "row i must hold the features of line i"
            )
        return arr


def _npy(arg: str, resources: EvaluationResources) -> Featurizer:
    parts = [p for p in arg.split(",") if p]
    if len(parts) != 2:
        raise ConfigError(
            f"--featurizer npy:{arg}: expected npy:SAMPLES.npy,REFERENCES.npy (features of both sets)"
        )
    return NpyFeaturizer(parts[0], parts[1])


def import_transformers(feature: str) -> Any:
    try:
        import transformers
    except ImportError:
        raise MissingDependencyError("transformers", feature) from None
    return transformers


def load_hf(name: str, auto_class: str, option: str, device: str) -> tuple[Any, Any]:
    """``(tokenizer, model)`` for ``hf:NAME_OR_PATH`` with ``transformers.<auto_class>``, in eval
    mode on ``device``. Local directories load with ``local_files_only`` (no network)."""
    transformers = import_transformers(option)
    kwargs = {"local_files_only": True} if Path(name).is_dir() else {}
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(name, **kwargs)
        model = getattr(transformers, auto_class).from_pretrained(name, **kwargs).to(device).eval()
    except (OSError, ValueError, KeyError) as exc:  # missing files, unknown model types
        raise InputError(f"{option}{name}: cannot load the model or tokenizer ({exc})") from None
    return tokenizer, model


class HFEncoderFeaturizer:
    """Mean-pooled last hidden layer of a ``transformers`` encoder (e.g. BERT)."""

    def __init__(self, name: str, *, batch_size: int = 64, device: str = "cpu") -> None:
        import torch

        self.tokenizer, self.model = load_hf(name, "AutoModel", "--featurizer hf:", device)
        self.name = name
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.max_len = int(getattr(self.model.config, "max_position_embeddings", 512))

    @property
    def signature(self) -> str:
        path = Path(self.name)
        ident = path.name if path.is_dir() else self.name
        return f"hf-{ident}-{type(self.model).__name__}-meanpool"

    def features(self, texts: Sequence[str], *, role: str = "samples") -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                chunk = list(texts[start : start + self.batch_size])
                enc = self.tokenizer(chunk, padding=True, truncation=False, return_tensors="pt")
                if enc["input_ids"].shape[1] > self.max_len:
                    lengths = enc["attention_mask"].sum(dim=1)
                    worst = int(lengths.argmax())
                    raise MetricError(
                        f"{role} line {start + worst + 1} has {int(lengths[worst])} tokens; hf:{self.name} "
                        f"accepts at most {self.max_len}"
                    )
                enc = {k: v.to(self.device) for k, v in enc.items()}
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
                out.append(pooled.double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 1))


def _hf(arg: str, resources: EvaluationResources) -> Featurizer:
    if not arg:
        raise ConfigError("--featurizer hf: needs a model name or path, e.g. hf:bert-base-uncased")
    return HFEncoderFeaturizer(arg)


class LsaFeaturizer:
    """TF-IDF + truncated SVD fitted on the bundle's training text (:mod:`textgen_eval.metrics.lsa`),
    cached on disk under ``cache_dir()/featurizers`` keyed by the training text, the settings and
    the package version, with a content hash checked on load (a bad entry is rebuilt)."""

    def __init__(self, resources: EvaluationResources, *, dim: int = 128, min_df: int = 2) -> None:
        self.dim, self.min_df = dim, min_df
        self.train_label = resources.training_label()
        self._resources = resources
        self._model: Any = None

    @property
    def signature(self) -> str:
        return f"lsa-d{self.dim}-mindf{self.min_df}-sublinear-{self.train_label}"

    def _key(self) -> str:
        import hashlib

        from textgen_eval import __version__

        blob = f"{self.train_label}|{self.dim}|{self.min_df}|{__version__}"
        return "lsa-" + hashlib.sha256(blob.encode()).hexdigest()[:16]

    def model(self) -> Any:
        if self._model is None:
            self._model = load_or_fit_lsa(
                self._key(),
                lambda: fit_lsa(list(self._resources.training_texts()), dim=self.dim, min_df=self.min_df),
            )
        return self._model

    def features(self, texts: Sequence[str], *, role: str = "samples") -> np.ndarray:
        return self.model().features(texts)


def load_or_fit_lsa(key: str, fit: Callable[[], Any]) -> Any:
    """The cached LSA model ``key``, or ``fit()`` it (once across processes) and cache it in the
    verified cache entry ``featurizers/KEY`` (:mod:`textgen_eval.core.verified_cache`)."""
    import io

    from textgen_eval.core.cache import cache_dir
    from textgen_eval.core.files import atomic_write_bytes
    from textgen_eval.core.verified_cache import Built, CacheEntry, load_or_build
    from textgen_eval.metrics.lsa import LsaModel

    def load(path: Path, meta: Mapping[str, Any]) -> Any:
        try:
            arrays = load_array(path / "lsa.npz", what="an LSA model")
            words = [str(w) for w in arrays["words"]]
            return LsaModel({w: i for i, w in enumerate(words)}, arrays["idf"], arrays["components"])
        except IndexError as exc:
            raise ValueError(f"not an LSA model ({exc})") from None

    def build(partial: Path, target: Path) -> Built[Any]:
        model = fit()
        buffer = io.BytesIO()
        words = np.array(sorted(model.vocab, key=model.vocab.__getitem__))
        np.savez(buffer, words=words, idf=model.idf, components=model.components)
        atomic_write_bytes(target / "lsa.npz", buffer.getvalue())
        return Built(model, {"key": key})

    model, _ = load_or_build(CacheEntry(cache_dir() / "featurizers", key), load, build, what="LSA featurizer")
    return model


def spec_settings(name: str, arg: str) -> dict[str, str]:
    """``key=value,...`` of a ``--featurizer NAME:ARG`` spec (``--set``'s parser and messages)."""
    from textgen_eval.core.config import parse_assignments

    return parse_assignments([p for p in arg.split(",") if p.strip()], option=f"--featurizer {name}:")


def _lsa(arg: str, resources: EvaluationResources) -> Featurizer:
    settings = {"dim": 128, "min_df": 2}
    for key, value in spec_settings("lsa", arg).items():
        if key not in settings or not value.isdigit():
            raise ConfigError(f"--featurizer lsa:{arg}: expected lsa[:dim=D,min_df=M] with integers ≥ 1")
        settings[key] = int(value)
    if settings["dim"] < 1 or settings["min_df"] < 1:
        raise ConfigError(f"--featurizer lsa:{arg}: dim and min_df must be ≥ 1")
    return LsaFeaturizer(resources, dim=settings["dim"], min_df=settings["min_df"])


featurizer_registry.register("lm", _lm)
featurizer_registry.register("lsa", _lsa)
featurizer_registry.register("npy", _npy)
featurizer_registry.register("encoder", "textgen_eval.metrics.nli_encoder:make_encoder_featurizer")
featurizer_registry.register("hf", _hf)


def make_featurizer(spec: str | None, resources: EvaluationResources) -> Featurizer:
    name, _, arg = (spec or DEFAULT_FEATURIZER).partition(":")
    return featurizer_registry.get(name)(arg, resources)
