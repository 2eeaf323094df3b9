"""What defines a tuning run: :class:`TuneSpec`, stored in ``tune.json`` and in the study itself.

The spec is model-agnostic: which model, which data (and its digest), the budget, the objective
and its direction (from the metric registry), the search space, and the *trial kind* with its
options (for text generators: how many sentences to sample, their maximum length, the reference
LM recipe). What a trial does is the trial kind's business (``textgen_eval.pipelines.trials``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from textgen_eval import __version__
from textgen_eval.core.errors import ConfigError
from textgen_eval.core.limits import MAX_BUDGET, MAX_RETRAIN
from textgen_eval.core.space import SearchSpace, Value

PHASES = ("search", "retrain")

#: Fields of specs written before trial kinds existed, and where they now live.
_LEGACY_TEXT_OPTIONS = {"samples": "samples", "max_len": "max_len", "lm_recipe": "lm_recipe"}


def derive_seed(seed: int, phase: str, slot: int) -> int:
    """The training seed of ``slot`` in ``phase``: fixed by the run seed, distinct per slot."""
    return int(np.random.SeedSequence([seed, PHASES.index(phase), slot]).generate_state(1)[0] % 2**31)


@dataclass(frozen=True)
class TuneSpec:
    """Everything that defines a tuning run.

    Attributes:
        model: registry name of the model.
        trial_kind: what a trial does (``text``: train → sample → score); chosen by modality.
        trial_options: the trial kind's options (JSON-able).
        data / data_digest: the data the trials train on, and its digest (every worker checks it).
        name: the study name prefix (``NAME:search``, ``NAME:retrain``).
        budget / retrain: search trials, and seeds of the best configuration's retraining.
        objective / direction: the metric the search optimises and whether higher is better.
        metrics: every metric each trial records.
        space / overrides: the search space (``SearchSpace.to_dict``) and fixed ``--set`` values.
        seed: fixes the drawn configurations and every trial's training seed.
        trial_timeout: seconds before a trial is stopped and recorded as ``timeout``.
    """

    model: str
    data: str
    data_digest: str
    name: str
    trial_kind: str = "text"
    trial_options: Mapping[str, Any] = field(default_factory=dict)
    budget: int = 100
    retrain: int = 7
    objective: str = "fd"
    direction: str = "lower"
    metrics: tuple[str, ...] = ()
    space: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)
    seed: int = 0
    trial_timeout: float | None = None
    version: str = __version__

    def __post_init__(self) -> None:
        for name, limit in (("budget", MAX_BUDGET), ("retrain", MAX_RETRAIN)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
                raise ConfigError(f"{name} must be an integer in [1, {limit:,}], got {value!r}")

    def search_space(self) -> SearchSpace:
        return SearchSpace.from_dict(self.space, where="tune.json space")

    def study_name(self, phase: str) -> str:
        return f"{self.name}:{phase}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = list(self.metrics)
        out["trial_options"] = dict(self.trial_options)
        out["generator"] = self.model  # read by reports of older versions
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TuneSpec:
        """Read a spec, including one written before trial kinds existed (text fields at the top)."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        if "model" not in values and "generator" in data:
            values["model"] = data["generator"]
        if "trial_options" not in data:
            legacy = {new: data[old] for old, new in _LEGACY_TEXT_OPTIONS.items() if old in data}
            values["trial_options"] = legacy
        values["metrics"] = tuple(values.get("metrics", ()))
        return cls(**values)

    def search_slots(self) -> list[tuple[dict[str, Value], int]]:
        configs = self.search_space().draw(self.budget, self.seed)
        return [(config, derive_seed(self.seed, "search", i)) for i, config in enumerate(configs)]

    def trial_overrides(self, params: Mapping[str, Value], *, seed: int) -> dict[str, str]:
        """The ``--set`` assignments of one trial: the space's fixed settings and drawn params, then
        the run's ``--set`` values (they win: ``--set`` fixes a setting), then the seed."""
        merged: dict[str, Any] = {
            **self.search_space().overrides_for(params),
            **self.overrides,
            "runner.seed": seed,
        }
        return {k: str(v) for k, v in merged.items()}
