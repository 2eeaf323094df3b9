"""Training curves of runs: every numeric series a run logs to ``log.jsonl``, per stage.

A series is one quantity of one stage: ``STAGE: OPTIMIZER/KEY`` for what an optimizer's update
logs (losses, KL and its weight, Wasserstein estimates and penalties, D(real)/D(fake), rewards and
baselines, learning rates), ``STAGE: KEY`` for validation records (``valid_loss``…) and the
NLL-oracle probe (``nll_oracle``). Its x is the run's update count (the ``step`` the runner logs,
which goes on across stages).
Bookkeeping fields (step, epoch, time, counters) are not series. Pure functions; drawing is in
:mod:`textgen_eval.pipelines.curve_plots`.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.training.records import record_points, series_name

LOG = "log.jsonl"


@dataclass(frozen=True)
class Series:
    """One logged quantity: its stage, optimizer (``None`` for validation and probes), key, and
    the ``(step, value)`` points in log order (non-finite values kept as NaN: gaps, not zeros)."""

    stage: str
    optimizer: str | None
    key: str
    steps: tuple[int, ...]
    values: tuple[float, ...]

    @property
    def name(self) -> str:
        return series_name(self.stage, self.optimizer, self.key)


@dataclass(frozen=True)
class RunCurves:
    """The series of one run directory, in the order they first appear in its log."""

    run: Path
    label: str
    series: tuple[Series, ...] = field(default_factory=tuple)

    def names(self) -> list[str]:
        return [s.name for s in self.series]


def read_curves(run_dir: str | Path, *, label: str | None = None) -> RunCurves:
    """Every series of ``run_dir``'s ``log.jsonl``. A directory without one is an input error
    naming it; a torn last line (a kill mid-write) is skipped, any other bad line names itself."""
    run = Path(run_dir)
    log = run / LOG
    if not run.is_dir():
        raise InputError(f"{run}: not a directory (expected a run directory of tge train or a trial)")
    if not log.is_file():
        raise InputError(f"{run}: not a run directory (no {LOG}; tge train and every tuning trial write one)")
    try:
        lines = log.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{log}: not UTF-8 text; expected the run's JSON-lines log") from None
    points: dict[tuple[str, str | None, str], tuple[list[int], list[float]]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                continue  # torn by a kill mid-write
            raise InputError(
                f"{log}, line {number}: not JSON (expected one training-log record per line)"
            ) from None
        if not isinstance(record, dict):
            raise InputError(f"{log}, line {number}: expected a JSON object (a training-log record)")
        for stage, optimizer, key, step, value in record_points(record):
            xs, ys = points.setdefault((stage, optimizer, key), ([], []))
            xs.append(step)
            ys.append(value)
    series = tuple(Series(s, o, k, tuple(xs), tuple(ys)) for (s, o, k), (xs, ys) in points.items())
    return RunCurves(run, label or run.name, series)


def select_series(runs: Sequence[RunCurves], patterns: Sequence[str] | None) -> list[str]:
    """The series names to draw, in first-appearance order over ``runs``: all, or those matching
    any of ``patterns`` — a key (``loss``), a full name (``adversarial: gen/loss``) or a glob
    (``*d_fake*``). A pattern that matches nothing is a config error listing what exists."""
    names: list[str] = []
    keys: dict[str, str] = {}
    for run in runs:
        for s in run.series:
            if s.name not in keys:
                names.append(s.name)
                keys[s.name] = s.key
    if not patterns:
        return names
    chosen: set[str] = set()
    for pattern in patterns:
        hits = {n for n in names if keys[n] == pattern or fnmatch.fnmatchcase(n, pattern)}
        hits |= {n for n in names if fnmatch.fnmatchcase(keys[n], pattern)}
        if not hits:
            available = ", ".join(sorted(set(keys.values()))) or "none"
            raise ConfigError(f"--series {pattern}: no run logs such a series (keys logged: {available})")
        chosen |= hits
    return [n for n in names if n in chosen]


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average with TensorBoard's debiasing: s_t = w·s_{t−1} + (1−w)·x_t,
    divided by 1 − w^t so the start is not pulled to 0; NaNs are gaps (kept, not averaged in).
    ``weight`` 0 returns the values."""
    if not 0.0 <= weight < 1.0:
        raise ConfigError(f"--smooth must be in [0, 1), got {weight}")
    if weight == 0.0:
        return list(values)
    out: list[float] = []
    last, count = 0.0, 0
    for x in values:
        if math.isnan(x):
            out.append(math.nan)
            continue
        count += 1
        last = weight * last + (1.0 - weight) * x
        out.append(last / (1.0 - weight**count))
    return out


#: A series gets a log axis when all its values are positive and span at least this ratio.
LOG_SPAN = 100.0


def wants_log_scale(values: Sequence[float]) -> bool:
    """Whether positive ``values`` span two decades or more (a loss falling from 1e3 to 1)."""
    finite = [v for v in values if not math.isnan(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) >= LOG_SPAN
