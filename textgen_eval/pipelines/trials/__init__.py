"""Trial kinds: what one tuning trial does, chosen by the model's modality.

A :class:`TrialKind` validates its options, names and digests the data a run trains on, and
builds the trial function a worker calls (``TrialRequest → TrialOutcome``). ``text``: train the
generator, sample sentences, score them with every metric. ``image``: train the model, score it
with the image metrics on a fixed valid subset (search) or test subset (retrain).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.registry import Registry
from textgen_eval.tuning.spec import TuneSpec
from textgen_eval.tuning.worker import TrialFunction


class TrialKind(Protocol):
    #: the metrics every trial records when ``--metrics`` is not given
    default_metrics: tuple[str, ...]
    #: the objective when ``--objective`` is not given
    default_objective: str

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The validated options with defaults filled in (JSON-able; stored in the spec)."""
        ...

    def data(self, data: str) -> tuple[str, str]:
        """``(reference, digest)`` of ``--data``: how workers find it, and what they check."""
        ...

    def build(self, spec: TuneSpec, out: Path, device: str | None) -> TrialFunction: ...

    def real_data(self, spec: TuneSpec, out: Path) -> RealData | None:
        """The run's held-out real data scored as a trial's output is (the ceiling every model is
        read against), or ``None`` when the kind has no such row."""
        ...


@dataclass(frozen=True)
class RealData:
    """Held-out real data scored like a trial: ``metrics`` as ``tune.json`` records them."""

    source: str
    n: int
    seed: int
    metrics: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


trial_kinds: Registry[TrialKind] = Registry("trial kind")
trial_kinds.register("text", "textgen_eval.pipelines.trials.text:TEXT_TRIAL")
trial_kinds.register("image", "textgen_eval.pipelines.trials.image:IMAGE_TRIAL")

#: The trial kind of each modality.
BY_MODALITY = {"text": "text", "image": "image"}


def trial_kind_for(modality: str) -> str:
    try:
        return BY_MODALITY[modality]
    except KeyError:
        raise ConfigError(f"no tuning trial is defined for models of modality {modality!r}") from None


def real_data(spec: TuneSpec, out: Path) -> RealData | None:
    """The real-data row of ``spec``'s run (``RUN/real-data.json``, computed once and cached)."""
    import json

    from textgen_eval.core.files import atomic_write_text

    path = out / "real-data.json"
    key = {"data": spec.data, "data_digest": spec.data_digest, "metrics": list(spec.metrics),
           "trial_options": dict(spec.trial_options), "seed": spec.seed, "version": spec.version}  # fmt: skip
    if path.is_file():
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            if cached.get("key") == key:
                return RealData(**cached["row"]) if cached["row"] is not None else None
        except (ValueError, TypeError, KeyError):
            pass  # recomputed below
    row = trial_kinds.get(spec.trial_kind).real_data(spec, out)
    atomic_write_text(
        path, json.dumps({"key": key, "row": None if row is None else row.to_dict()}, indent=2) + "\n"
    )
    return row


def make_trial(spec: TuneSpec, out: Path, device: str | None) -> TrialFunction:
    """The trial function of ``spec``'s trial kind (the factory workers are given)."""
    return trial_kinds.get(spec.trial_kind).build(spec, out, device)
