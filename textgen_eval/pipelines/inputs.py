"""What each command reads, so that its ``--output`` can never overwrite it (docs/reliability.md)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textgen_eval.core.errors import UserError
from textgen_eval.core.models import model_directory
from textgen_eval.core.output import Protected
from textgen_eval.core.training import RUN_INFO, RUN_RECORDS
from textgen_eval.data.bundles import bundled_data_dir, list_bundles, resolve_bundle


def model_inputs(path: str | Path) -> list[Protected]:
    """A saved model (everything beneath it) and, for a run directory, the run's records."""
    path = Path(path)
    model_dir = model_directory(path)
    out = [Protected(model_dir, "inside the model directory", tree=True)]
    run_dir = model_dir.parent if (model_dir.parent / RUN_INFO).is_file() else path
    out.extend(Protected(run_dir / name, f"the run's {name}") for name in RUN_RECORDS)
    return out


def bundle_inputs(spec: str | None) -> list[Protected]:
    """Every file of a bundle directory, and the whole of the bundled data."""
    out = [Protected(bundled_data_dir(), "bundled data", tree=True)]
    if spec is None:
        return out
    directory = Path(spec)
    if not directory.is_dir():
        try:
            directory = resolve_bundle(spec).path
        except UserError:
            return out  # an unknown name fails later with its own message
    out.extend(Protected(p, f"a file of bundle {spec}") for p in _files(directory))
    return out


def _files(directory: Path) -> Iterable[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.is_file())
    except OSError:
        return []


def file_inputs(specs: Iterable[tuple[str | None, str]]) -> list[Protected]:
    """Plain input files given as (spec, role); ``bundle:split`` names resolve to their file."""
    out: list[Protected] = []
    for spec, what in specs:
        if not spec or spec.startswith("hf:"):
            continue
        path = Path(spec)
        name, _, split = spec.partition(":")
        if not path.exists() and name in list_bundles():
            try:
                path = resolve_bundle(name).split(split or "test")
            except UserError:
                continue
        out.append(Protected(path, what))
    return out


def featurizer_inputs(spec: str | None) -> list[Protected]:
    """The feature files of ``--featurizer npy:A,B``."""
    if not spec or not spec.startswith("npy:"):
        return []
    return [Protected(Path(p), "a feature file") for p in spec[4:].split(",") if p]
