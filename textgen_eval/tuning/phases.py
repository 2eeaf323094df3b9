"""The two phases of the protocol (Semeniuta 2019, §5.6.2) on a storage, and their progress.

1. **search**: ``budget`` configurations drawn once from the search space, each trained with its
   own derived seed;
2. **retrain**: the best search configuration trained again with ``retrain`` derived seeds, known
   only once the search has finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textgen_eval.core.errors import UserError
from textgen_eval.core.space import Value
from textgen_eval.tuning import queue
from textgen_eval.tuning.directions import sign
from textgen_eval.tuning.spec import TuneSpec, derive_seed
from textgen_eval.tuning.worker import Phase


def best_trial(trials: Sequence[Any], direction: str) -> Any | None:
    """The complete trial with the best objective (ties: lowest slot)."""
    from optuna.trial import TrialState

    done = [t for t in trials if t.state == TrialState.COMPLETE]
    if not done:
        return None
    s = sign(direction)
    return min(done, key=lambda t: (s * t.value, t.user_attrs.get(queue.SLOT, 0)))


def phases(spec: TuneSpec, storage: Any) -> list[Phase]:
    """The search and retraining phases of ``spec`` on ``storage``."""
    import optuna

    dists = queue.distributions(spec.search_space())
    search_slots = spec.search_slots()

    def retrain_slots() -> list[tuple[dict[str, Value], int]] | None:
        search = optuna.load_study(study_name=spec.study_name("search"), storage=storage)
        trials = search.get_trials(deepcopy=False)
        if not queue.count(trials, spec.budget).finished:
            return None
        best = best_trial(trials, spec.direction)
        if best is None:
            raise UserError(
                f"all {spec.budget} search trials failed; there is no configuration to retrain "
                "(see the trial errors with `tge report --format json`)"
            )
        params = dict(best.system_attrs.get("fixed_params", best.params))
        return [(params, derive_seed(spec.seed, "retrain", k)) for k in range(spec.retrain)]

    return [
        Phase("search", spec.study_name("search"), spec.budget, spec.direction, dists, lambda: search_slots),
        Phase("retrain", spec.study_name("retrain"), spec.retrain, spec.direction, dists, retrain_slots),
    ]


def progress_counts(spec: TuneSpec, storage: Any) -> dict[str, Any]:
    """Slot counts of both phases and the current best objective."""
    import optuna

    out: dict[str, Any] = {}
    for phase, budget in (("search", spec.budget), ("retrain", spec.retrain)):
        try:
            study = optuna.load_study(study_name=spec.study_name(phase), storage=storage)
        except KeyError:
            out[phase] = queue.Counts(budget, 0, 0, 0, 0)
            continue
        trials = study.get_trials(deepcopy=False)
        out[phase] = queue.count(trials, budget)
        if phase == "search":
            best = best_trial(trials, spec.direction)
            out["best"] = None if best is None else best.value
    return out


def describe_progress(spec: TuneSpec, counts: Mapping[str, Any]) -> str:
    s, r = counts["search"], counts["retrain"]
    best = counts.get("best")
    best_text = f", best {spec.objective} {best:.4g}" if best is not None else ""
    return (
        f"search {s.done}/{s.budget} done ({s.failed} failed, {s.running} running, {s.waiting} waiting)"
        f"{best_text}; retrain {r.done}/{r.budget}"
    )


def first_error(spec: TuneSpec, storage: Any) -> str:
    import optuna

    study = optuna.load_study(study_name=spec.study_name("search"), storage=storage)
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get(queue.STATUS) in queue.FINAL_FAILURES:
            return f"trial {trial.number}: {trial.user_attrs.get(queue.ERROR)}"
    return "no error was recorded"
