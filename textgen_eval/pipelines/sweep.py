"""Temperature sweeps: a model's quality–diversity trade-off, not one point of it.

Caccia et al. (2018, "Language GANs falling short", §4) showed that comparing generators at one
sampling temperature decides the comparison by the temperature: lowering it buys quality (BLEU,
LM score) with diversity (self-BLEU, reverse LM score), so a model must be compared over its
whole curve. ``tge evaluate MODEL_DIR --temperatures 0.6,0.8,1.0,1.2`` scores the model's samples
at each temperature (each score's signature carries ``temp:T``) and keeps the points in
``RUN/sweeps/``; ``tge report --sweep`` draws one curve per model — BLEU-4 against self-BLEU-4 and
LM score against reverse LM score.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.hashing import text_digest
from textgen_eval.pipelines.evaluate import EvaluationResult
from textgen_eval.pipelines.evaluate_model import evaluate_model

SWEEPS = "sweeps"


@dataclass(frozen=True)
class SweepPoint:
    temperature: float
    metrics: dict[str, dict[str, Any]]  # name → value, direction, signature


@dataclass(frozen=True)
class Sweep:
    model: str
    n: int
    seed: int
    points: tuple[SweepPoint, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n": self.n,
            "seed": self.seed,
            "points": [asdict(p) for p in self.points],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sweep:
        points = tuple(SweepPoint(float(p["temperature"]), dict(p["metrics"])) for p in data["points"])
        return cls(str(data["model"]), int(data["n"]), int(data["seed"]), points)


def parse_temperatures(text: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(
            f"--temperatures {text}: expected comma-separated numbers, e.g. 0.6,0.8,1.0"
        ) from None
    if not values or any(not (v >= 0) or v != v or v == float("inf") for v in values):
        raise ConfigError(f"--temperatures {text}: expected finite temperatures ≥ 0")
    if len(set(values)) != len(values):
        raise ConfigError(f"--temperatures {text}: a temperature is given twice")
    return values


def temperature_sweep(
    path: str | Path,
    temperatures: Sequence[float],
    *,
    samples: int,
    seed: int = 0,
    notify: Callable[[str], None] | None = None,
    **options: Any,
) -> tuple[Sweep, list[EvaluationResult]]:
    """Score the model at ``path`` at every temperature (the same n, seed and metrics)."""
    results = []
    for temperature in temperatures:
        if notify is not None:
            notify(f"scoring the samples drawn at temperature {temperature:g}")
        results.append(
            evaluate_model(
                path, samples=samples, seed=seed, temperature=temperature, notify=notify, **options
            )
        )
    points = tuple(SweepPoint(t, _metrics(r)) for t, r in zip(temperatures, results))
    model = str(results[0].samples.get("model", path))
    return Sweep(model, samples, seed, points), results


def _metrics(result: EvaluationResult) -> dict[str, dict[str, Any]]:
    return {
        s.name: {"value": s.value, "direction": s.direction, "signature": s.signature} for s in result.scores
    }


def sweep_file(run: Path, sweep: Sweep) -> Path:
    """Where a sweep of the model in ``run`` is kept: one file per model, n, seed and metric set."""
    names = sorted(sweep.points[0].metrics)
    key = text_digest([sweep.model, str(sweep.n), str(sweep.seed), *names], 10)
    return run / SWEEPS / f"sweep-{key}.json"


def save_sweep(run: Path, sweep: Sweep) -> Path:
    """Keep ``sweep`` (merged with an earlier sweep of the same key: new temperatures added)."""
    path = sweep_file(run, sweep)
    points = {p.temperature: p for p in load_sweeps(run, key_path=path)}
    points.update({p.temperature: p for p in sweep.points})
    merged = Sweep(sweep.model, sweep.n, sweep.seed, tuple(points[t] for t in sorted(points)))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(merged.to_dict(), indent=2) + "\n")
    return path


def load_sweeps(run: Path, *, key_path: Path | None = None) -> list[SweepPoint]:
    """The points of the sweep file ``key_path`` (empty when there is none)."""
    if key_path is None or not key_path.is_file():
        return []
    return list(Sweep.from_dict(json.loads(key_path.read_text(encoding="utf-8"))).points)


def sweeps_in(run: Path) -> list[Sweep]:
    """Every sweep kept under ``run`` (a model's run directory, or a tuning run's retrained trials)."""
    files = sorted(run.glob(f"{SWEEPS}/sweep-*.json")) + sorted(
        run.glob(f"trials/retrain-*/{SWEEPS}/sweep-*.json")
    )
    return [Sweep.from_dict(json.loads(f.read_text(encoding="utf-8"))) for f in files]
