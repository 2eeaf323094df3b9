"""OpenMP settings that keep training fast when other processes share the CPU.

torch's OpenMP (libgomp) worker threads spin while they wait for work. On an idle machine that
saves microseconds per parallel region — up to a third of the time of a small model's step
(docs/performance.md) — but when another CPU-bound process shares the cores, the spinning
threads compete with it and training becomes 3–14× slower. ``OMP_WAIT_POLICY=PASSIVE`` fixes
contention and costs speed when idle.

So the choice is made from the machine's state when a ``tge`` process starts: if other processes
already keep at least half a core busy (measured over :data:`SAMPLE_SECONDS` from
``/proc/stat``), waiting threads spin only briefly (``GOMP_SPINCOUNT``); otherwise OpenMP keeps
its defaults. Every ``tge`` process (and every worker it starts) calls :func:`configure_openmp`
before torch is first imported; a user's own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` always wins.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, MutableMapping

#: Spins before a waiting OpenMP thread sleeps under contention (libgomp's default is 300,000).
SPINCOUNT = "1000"

#: Variables that, when the user has set any of them, mean "leave OpenMP waiting alone".
USER_CHOICES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")

#: How long the CPU is watched at start-up, and how busy other processes must keep it.
SAMPLE_SECONDS = 0.2
BUSY_CORES = 0.5


def busy_cores(seconds: float = SAMPLE_SECONDS) -> float | None:
    """Cores kept busy by all processes over the next ``seconds`` (``None`` where ``/proc/stat``
    is unavailable). This process sleeps meanwhile, so the figure is the others' load."""

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as handle:
                fields = [int(x) for x in handle.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    return (total - idle) / total * (os.cpu_count() or 1)


def openmp_environment(
    environ: Mapping[str, str], measure: Callable[[], float | None] = busy_cores
) -> dict[str, str]:
    """The variables to add to ``environ``: a short spin when the CPU is already busy, nothing
    when it is idle or when the user chose a wait policy."""
    if any(name in environ for name in USER_CHOICES):
        return {}
    load = measure()
    if load is not None and load >= BUSY_CORES:
        return {"GOMP_SPINCOUNT": SPINCOUNT}
    return {}


def configure_openmp(
    environ: MutableMapping[str, str] | None = None, measure: Callable[[], float | None] = busy_cores
) -> dict[str, str]:
    """Set :func:`openmp_environment` in ``environ`` (default ``os.environ``); returns what was set.

    Must run before torch is imported: OpenMP reads its environment once, at start-up.
    """
    target = os.environ if environ is None else environ
    added = openmp_environment(target, measure)
    target.update(added)
    return added
