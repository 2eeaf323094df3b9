"""Two workers on one study through a real PostgreSQL server.

`.ci/run` starts the server on loopback and exports ``TGE_TEST_POSTGRES_URL``. Without it, the
fixture starts a throwaway server itself with ``.ci/postgres.sh`` (needs the Debian package
``postgresql``, which the script installs when run as root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import ROOT, run_subprocess
from tests.tuning.test_tuning_cli import SLOW_SPACE, tune_args
from textgen_eval.tuning import queue
from textgen_eval.tuning.storage import open_storage, parse_storage


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TGE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    state = tmp_path_factory.mktemp("pg") / "server"
    started = subprocess.run(
        ["bash", str(ROOT / ".ci" / "postgres.sh"), "start", str(state)], capture_output=True, text=True
    )
    if started.returncode != 0:
        pytest.fail(
            "no PostgreSQL for the storage test: set TGE_TEST_POSTGRES_URL or install the Debian package "
            f"postgresql (.ci/postgres.sh said: {started.stderr.strip()[-500:]})"
        )
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", str(ROOT / ".ci" / "postgres.sh"), "stop", str(state)], capture_output=True)


def test_two_workers_on_two_machines_share_one_postgres_study(
    postgres_url: str, tiny_bundle: Path, tmp_path: Path, session_cache: Path
) -> None:
    name = f"pg-{uuid.uuid4().hex[:8]}"
    space = tmp_path / "space.toml"
    space.write_text(SLOW_SPACE, encoding="utf-8")
    env = {**os.environ, "TGE_CACHE_DIR": str(session_cache)}
    # "machine 1": the coordinator with one worker ...
    coordinator = subprocess.Popen(
        [sys.executable, "-m", "textgen_eval",
         *tune_args(tiny_bundle, space, tmp_path / "machine1", "--budget", "6", "--retrain", "2"),
         "--storage", postgres_url, "--study", name, "--heartbeat", "5"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    storage = open_storage(parse_storage(postgres_url), heartbeat_interval=None)
    assert queue_ready(storage, name)
    # ... and "machine 2": a worker that joins by storage URL and study name alone
    joined = run_subprocess(
        "tune", "--worker", "--storage", postgres_url, "--study", name, "--out", str(tmp_path / "machine2"),
        env={"TGE_CACHE_DIR": str(session_cache)},
    )  # fmt: skip
    _out, err = coordinator.communicate(timeout=600)
    assert coordinator.returncode == 0, err
    assert joined.code == 0, joined.err

    search = optuna.load_study(study_name=f"{name}:search", storage=storage).get_trials()
    assert len(search) == 6 and all(t.state == TrialState.COMPLETE for t in search)
    assert sorted(t.user_attrs[queue.SLOT] for t in search) == list(range(6))
    assert len({json.dumps(t.params, sort_keys=True) for t in search}) == 6
    assert len({t.user_attrs[queue.WORKER]["pid"] for t in search}) == 2, "both workers took trials"
    retrain = optuna.load_study(study_name=f"{name}:retrain", storage=storage).get_trials()
    # Both processes can reach the retraining phase at once and both queue it; the second copy of
    # a slot is marked a duplicate when claimed and never runs (queue.py). CI hit that race once.
    ran = [t for t in retrain if t.user_attrs.get(queue.STATUS) != queue.DUPLICATE]
    assert sorted(t.user_attrs[queue.SLOT] for t in ran) == [0, 1]
    assert all(t.state == TrialState.COMPLETE for t in ran)
    assert all("tge:run_dir" not in t.user_attrs for t in retrain if t not in ran), "a duplicate ran"
    assert "postgresql://" in json.loads((tmp_path / "machine1" / "tune.json").read_text())["storage"]

    report = run_subprocess("report", str(tmp_path / "machine1"), "--format", "json")
    assert report.code == 0, report.err
    assert json.loads(report.out)["runs"][0]["trials"]["complete"] == 6


def queue_ready(storage: object, name: str, timeout: float = 120.0) -> bool:
    """Wait until the coordinator has queued the search (a joining worker needs the study)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            study = optuna.load_study(study_name=f"{name}:search", storage=storage)
            if study.user_attrs.get(queue.ENQUEUED) == 6:
                return True
        except KeyError:
            pass
        time.sleep(0.2)
    return False
