"""``evaluate()``: score a set of generated sentences with any registered metrics.

This is what ``tge evaluate`` calls; the CLI only parses options and formats the result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from textgen_eval import __version__
from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.notes import Notes
from textgen_eval.core.signature import with_field
from textgen_eval.data.bundles import DEFAULT_REFERENCE, resolve_bundle
from textgen_eval.data.sources import read_texts
from textgen_eval.data.textset import TextSet
from textgen_eval.data.tokenizers import Tokenizer, make_tokenizer
from textgen_eval.metrics.base import Metric, Score
from textgen_eval.metrics.presets import Preset, resolve_preset
from textgen_eval.metrics.registry import load_plugin, plugin_provenance, resolve_metric
from textgen_eval.metrics.tables import NgramTables
from textgen_eval.pipelines.sanity import (
    SanityWarning,
    copy_warnings,
    fd_size_warning,
    oov_warning,
    split_warnings,
)

if TYPE_CHECKING:
    from textgen_eval.pipelines.resources import ReferenceResources

#: The six metrics of the thesis' evaluation (Semeniuta 2019, §5.6 and Table 5.4).
DEFAULT_METRICS: tuple[str, ...] = (
    "bleu-4",
    "self-bleu-4",
    "unique-ngrams-4",
    "fd",
    "lm-score",
    "reverse-lm-score",
)
#: Metrics that train a model on the samples (skipped by ``fast=True`` / ``--fast``).
SLOW_METRICS: frozenset[str] = frozenset({"reverse-lm-score"})

TextSource = str | os.PathLike[str] | Sequence[str]


@dataclass
class EvaluationResult:
    """Scores plus a description of the inputs and settings they were computed with."""

    scores: list[Score]
    samples: dict[str, Any]
    reference: dict[str, Any] | None
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    version: str = __version__
    #: Leakage and sanity warnings (:mod:`textgen_eval.pipelines.sanity`).
    warnings: list[SanityWarning] = field(default_factory=list)

    def __getitem__(self, name: str) -> Score:
        for score in self.scores:
            if score.name == name:
                return score
        raise KeyError(f"no score named {name!r} (have: {', '.join(s.name for s in self.scores)})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": [score.to_dict() for score in self.scores],
            "samples": self.samples,
            "reference": self.reference,
            "settings": self.settings,
            "notes": self.notes,
            "warnings": [w.to_dict() for w in self.warnings],
            "version": self.version,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def parse_metric_list(metrics: str | Iterable[str] | None, *, fast: bool = False) -> list[str]:
    """``"bleu-4, self-bleu-4"`` or an iterable → names, without duplicates, order kept.

    ``None`` means :data:`DEFAULT_METRICS`, without :data:`SLOW_METRICS` when ``fast``.
    """
    if metrics is None:
        return [m for m in DEFAULT_METRICS if not (fast and m in SLOW_METRICS)]
    items = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = []
    for item in items:
        name = item.strip()
        if not name:
            raise ConfigError(f"--metrics {metrics!r}: empty metric name; expected a comma-separated list")
        if name not in names:
            names.append(name)
    if not names:
        raise ConfigError("--metrics: expected at least one metric name")
    return names


def metric_names(metrics: str | Iterable[str] | None, *, fast: bool, bundle: str) -> list[str]:
    """:func:`parse_metric_list`, with ``nll-oracle`` first when no metrics are named and the
    bundle is a synthetic-oracle bundle (there the truth is the first number to read)."""
    names = parse_metric_list(metrics, fast=fast)
    if metrics is None and resolve_bundle(bundle).meta.oracle is not None:
        names = ["nll-oracle", *names]
    return names


def _load_texts(
    source: TextSource, *, field: str | None, skip_empty: bool, option: str, allow_bundle: bool
) -> TextSet:
    if isinstance(source, (str, os.PathLike)):
        return read_texts(
            source, field=field, skip_empty=skip_empty, option=option, allow_bundle=allow_bundle
        )
    if isinstance(source, TextSet) and not skip_empty:
        return source
    texts = list(source)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ConfigError(f"sentence {i} is {type(text).__name__}, expected str")
    kept = [t for t in texts if t.strip()] if skip_empty else texts
    return TextSet(kept, source="<memory>", n_skipped_empty=len(texts) - len(kept))


def evaluate(
    samples: TextSource,
    references: TextSource | None = None,
    *,
    metrics: str | Iterable[str] | None = None,
    preset: str | Preset = "full",
    tokenize: str | Tokenizer = "whitespace",
    lowercase: bool = False,
    skip_empty: bool = False,
    field: str | None = None,
    reference_field: str | None = None,
    plugins: Iterable[str] = (),
    bundle: str = DEFAULT_REFERENCE,
    lm: str | None = None,
    featurizer: str | None = None,
    fd_n: int | None = None,
    seed: int = 0,
    fast: bool = False,
    progress: bool = False,
    recipe_overrides: Mapping[str, str] | None = None,
    resources: ReferenceResources | None = None,
    ci: float | None = None,
    ci_resamples: int = 1000,
    knn_k: int | None = None,
    mauve_clusters: int | None = None,
    fd_se_resamples: int | None = None,
    notify: Callable[[str], None] | None = None,
    refuse_unreadable: bool = True,
) -> EvaluationResult:
    """Score ``samples`` with ``metrics``.

    Args:
        samples: a path / ``hf:`` spec, or a sequence of sentences.
        references: a path, a bundled corpus name (``coco``), an ``hf:`` spec or a sequence of
            sentences; ``None`` uses the bundled Image COCO test captions.
        metrics: names (``bleu-4``, ``self-bleu-4``, ...) as a list or a comma-separated string;
            ``None`` means :data:`DEFAULT_METRICS` (with ``nll-oracle`` first on an oracle bundle).
        preset: ``full``, ``texygen-fast`` or ``textgan`` (see docs/metrics.md).
        tokenize: ``whitespace``, ``char``, ``13a``, ``spm:PATH.model`` or ``spm:VOCAB_SIZE``.
        lowercase: lowercase samples and references before tokenizing.
        skip_empty: drop empty samples instead of scoring them as empty sentences.
        field / reference_field: the JSON-lines field or CSV column holding the text.
        plugins: ``module:attr`` metric classes to load before resolving ``metrics``.
        bundle: reference bundle (name or directory with train/[valid]/test.txt) for the
            model-based metrics; its test split is the default ``references``.
        lm: language model for ``lm-score``: ``reference`` (default) or ``hf:NAME_OR_PATH``.
        featurizer: embeddings for ``fd``: ``lm`` (default), ``hf:NAME_OR_PATH`` or
            ``npy:SAMPLES.npy,REFERENCES.npy``.
        fd_n: subsample both sets to this many sentences for ``fd`` (seeded by ``seed``).
        seed: seed of every stochastic metric (reverse LM training, FD subsampling).
        fast: with the default metrics, skip the reverse LM score; and, unless
            ``fd_se_resamples`` is given, FD's bootstrap standard error (its value and signature
            are unchanged: the standard error is a detail).
        progress: show progress bars (stderr) while models train.
        recipe_overrides: ``section.key`` → value changes to the reference/reverse LM recipes
            (the recipe id in the signatures changes with them).
        resources: a :class:`~textgen_eval.pipelines.resources.ReferenceResources` to reuse across
            calls (built for the same ``bundle`` and recipes), so the reference LM is loaded once;
            ``bundle``, ``progress`` and ``recipe_overrides`` are then ignored.
        ci: add a percentile bootstrap interval at this level (e.g. 0.95) to every score that
            supports one (means over samples, and FD); seeded by ``seed``.
        ci_resamples: bootstrap resamples per interval.
        knn_k: neighbourhood size of ``knn-precision`` / ``knn-recall`` (default 3).
        mauve_clusters: k-means clusters of ``mauve`` (default: one per ten points of the smaller set).
        fd_se_resamples: bootstrap resamples behind FD's standard error in its details (default
            50; 0 turns it off).
        notify: called with each note as it is taken (before the work it announces); the notes
            are also in the result.
        refuse_unreadable: raise :class:`InputError` before any scoring when ``lm-score`` is asked
            for and not one word of the samples is in the reference LM's vocabulary — a file
            tokenized or cased unlike the references. Tuning trials pass ``False``: there the
            samples are a generator's output, and a collapsed generator's all-``<unk>`` samples are
            a result to score (lm-score then notes the 100% OOV), not a bad input.
    """
    for spec in plugins:
        load_plugin(spec)
    chosen = resolve_preset(preset)
    instances: list[Metric] = [
        resolve_metric(name) for name in metric_names(metrics, fast=fast, bundle=bundle)
    ]
    notes: list[str] = Notes(notify)  # told at once: a note before long work precedes the work

    hyps = _load_texts(samples, field=field, skip_empty=skip_empty, option="--field", allow_bundle=False)
    refs: TextSet | None = None
    needs_refs = any(type(m).needs_references for m in instances)
    bundled = False
    if references is not None or needs_refs:
        if references is None:
            chosen_bundle = resolve_bundle(bundle)
            # a bundled name reads as "bundled:NAME/test"; a bundle directory (which wins over a
            # bundled name, even when spelled as a bare name) as its test file
            is_directory = os.path.isdir(bundle)
            references = str(chosen_bundle.test) if is_directory else bundle
            bundled = True
        else:
            bundled = False
        refs = _load_texts(
            references, field=reference_field, skip_empty=False, option="--reference-field", allow_bundle=True
        )
        if bundled:
            origin = ", Image COCO captions via Texygen" if refs.label == "bundled:coco/test" else ""
            notes.append(
                f"no --reference given: using the {'bundled ' if refs.label.startswith('bundled:') else ''}"
                f"reference {refs.label} ({len(refs):,} sentences{origin})"
            )
    if needs_refs or any(type(m).needs_resources for m in instances):
        shadow = resolve_bundle(bundle).note
        if shadow:
            notes.append(shadow)
    if hyps.n_empty:
        notes.append(
            f"{hyps.n_empty} of {len(hyps)} samples are empty and are scored as empty sentences "
            "(--skip-empty drops them)"
        )
    if hyps.n_skipped_empty:
        notes.append(f"skipped {hyps.n_skipped_empty} empty samples (--skip-empty)")

    tokenizer = make_tokenizer(tokenize, training_texts=refs if refs is not None else hyps)
    tables = NgramTables(tokenizer, lowercase=lowercase)
    tables.add(*([hyps] if refs is None else [hyps, refs]))
    context: dict[str, Any] = {
        "tokenizer": tokenizer,
        "lowercase": lowercase,
        "preset": chosen,
        "tables": tables,
        "skip_empty": skip_empty,
        "lm": lm,
        "featurizer": featurizer,
        "fd_n": fd_n,
        "seed": seed,
        "knn_k": knn_k,
        "mauve_clusters": mauve_clusters,
        # --fast leaves out FD's standard error unless it is asked for: 50 resampled FDs were more
        # than half of a warm --fast run (issue 33); FD's value and signature do not depend on it
        "fd_se_resamples": 0 if fast and fd_se_resamples is None else fd_se_resamples,
    }
    if any(type(m).needs_oracle for m in instances):
        context["oracle"] = _bundle_oracle(bundle)
    if not any(type(m).needs_resources for m in instances):
        resources = None
    elif resources is None:
        from textgen_eval.pipelines.resources import ReferenceResources as Resources

        resources = Resources(
            resolve_bundle(bundle), progress=progress, notes=notes, **recipes_with(recipe_overrides)
        )
    else:
        resources.notes = notes
    if resources is not None:
        context["resources"] = resources
        if refuse_unreadable and any(m.name == "lm-score" for m in instances):
            refuse_unreadable_samples(hyps, resources.scorer(lm))
    scores = []
    for metric in instances:
        score = metric.compute(hyps, refs, **context)
        provenance = plugin_provenance(type(metric))
        if provenance is not None:  # a plugin's own version changes its numbers, not the package's
            score = replace(score, signature=with_field(score.signature, "plugin", provenance))
        extra = score.details.get("notes") if isinstance(score.details, Mapping) else None
        if extra is not None:
            notes.extend(extra)
            score = replace(score, details={k: v for k, v in score.details.items() if k != "notes"})
        if ci is not None:
            score = with_interval(score, level=ci, resamples=ci_resamples, seed=seed, notes=notes)
        scores.append(score)
    settings = {
        "preset": chosen.name,
        "tokenize": tokenizer.signature,
        "lowercase": lowercase,
        "skip_empty": skip_empty,
        "seed": seed,
    }
    if resources is not None:
        settings["bundle"] = resources.texts.label
        settings["reference_lm_cache"] = resources.cache_state
    reference_info = None
    if refs is not None:
        reference_info = {**refs.describe(), "bundled": refs.label.startswith("bundled:")}
    warnings = sanity_checks(
        hyps, refs, scores, bundle=bundle, bundle_used=bundled or resources is not None,
        resources=resources, lm=lm, featurizer=featurizer,
    )  # fmt: skip
    return EvaluationResult(scores, hyps.describe(), reference_info, settings, notes, warnings=warnings)


def _bundle_oracle(bundle: str) -> object:
    """The synthetic oracle of ``bundle`` for ``nll-oracle`` (an error naming the bundle if it has none)."""
    from textgen_eval.data.bundle_meta import bundle_oracle

    chosen = resolve_bundle(bundle)
    found = bundle_oracle(chosen.path, chosen.name)
    if found is None:
        raise ConfigError(
            f"--bundle {bundle}: has no oracle (no 'oracle' in {chosen.path / 'bundle.json'}); nll-oracle "
            "needs a synthetic-oracle bundle: --bundle seqgan-oracle, or one made by "
            "`tge bundle OUT --oracle ...`"
        )
    return found


def refuse_unreadable_samples(hyps: TextSet, scorer: object) -> None:
    """Raise :class:`InputError` when not one word of ``hyps`` is in ``scorer``'s vocabulary."""
    from textgen_eval.core.protocols import HasVocabulary

    if isinstance(scorer, HasVocabulary) and scorer.oov_rate(hyps) == 1.0:  # 0.0 when there are no tokens
        raise InputError(
            f"{hyps.label}: none of the {len(hyps):,} samples has a word in the reference language "
            "model's vocabulary (100% OOV): are the samples tokenized and cased like the reference corpus?"
        )


#: Metrics that read the samples through FD's featurizer, and through the reference LM.
FEATURIZED = frozenset({"fd", "fd-inf", "knn-precision", "knn-recall", "mauve"})
LM_READ = frozenset({"lm-score", "reverse-lm-score"})


def sanity_checks(
    hyps: TextSet,
    refs: TextSet | None,
    scores: Sequence[Score],
    *,
    bundle: str,
    bundle_used: bool,
    resources: ReferenceResources | None,
    lm: str | None,
    featurizer: str | None,
) -> list[SanityWarning]:
    """The warnings of :mod:`textgen_eval.pipelines.sanity` that apply to this evaluation
    (``bundle_used``: the bundle gave the references or trains a model of the metrics)."""
    from textgen_eval.core.protocols import HasVocabulary

    names = {s.name for s in scores}
    training = resources.training_texts() if resources is not None else None
    warnings = copy_warnings(hyps, refs, training)
    if bundle_used:
        chosen = resolve_bundle(bundle)
        valid = chosen.valid

        def lines(path: Any) -> list[str]:
            return path.read_text(encoding="utf-8").splitlines()

        train = chosen.path / "train.txt"  # a references-only bundle may have none
        warnings += split_warnings(
            lines(train) if train.is_file() else None,
            lines(valid) if valid is not None else None,
            lines(chosen.test),
            chosen.name,
        )
    if resources is not None:
        if names & LM_READ:
            scorer = resources.scorer(lm)
            if isinstance(scorer, HasVocabulary):
                warnings += oov_warning(
                    scorer.oov_rate(hyps), f"the LM of {', '.join(sorted(names & LM_READ))}"
                )
        if names & FEATURIZED:
            reader = resources.featurizer(featurizer)
            rate = reader.oov_rate(hyps) if isinstance(reader, HasVocabulary) else None
            if rate is not None:
                warnings += oov_warning(rate, f"the featurizer of {', '.join(sorted(names & FEATURIZED))}")
    for score in scores:
        details = score.details if isinstance(score.details, Mapping) else {}
        if score.name in ("fd", "fd-inf") and "dim" in details:
            warnings += fd_size_warning(
                score.name, int(details.get("n_samples", score.n)), int(details["dim"])
            )
    return warnings


def with_interval(score: Score, *, level: float, resamples: int, seed: int, notes: list[str]) -> Score:
    """``score`` with a bootstrap interval in ``details["ci"]`` (a note when it has none)."""
    from textgen_eval.metrics.bootstrap import bootstrap_interval

    if score.resample is None:
        notes.append(f"--ci: {score.name} is not a mean over samples; no interval")
        return score
    interval = bootstrap_interval(score.resample, level=level, resamples=resamples, seed=seed)
    return replace(score, details={**score.details, "ci": interval.to_dict()})


def recipes_with(overrides: Mapping[str, str] | None) -> dict[str, Any]:
    """The reference and reverse LM recipes with ``section.key=value`` overrides applied."""
    if not overrides:
        return {}
    from textgen_eval.core.config import build_sections, to_dict
    from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
    from textgen_eval.pipelines.recipes import REFERENCE_LM, REVERSE_LM, Recipe
    from textgen_eval.training import RunnerConfig

    out = {}
    for key, base in (("reference_recipe", REFERENCE_LM), ("reverse_recipe", REVERSE_LM)):
        sections = build_sections(
            {"model": LSTMLMConfig, "train": TrainConfig, "runner": RunnerConfig},
            {"model": to_dict(base.model), "train": to_dict(base.train), "runner": to_dict(base.runner)},
            overrides,
            where="--lm-recipe-set",
        )
        out[key] = Recipe(base.name, sections["model"], sections["train"], sections["runner"])
    return out
