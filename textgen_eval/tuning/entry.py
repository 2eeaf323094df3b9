"""``tge tune --worker``: join a run by its storage and study name and work until it is done.

The trial function comes from a factory the caller passes (``textgen_eval.pipelines.trials``
builds it from the spec's trial kind), so this engine never knows what a trial does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.tuning.coordinator import SPEC_ATTR, Notify, open_backend
from textgen_eval.tuning.phases import phases
from textgen_eval.tuning.spec import TuneSpec
from textgen_eval.tuning.storage import parse_storage
from textgen_eval.tuning.worker import TrialFunction, WorkerReport, run_worker

#: Builds the trial function of a run: ``(spec, run directory, device) → trial``.
TrialFactory = Callable[[TuneSpec, Path, "str | None"], TrialFunction]


def work(
    *,
    storage: str,
    study: str,
    out: Path,
    device: str | None,
    heartbeat: int,
    notify: Notify,
    trial_factory: TrialFactory,
    max_trials: int | None = None,
) -> WorkerReport:
    """Join the run named ``study`` in ``storage`` and run its trials until both phases are done."""
    import optuna

    storage_spec = parse_storage(storage)
    backend: Any = open_backend(storage_spec, heartbeat, notify)
    try:
        search = optuna.load_study(study_name=f"{study}:search", storage=backend)
    except KeyError:
        raise ConfigError(
            f"--storage {storage_spec.masked} has no tuning run named {study!r}; start it with `tge tune "
            "MODEL --data ... --storage URL --study NAME` first"
        ) from None
    spec = TuneSpec.from_dict(search.user_attrs[SPEC_ATTR])
    threads = os.environ.get("TGE_WORKER_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    out.mkdir(parents=True, exist_ok=True)
    trial = trial_factory(spec, out, device)
    return run_worker(
        backend,
        phases(spec, backend),
        trial,
        trial_timeout=spec.trial_timeout,
        on_event=notify,
        foreign_dead=False,
        max_trials=max_trials,
    )
