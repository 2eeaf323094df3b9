"""``RUN/tune.json``: what a tuning run is (its spec), where its studies live and their names."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.tuning.storage import StorageSpec, parse_storage

SPEC_FILE = "tune.json"


def write_run_file(
    out: Path, spec: Mapping[str, Any], storage: StorageSpec, studies: Mapping[str, str]
) -> None:
    """Write ``tune.json``; a storage password is masked, never written."""
    location = storage.masked
    run = Path(out).resolve()
    if storage.kind == "journal" and storage.journal_path.parent in (run, run.parent, run.parent.parent):
        # relative when the journal is in the run directory or up to two levels above it (``tge
        # compare`` keeps one journal for all of OUT/runs/*): the tree can be moved as a whole
        location = os.path.relpath(storage.journal_path, run)
    payload = {
        "spec": dict(spec),
        "storage": location,
        "storage_has_secret": storage.has_secret,
        "studies": dict(studies),
    }
    atomic_write_text(out / SPEC_FILE, json.dumps(payload, indent=2) + "\n")


def read_run_file(out: Path) -> dict[str, Any]:
    path = Path(out) / SPEC_FILE
    if not path.is_file():
        raise ConfigError(f"{out}: not a tuning run directory (no {SPEC_FILE}); start one with `tge tune`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not {"spec", "storage", "studies"} <= set(data):
            raise ValueError("expected the keys spec, storage and studies")
    except (json.JSONDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable run file ({exc})") from None
    return data


def run_storage(out: Path, data: Mapping[str, Any], override: str | None) -> StorageSpec:
    """The storage of a run: ``override`` (``--storage``) if given, else the one in ``tune.json``."""
    if override:
        return parse_storage(override)
    if data.get("storage_has_secret"):
        raise ConfigError(
            f"{Path(out) / SPEC_FILE}: the run's storage URL holds a password, which is not written to disk; "
            f"pass it again with --storage (or the TGE_STORAGE environment variable): {data['storage']}"
        )
    return parse_storage(str(data["storage"]), base=Path(out))
