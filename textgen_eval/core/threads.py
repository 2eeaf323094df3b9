"""OpenMP's wait policy for every ``tge`` process: waiting threads spin briefly, then sleep.

torch's OpenMP (libgomp) worker threads spin while they wait for work: 300,000 spins by default.
On an idle machine that saves the wake-up latency of small parallel regions, but when another
CPU-bound process shares the cores, the spinning threads burn the time their partner thread is
descheduled, and a job's CPU seconds grow several-fold (3–8× measured, docs/performance.md).
libgomp reads its settings once, when torch loads, so a choice made from the machine's state at
start cannot follow a load that arrives later (issue 33, item 6): a job that started on an idle
machine kept spinning for hours beside the jobs that came after it.

So every ``tge`` process that runs models bounds the spinning (``GOMP_SPINCOUNT`` =
:data:`SPINCOUNT`) before torch is first imported, whatever the load. The bound was chosen by
measurement (``benchmarks/omp_contention.py --late``): it keeps a job's CPU seconds under a load
that starts after it within a few percent of idle, at both model sizes measured; its cost is idle
speed on the smallest models (about 12% for a hidden-64 LSTM, none measurable at hidden 256). A
user's own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` always wins: ``GOMP_SPINCOUNT=300000``
restores OpenMP's default on a machine that is known to stay idle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

#: Spins before a waiting OpenMP thread sleeps (libgomp's default is 300,000).
SPINCOUNT = "1000"

#: Variables that, when the user has set any of them, mean "leave OpenMP waiting alone".
USER_CHOICES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def openmp_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables to add to ``environ``: the bounded spin, or nothing when the user chose a
    wait policy."""
    if any(name in environ for name in USER_CHOICES):
        return {}
    return {"GOMP_SPINCOUNT": SPINCOUNT}


def configure_openmp(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set :func:`openmp_environment` in ``environ`` (default ``os.environ``); returns what was set.

    Must run before torch is imported: OpenMP reads its environment once, at start-up.
    """
    target = os.environ if environ is None else environ
    added = openmp_environment(target)
    target.update(added)
    return added
