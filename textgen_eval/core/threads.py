"""OpenMP settings that keep training fast when other processes share the CPU.

torch's OpenMP (libgomp) worker threads spin while they wait for work. On an idle machine that
saves a few microseconds per parallel region; when another CPU-bound process shares the cores,
the spinning threads compete with it and with each other, and training becomes 3–14× slower
(measured; docs/performance.md). ``OMP_WAIT_POLICY=PASSIVE`` fixes contention but costs about
20% when idle. A bounded spin (``GOMP_SPINCOUNT``) keeps most of the idle speed and yields the
core soon enough under load. Every ``tge`` process (and every worker it starts) calls
:func:`configure_openmp` before torch is first imported; a user's own setting always wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

#: Spins before a waiting OpenMP thread sleeps (libgomp's default is 300,000; PASSIVE is 0).
SPINCOUNT = "1000"

#: Variables that, when the user has set any of them, mean "leave OpenMP waiting alone".
USER_CHOICES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def openmp_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables to add to ``environ`` (none when the user chose a wait policy)."""
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
