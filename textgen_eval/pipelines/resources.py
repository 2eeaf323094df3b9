"""Evaluation resources: the cached reference LM, featurizers, scorers and the reverse LM.

The reference LM is trained once per (bundle data, recipe, package and torch version) and cached
under ``cache_dir()/reference-lm/<key>`` through the one verified cache
(:mod:`textgen_eval.core.verified_cache`: a builder lock, a temporary directory renamed into place,
content hashes checked on every load, a bad entry rebuilt with a note, checkpoints kept in the
entry's partial directory).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from textgen_eval import __version__
from textgen_eval.core.cache import cache_dir
from textgen_eval.core.errors import InputError, MetricError, TrainingInterrupted
from textgen_eval.core.files import atomic_write_bytes
from textgen_eval.core.hashing import file_digest, text_digest
from textgen_eval.core.protocols import Featurizer, HasVocabulary, SequenceScorer, TrainedScore
from textgen_eval.core.training import CHECKPOINT
from textgen_eval.core.verified_cache import META, Built, CacheEntry, load_or_build
from textgen_eval.data.bundles import Bundle
from textgen_eval.data.shipped import shipped_entry
from textgen_eval.data.sources import read_texts
from textgen_eval.data.vocab import Vocab
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel, corpus_nll
from textgen_eval.metrics.featurizers import make_featurizer
from textgen_eval.metrics.lm_scorers import make_scorer
from textgen_eval.pipelines.recipes import REFERENCE_LM, REVERSE_LM, Recipe, split_train_valid
from textgen_eval.training import Runner
from textgen_eval.training.callbacks import Callback, ProgressBar

__all__ = ["META", "BundleTexts", "MemoFeaturizer", "ReferenceResources", "stored_features"]
#: Wall minutes of the default reference-LM recipe per 100k training tokens on 2 CPU cores
#: (COCO: 105k tokens, 3.1 min measured; a larger vocabulary costs more): the "about" of the note.
REFERENCE_MINUTES_PER_100K_TOKENS = 3.0


def _lines(path: Path) -> list[str]:
    texts = read_texts(path, option="--bundle")
    if len(texts) == 0:
        raise InputError(f"{path}: the bundle split is empty")
    return list(texts)


class BundleTexts:
    """The train / valid / test text of a reference bundle (validation carved when absent)."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        train_all = _lines(bundle.train)
        if bundle.valid is not None:
            self.train, self.valid = train_all, _lines(bundle.valid)
            self.valid_policy = f"valid@{file_digest(str(bundle.valid), 8)}"
        else:
            self.train, self.valid = split_train_valid(train_all)
            self.valid_policy = "carved-every-20th"
        if not self.train or not self.valid:
            raise InputError(f"bundle {bundle.name!r}: need non-empty training and validation text")
        self.test = _lines(bundle.test)
        self.train_digest = file_digest(str(bundle.train), 12)
        self.label = f"{bundle.name}@{self.train_digest[:8]}"


#: FD's default featurizer on fixed-length token-id corpora (synthetic-oracle bundles).
TOKEN_ID_FEATURIZER = "lm"


class ReferenceResources:
    """Implements :class:`~textgen_eval.core.protocols.EvaluationResources` for one bundle."""

    def __init__(
        self,
        bundle: Bundle,
        *,
        reference_recipe: Recipe = REFERENCE_LM,
        reverse_recipe: Recipe = REVERSE_LM,
        progress: bool = False,
        notes: list[str] | None = None,
    ) -> None:
        self.bundle = bundle
        self.reference_recipe = reference_recipe
        self.reverse_recipe = reverse_recipe
        self.progress = progress
        self.notes = notes if notes is not None else []
        self._texts: BundleTexts | None = None
        self._reference: ReferenceLM | None = None
        self._cache: dict[tuple[str, str | None], Any] = {}
        self.cache_state = "unused"

    @property
    def texts(self) -> BundleTexts:
        if self._texts is None:
            self._texts = BundleTexts(self.bundle)
        return self._texts

    def _callbacks(self, desc: str) -> list[Callback]:
        return [ProgressBar(desc=desc)] if self.progress else []

    # -- the reference LM ------------------------------------------------------------------------

    def cache_key(self) -> str:
        """The bundle, its training data and the recipe — not the package or torch version, so a
        release retrains nothing and the shipped reference LMs (:mod:`textgen_eval.data.shipped`)
        are used while their key is this one."""
        blob = json.dumps(
            {
                "train": self.texts.train_digest,
                "valid": self.texts.valid_policy,
                "recipe": self.reference_recipe.id,
            },
            sort_keys=True,
        )
        return (
            f"{self.bundle.name}-{self.reference_recipe.id}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"
        )

    def reference_model(self) -> ReferenceLM:
        if self._reference is None:
            self._reference = ReferenceLM(self._load_or_build(), self.cache_key(), self.texts.label)
        return self._reference

    def _load_or_build(self) -> LSTMLanguageModel:
        def load(path: Path, meta: Mapping[str, Any]) -> LSTMLanguageModel:
            model = LSTMLanguageModel.load(path)
            if not isinstance(model, LSTMLanguageModel):
                raise InputError(f"{path}: holds a {model.name}, not the reference LM")
            return model

        key = self.cache_key()
        entry = CacheEntry(cache_dir() / "reference-lm", key)
        model, self.cache_state = load_or_build(
            entry,
            load,
            self._build,
            what="reference LM",
            notes=self.notes,
            shipped=shipped_entry("reference-lm", key),
        )
        return model

    def _build(self, partial: Path, target: Path) -> Built[LSTMLanguageModel]:
        """Train the reference LM into ``target`` (under the builder lock). It trains in the
        entry's stable partial directory with the runner's checkpoints, so Ctrl-C (or a crash)
        loses at most the steps since the last checkpoint: the next build resumes from it, to the
        same weights as an uninterrupted build (the runner's resume is exact)."""
        recipe = self.reference_recipe
        texts = self.texts
        _check_recipe_fits("the reference LM", recipe, texts.train, texts.valid, None)
        entry = target.parent / self.cache_key()
        resume = (partial / CHECKPOINT).is_file()
        tokens = sum(len(t.split()) for t in texts.train)
        minutes = REFERENCE_MINUTES_PER_100K_TOKENS * tokens / 100_000
        if resume:
            what = f"resuming the reference LM's training from its checkpoint in {partial}"
        else:
            what = (
                f"training the reference LM on {self.bundle.name} ({len(texts.train):,} sentences, recipe "
                f"{recipe.id}; about {max(1, round(minutes))} min on 2 idle CPU cores for {tokens:,} tokens, "
                "more on a busy machine or with a large vocabulary)"
            )
        self.notes.append(f"{what}; cached in {entry}; Ctrl-C keeps its progress")
        model = LSTMLanguageModel({"model": recipe.model, "train": recipe.train})
        runner = Runner(recipe.runner, callbacks=self._callbacks("reference LM"), run_dir=partial)
        try:
            result = model.fit(texts.train, texts.valid, runner, resume=resume)
        except TrainingInterrupted:
            raise TrainingInterrupted(
                f"interrupted while training the reference LM; its checkpoint is in {partial}, and the same "
                "command resumes the training from it"
            ) from None
        model.save(target)
        meta = {
            "recipe": recipe.to_dict(),
            "recipe_id": recipe.id,
            "bundle": self.bundle.name,
            "train_digest": texts.train_digest,
            "valid": texts.valid_policy,
            "result": result.to_dict(),
            "version": __version__,
        }
        return Built(model, meta)

    # -- EvaluationResources -----------------------------------------------------------------------

    def scorer(self, spec: str | None = None) -> SequenceScorer:
        key = ("scorer", spec)
        if key not in self._cache:
            self._cache[key] = make_scorer(spec, self)
        scorer: SequenceScorer = self._cache[key]
        return scorer

    def featurizer(self, spec: str | None = None) -> Featurizer:
        if spec is None and self.bundle.meta.format is not None:
            # the NLI encoder has no vocabulary for token ids: FD of a token-id corpus reads the
            # reference LM's states, trained on the bundle's own training split (docs/metrics.md)
            spec = TOKEN_ID_FEATURIZER
            if ("featurizer", spec) not in self._cache:
                self.notes.append(
                    f"{self.bundle.name} is a token-id corpus: FD, k-NN and MAUVE read the reference LM's "
                    f"states (--featurizer {spec}); the default NLI encoder has no vocabulary for token ids"
                )
        key = ("featurizer", spec)
        if key not in self._cache:
            self._cache[key] = MemoFeaturizer(make_featurizer(spec, self))
        featurizer: Featurizer = self._cache[key]
        return featurizer

    def training_texts(self) -> Sequence[str]:
        return self.texts.train

    def training_label(self) -> str:
        texts = self.texts  # the sentences generators train on: train.txt less a carved validation
        return f"{self.bundle.name}/train@{texts.train_digest[:12]}-{texts.valid_policy}"

    def reverse_lm(self, samples: Sequence[str], *, seed: int) -> TrainedScore:
        from textgen_eval.core.config import replace
        from textgen_eval.data.batching import encode_corpus

        reference = self.reference_model().model
        recipe = self.reverse_recipe
        texts = self.texts
        runner_cfg = replace(recipe.runner, seed=seed)
        _check_recipe_fits("the reverse LM", recipe, samples, texts.valid, reference.vocab)
        model = LSTMLanguageModel({"model": recipe.model, "train": recipe.train}, vocab=reference.vocab)
        result = model.fit(
            list(samples), texts.valid, Runner(runner_cfg, callbacks=self._callbacks("reverse LM"))
        )
        assert model.vocab is not None and model.net is not None
        test = encode_corpus(texts.test, model.vocab, source=str(self.bundle.test))
        total, count = corpus_nll(model.net, test, recipe.train.eval_batch_size, model.device)
        value = total / count
        details = {
            "perplexity": math.exp(min(value, 700.0)),
            "test_tokens": count,
            "epochs": result.epochs,
            "best_valid_loss": result.best,
            "stopped": result.stopped,
            "train_sentences": model.train_info.get("train_sentences"),
            "dropped_long": model.train_info.get("dropped_long"),
        }
        settings = {
            "recipe": recipe.id,
            "vocab": reference.vocab.signature if reference.vocab else "none",
            "test": f"{self.bundle.name}/test@{file_digest(str(self.bundle.test), 8)}",
            "valid": texts.valid_policy,
        }
        return TrainedScore(value=value, settings=settings, details=details)


class MemoFeaturizer:
    """A featurizer that remembers its last few results by (role, content digest): the metrics of
    one evaluation (fd, knn-*, mauve) and the points of a meta-evaluation embed the same
    references once. Features are returned read-only."""

    def __init__(self, inner: Featurizer, size: int = 4) -> None:
        self.inner = inner
        self.size = size
        self._memo: dict[tuple[str, str, int], Any] = {}

    @property
    def signature(self) -> str:
        return self.inner.signature

    def oov_rate(self, texts: Sequence[str]) -> float | None:
        """The wrapped featurizer's, when it has a vocabulary."""
        return self.inner.oov_rate(texts) if isinstance(self.inner, HasVocabulary) else None

    def features(self, texts: Sequence[str], *, role: str = "samples") -> Any:
        key = (role, text_digest(texts, 32), len(texts))
        if key not in self._memo:
            if len(self._memo) >= self.size:
                self._memo.pop(next(iter(self._memo)))
            stored = getattr(self.inner, "features_cache_key", None)
            if role == "references" and isinstance(stored, str):
                array = stored_features(
                    f"{stored}-{key[1]}-{key[2]}", lambda: self.inner.features(texts, role=role)
                )
            else:
                array = self.inner.features(texts, role=role)
            if hasattr(array, "setflags"):
                array.setflags(write=False)
            self._memo[key] = array
        return self._memo[key]


def stored_features(key: str, compute: Callable[[], Any]) -> Any:
    """Reference features kept on disk across runs (the verified cache entry
    ``$TGE_CACHE_DIR/features/KEY``): the same references through the same encoder weights (``key``
    names both) give the same array, so a warm run reads them instead of embedding 10,000
    sentences again (issue 33). Stored as float32 when that is exact (the encoder computes in
    float32), else float64; loaded without pickling."""
    import io

    import numpy as np

    from textgen_eval.core.safe_load import load_array

    def load(path: Path, meta: Mapping[str, Any]) -> Any:
        return np.asarray(
            load_array(path / "features.npy", what="stored reference features"), dtype=np.float64
        )

    computed: list[Any] = []  # kept, so a cache that cannot be written does not embed twice

    def build(partial: Path, target: Path) -> Built[Any]:
        array = np.asarray(compute(), dtype=np.float64)
        computed.append(array)
        narrow = array.astype(np.float32)
        kept = narrow if np.array_equal(narrow.astype(np.float64), array) else array
        buffer = io.BytesIO()
        np.save(buffer, kept, allow_pickle=False)
        atomic_write_bytes(target / "features.npy", buffer.getvalue())
        return Built(array, {"shape": list(array.shape), "stored_dtype": str(kept.dtype)})

    entry = CacheEntry(cache_dir() / "features", key)
    try:
        array, _ = load_or_build(entry, load, build, what="reference features")
    except OSError:  # a read-only or full cache: the features are returned, not stored
        array = computed[0] if computed else np.asarray(compute(), dtype=np.float64)
    return array


class ReferenceLM:
    """The cached reference LM as scorer and featurizer, with a signature naming the cache key."""

    def __init__(self, model: LSTMLanguageModel, key: str, bundle_label: str) -> None:
        self.model = model
        self.key = key
        self.bundle_label = bundle_label

    @property
    def signature(self) -> str:
        return f"ref:{self.key}"

    def score_texts(self, texts: Sequence[str]) -> Any:
        if len(texts) == 0:
            raise MetricError("no samples to score")
        return self.model.score_texts(texts)

    def oov_rate(self, texts: Sequence[str]) -> float:
        vocab = self.model.vocab
        assert vocab is not None, "the reference LM is trained, so it has a vocabulary"
        return float(vocab.oov_rate(texts))

    def features(self, texts: Sequence[str], *, role: str = "samples") -> Any:
        return self.model.features(texts, role=role)


def _check_recipe_fits(
    what: str, recipe: Recipe, train: Sequence[str], valid: Sequence[str] | None, vocab: Vocab | None
) -> None:
    """Refuse a recipe (``--lm-recipe-set model.hidden_size=10⁹``) whose LM this machine cannot hold,
    before it trains or writes its cache entry (:mod:`textgen_eval.pipelines.preflight`)."""
    from textgen_eval.pipelines.preflight import available_memory, check_fits

    probe = LSTMLanguageModel({"model": recipe.model, "train": recipe.train}, vocab=vocab)
    if probe.vocab is None:
        probe.prepare_corpora(list(train), None if valid is None else list(valid))
    check_fits(
        f"{what} (--lm-recipe-set)", probe.build_net, {"model": recipe.model}, available=available_memory()
    )
