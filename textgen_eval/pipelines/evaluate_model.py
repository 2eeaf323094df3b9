"""``tge evaluate RUN_DIR``: sample from a trained model and score the samples, plus the model's
own likelihood of the bundle's test split where it defines one.

The bundle defaults to the one the model was trained on (``run.json``'s ``data.bundle``), so a
model is scored against its own data unless ``--bundle`` says otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.hashing import file_digest
from textgen_eval.core.model import CONFIG_FILE, WEIGHTS_FILE
from textgen_eval.core.models import model_directory
from textgen_eval.core.signature import make_signature, with_field
from textgen_eval.core.training import LOG, RUN_INFO
from textgen_eval.data.bundles import DEFAULT_REFERENCE, resolve_bundle
from textgen_eval.generators.base import Generator
from textgen_eval.generators.registry import load_generator
from textgen_eval.metrics.base import Score
from textgen_eval.pipelines.evaluate import EvaluationResult, evaluate
from textgen_eval.pipelines.rundir import read_run_info

DEFAULT_SAMPLES = 10_000


def is_model_directory(path: str | Path) -> bool:
    path = Path(path)
    return path.is_dir() and (model_directory(path) / CONFIG_FILE).is_file()


def model_modality(path: str | Path) -> str:
    """The modality a saved model's ``config.json`` records (``text`` for files that predate it)."""
    from textgen_eval.core.model import read_config

    return str(read_config(model_directory(Path(path))).get("modality", "text"))


def trained_bundle(path: str | Path) -> str | None:
    """The bundle a `tge train` run was trained on (``None`` for plain files or a bare model)."""
    path = Path(path)
    model_dir = model_directory(path)
    for candidate in (path / RUN_INFO, model_dir.parent / RUN_INFO):
        info = read_run_info(candidate)  # a damaged record is an error, never "no bundle" (→ COCO)
        if info is not None:
            bundle = (info.get("data") or {}).get("bundle")
            return str(bundle) if bundle else None
    return None


def evaluate_model(
    path: str | Path,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    max_len: int = 50,
    temperature: float = 1.0,
    bundle: str | None = None,
    progress: bool = False,
    **options: Any,
) -> EvaluationResult:
    """Draw ``samples`` sentences with ``seed`` from the model at ``path`` and score them with
    :func:`~textgen_eval.pipelines.evaluate.evaluate` (``options`` are its keyword arguments)."""
    if samples < 1:
        raise ConfigError(f"--samples must be ≥ 1, got {samples}")
    model = load_generator(path)
    notes: list[str] = []
    if bundle is None:
        bundle = trained_bundle(path)
        if bundle is None:
            bundle = DEFAULT_REFERENCE
            notes.append(
                f"{path}: no record of a training bundle (trained on --train files); scoring against the "
                f"bundled {bundle!r} (set --bundle)"
            )
        else:
            notes.append(f"scoring against {bundle!r}, the bundle the model was trained on")
    resolved = resolve_bundle(bundle)
    oracle = resolved.meta.format is not None  # a synthetic-oracle bundle: held-out and training NLL
    sample_metrics, own_metrics = split_model_metrics(options.pop("metrics", None), oracle=oracle)
    texts: list[str] = []
    if sample_metrics == "":  # only the model's own metrics were asked for: nothing is drawn
        result = EvaluationResult(scores=[], samples={}, reference=None, settings={"seed": seed})
    else:
        texts = _draw(model, samples, max_len=max_len, temperature=temperature, seed=seed, progress=progress)
        result = evaluate(
            texts, bundle=bundle, seed=seed, progress=progress, metrics=sample_metrics, **options
        )
    # scores of drawn samples depend on how they were drawn: the temperature joins each signature
    result.scores = [with_sampling(score, temperature) for score in result.scores]
    weights = model_directory(path) / WEIGHTS_FILE
    model_ref = f"{model.name}@{file_digest(str(weights), 12)}"
    notify = options.get("notify")
    if own_metrics and notify is not None:
        notify(f"scoring the model's own likelihood: {', '.join(own_metrics)} (every sentence of the split)")
    own = None
    if oracle:
        result.scores.extend(s for s in oracle_split_nlls(model, bundle, model_ref) if s.name in own_metrics)
    elif "model-nll" in own_metrics:
        own = model_likelihood(model, bundle, model_ref)
        if own is None:
            notes.append(f"model-nll: {model.name} defines no likelihood of text (none reported)")
    if own is not None:
        last = last_training_record(path)
        if last:  # e.g. a VAE's final KL weight, KL and reconstruction terms on its training batches
            own = replace(own, details={**own.details, "last_training_record": last})
        result.scores.append(own)
    result.samples = {
        "source": f"model:{model_directory(path)}",
        "model": model_ref,
        "n": len(texts),
        "seed": seed,
        "max_len": max_len,
        "temperature": temperature,
        "empty": sum(1 for t in texts if not t.strip()),
    }
    result.notes[:0] = notes
    return result


def _draw(
    model: Generator, n: int, *, max_len: int, temperature: float, seed: int, progress: bool
) -> list[str]:
    if not progress:
        return model.sample(n, max_len=max_len, temperature=temperature, seed=seed)
    import sys

    from tqdm.auto import tqdm

    with tqdm(total=n, desc="sample", unit="sent", file=sys.stderr) as bar:
        return model.sample(n, max_len=max_len, temperature=temperature, seed=seed, progress=bar.update)


#: metrics of the trained model itself, not of its samples: ``model-nll`` (the test split's NLL
#: on a text bundle) and ``nll-test`` / ``nll-train`` (held-out and training NLL on a token-id
#: bundle); computed by ``tge evaluate RUN_DIR`` when asked with -m or with the default metrics
MODEL_METRICS = {"model-nll": False, "nll-test": True, "nll-train": True}  # name → needs a token-id bundle


def split_model_metrics(
    metrics: str | Iterable[str] | None, *, oracle: bool
) -> tuple[str | None, tuple[str, ...]]:
    """Split a ``-m`` list (a comma-separated string or names) into the sample metrics (``None``:
    the default set; ``""``: none) and the model's own metrics to compute. The default set adds
    those the bundle defines."""
    if metrics is None:
        return None, tuple(n for n, token_ids in MODEL_METRICS.items() if token_ids == oracle)
    parts = (
        metrics.split(",") if isinstance(metrics, str) else [p for m in metrics for p in str(m).split(",")]
    )
    names = [n.strip() for n in parts if n.strip()]
    own = tuple(n for n in names if n in MODEL_METRICS)
    for name in own:
        if MODEL_METRICS[name] != oracle:
            wanted = "a token-id (synthetic-oracle) bundle" if MODEL_METRICS[name] else "a text bundle"
            instead = "nll-test" if oracle else "model-nll"
            raise ConfigError(
                f"-m {name}: defined on {wanted}; on this bundle the model's test NLL is {instead}"
            )
    return ",".join(n for n in names if n not in MODEL_METRICS), own


def with_sampling(score: Score, temperature: float) -> Score:
    """``score`` with ``temp:T`` in its signature (before the version field): two scores of one
    model at different temperatures must never look comparable (issue 19)."""
    return replace(score, signature=with_field(score.signature, "temp", f"{temperature:g}"))


def last_training_record(path: str | Path) -> dict[str, Any]:
    """The last ``train`` record of the run's ``log.jsonl`` (``{}`` for a bare model directory)."""
    path = Path(path)
    for log in (path / LOG, model_directory(path).parent / LOG):
        if log.is_file():
            try:
                text = log.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{log}: not UTF-8 text; expected the run's JSON-lines log") from None
            last: dict[str, Any] = {}
            for number, line in enumerate(text.splitlines(), start=1):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a kill mid-write: the log goes on after a resume
                if not isinstance(record, dict):
                    raise InputError(f"{log}, line {number}: expected a JSON object (a training-log record)")
                if record.get("event") == "train":
                    last = record
            return last
    return {}


#: ``nll-test`` and ``nll-train`` on a token-id bundle: the split each scores, and what the peers
#: call it (PEERS.md §1.4) — their "nll-test" is the training split (Texygen #22, RelGAN #5).
SPLIT_NLLS: tuple[tuple[str, str, str], ...] = (
    ("nll-test", "test", "CoT's nll_test (a held-out oracle sample, the only true test NLL among the peers)"),
    ("nll-train", "train", "Texygen's and RelGAN's 'nll-test', TextGAN-PyTorch's NLL_gen (training data)"),
)


def weights_digest(model: Generator, length: int = 12) -> str:
    """SHA-256 of a model's tensors (sorted by name, raw bytes): names a model that has no saved
    weights file (a search trial's) in signatures."""
    import hashlib

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:length]


def oracle_split_nlls(model: Generator, bundle: str, model_ref: str) -> list[Score]:
    """``nll-test`` and ``nll-train``: the generator's exact per-token NLL of the bundle's held-out
    oracle sample and of its training split, over every position (no EOS, nats/token) — the
    coverage side of the synthetic-oracle benchmark; none for models without a likelihood."""
    resolved = resolve_bundle(bundle)
    out = []
    for name, split, synonym in SPLIT_NLLS:
        path = resolved.split(split)
        lines = path.read_text(encoding="utf-8").splitlines()
        try:
            scores = model.score_texts(lines)
        except NotImplementedError:
            return []
        tokens = int(scores.tokens.sum())
        value = math.fsum(scores.nll.tolist()) / tokens
        settings: Mapping[str, object] = {
            "model": model_ref,
            **({"bound": scores.bound} if scores.bound is not None else {}),
            split: f"{resolved.name}/{split}@{file_digest(str(path), 8)}",
            "unit": "nats/token",
            "positions": "all",
            "eos": "no",
        }
        details = {"tokens": tokens, "estimate": scores.estimate, "synonym": synonym}
        out.append(Score(name, value, "lower", len(lines), make_signature(name, settings), details))
    return out


def model_likelihood(model: Generator, bundle: str, model_ref: str) -> Score | None:
    """``model-nll``: nats per token (EOS scored) of the bundle's test split under the model — the
    exact NLL, or a bound that the signature names; ``None`` for models without a likelihood."""
    resolved = resolve_bundle(bundle)
    lines = [t for t in resolved.test.read_text(encoding="utf-8").splitlines() if t.strip()]
    try:
        scores = model.score_texts(lines)
    except NotImplementedError:
        return None
    tokens = int(scores.tokens.sum())
    total = math.fsum(scores.nll.tolist())
    nll = total / tokens
    per_word: dict[str, object] = {}
    if scores.words is not None:  # a checkpoint's own tokenizer: the word-level figure beside it
        words = int(scores.words.sum())
        per_word = {"nll_per_word": total / words, "words": words, "unit_note": (
            f"nats per {scores.unit} of the model's tokenizer; nll_per_word divides the same total by "
            "whitespace words + EOS, the figure comparable with a word-level model")}  # fmt: skip
    settings: Mapping[str, object] = {
        "model": model_ref,
        **({"bound": scores.bound} if scores.bound is not None else {}),
        "test": f"{resolved.name}/test@{file_digest(str(resolved.test), 8)}",
        "unit": f"nats/{scores.unit}",
        "bos": "no",
        "eos": "yes",
    }
    details = {
        "perplexity": math.exp(min(nll, 700.0)),
        "tokens": tokens,
        "oov_rate": float(scores.oov.sum()) / max(1, int((scores.tokens - 1).sum())),
        "estimate": scores.estimate,
        "importance_samples": scores.importance_samples,
        **model.diagnostics(lines),
        **per_word,
    }
    return Score("model-nll", nll, "lower", len(lines), make_signature("model-nll", settings), details)
