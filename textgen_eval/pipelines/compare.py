"""``tge compare``: every generator through the same protocol, one report (Semeniuta 2019, §5.6.2,
§5.7, Table 5.4, Fig. 5.11).

A comparison is a list of ordinary tuning runs — one per generator, each with the same budget,
retrain count, seed, data, metrics and objective — kept together in one directory::

    OUT/compare.json        the comparison: models, preset, and each model's tuning spec
    OUT/study.journal       one Optuna storage for every model's studies (or --storage URL)
    OUT/runs/MODEL/         a `tge tune` run directory (tune.json, trials/, workers/)
    OUT/report.{md,tex,csv,json}, OUT/plots/   written when every run has finished

Every model's spec is built and validated before anything runs. The models run one after the
other (each with the run's workers); giving the same command again, or ``tge compare --resume
OUT``, continues where it stopped: finished runs are only read, an interrupted one is resumed
(a trial killed mid-way is re-queued, a finished trial is never re-run), the rest start. Each run
is also a normal run directory: ``tge tune --resume OUT/runs/MODEL``, ``tge report OUT/runs/*``
and ``tge tune --worker`` on other machines all work on it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.pipelines import tune as tuning
from textgen_eval.pipelines.compare_presets import ComparePreset
from textgen_eval.tuning.coordinator import TuneOptions
from textgen_eval.tuning.runfile import SPEC_FILE
from textgen_eval.tuning.storage import DEFAULT_JOURNAL, parse_storage

COMPARE_FILE = "compare.json"
RUNS = "runs"
Notify = Callable[[str], None]


@dataclass(frozen=True)
class CompareSpec:
    """A comparison: its name, preset and the tuning spec of every model (in report order)."""

    name: str
    data: str
    preset: str
    preset_digest: str
    seed: int
    specs: tuple[tuning.TuneSpec, ...]

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(s.model for s in self.specs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "data": self.data,
            "preset": self.preset,
            "preset_digest": self.preset_digest,
            "seed": self.seed,
            "models": list(self.models),
            "specs": {s.model: s.to_dict() for s in self.specs},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompareSpec:
        specs = tuple(tuning.TuneSpec.from_dict(data["specs"][m]) for m in data["models"])
        return cls(
            data["name"], data["data"], data["preset"], data["preset_digest"], int(data["seed"]), specs
        )


def build_compare_spec(
    preset: ComparePreset,
    data: str,
    *,
    name: str,
    seed: int,
    budget: int | None = None,
    retrain: int | None = None,
    samples: int | None = None,
    lm_recipe: dict[str, str] | None = None,
) -> CompareSpec:
    """One tuning spec per model of ``preset``, all validated now (a bad space key of the ninth
    model fails before the first model trains)."""
    if len(set(p.model for p in preset.models)) != len(preset.models):
        raise ConfigError(f"--preset {preset.name}: a model is listed twice")
    specs = []
    for plan in preset.models:
        specs.append(
            tuning.build_spec(
                plan.model,
                data,
                name=f"{name}-{plan.model}",
                budget=budget or preset.budget,
                retrain=retrain or preset.retrain,
                objective=preset.objective,
                metrics=list(preset.metrics) or None,
                space_path=plan.space,
                overrides=dict(plan.sets),
                trial_options={
                    "samples": samples or preset.samples,
                    "max_len": preset.max_len,
                    "lm_recipe": dict(lm_recipe or {}),
                },
                seed=seed,
                trial_timeout=None,
            )
        )
    modalities = {s.trial_kind for s in specs}
    if len(modalities) > 1:
        raise ConfigError(f"--preset {preset.name}: mixes model kinds ({', '.join(sorted(modalities))})")
    return CompareSpec(name, specs[0].data, preset.name, preset.digest, seed, tuple(specs))


def read_compare(out: Path) -> CompareSpec:
    path = out / COMPARE_FILE
    if not path.is_file():
        raise ConfigError(
            f"{out}: not a comparison directory (no {COMPARE_FILE}); start one with `tge compare`"
        )
    try:
        return CompareSpec.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: unreadable comparison file ({type(exc).__name__}: {exc})") from None


def _comparable(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != "version"}


def prepare(out: Path, spec: CompareSpec) -> None:
    """Write ``compare.json``, or check that the one in ``out`` has the same settings for every
    model both hold; models it does not hold yet are added to it (a comparison grows by rows,
    never changes one)."""
    from textgen_eval.core.output import check_output_directory

    check_output_directory(out, what="--out (comparison directory)")
    path = out / COMPARE_FILE
    if path.is_file():
        old = read_compare(out).to_dict()
        new = spec.to_dict()
        changed = sorted(k for k in new if k not in ("specs", "models") and old.get(k) != new[k])
        changed += sorted(
            f"{m} settings"
            for m in new["specs"]
            if m in old["specs"] and _comparable(old["specs"][m]) != _comparable(new["specs"][m])
        )
        if changed:
            raise ConfigError(
                f"--out {out} holds a comparison with other settings ({', '.join(changed)}); give the "
                f"same settings or `tge compare --resume {out}` to continue it, or choose another --out"
            )
        added = tuple(t for t in spec.specs if t.model not in old["specs"])
        if added:  # new rows (a preset that gained models, or --models) extend the comparison
            recorded = read_compare(out)
            merged = dataclasses.replace(recorded, specs=(*recorded.specs, *added))
            atomic_write_text(path, json.dumps(merged.to_dict(), indent=2) + "\n")
        return
    if out.exists() and any(not p.name.startswith(".") for p in out.iterdir()):
        raise ConfigError(f"--out {out} is not empty and holds no comparison; choose another directory")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(spec.to_dict(), indent=2) + "\n")


def run_dir(out: Path, model: str) -> Path:
    return out / RUNS / model


def run(
    out: Path,
    spec: CompareSpec,
    *,
    storage: str | None,
    options: TuneOptions,
    notify: Notify,
) -> None:
    """Run (or continue) every model's tuning run, one after the other."""
    shared = storage or str(out / DEFAULT_JOURNAL)
    parse_storage(shared)  # a bad URL fails before the first model
    # an interrupted or unfinished model is continued by continuing the comparison
    options = dataclasses.replace(options, resume_command=f"tge compare --resume {out}")
    for index, tune_spec in enumerate(spec.specs, start=1):
        model_dir = run_dir(out, tune_spec.model)
        notify(f"model {index}/{len(spec.specs)}: {tune_spec.model} ({model_dir})")
        if (model_dir / SPEC_FILE).is_file():
            tuning.resume(model_dir, storage=storage, options=options, notify=notify)
        else:
            tuning.start(tune_spec, model_dir, storage=shared, options=options, notify=notify)


def started_runs(out: Path, spec: CompareSpec) -> list[Path]:
    """The run directories of the models that have started (finished or not), in report order."""
    return [run_dir(out, m) for m in spec.models if (run_dir(out, m) / SPEC_FILE).is_file()]
