"""Option types shared by the commands: seeds in range, finite numbers (docs/reliability.md)."""

from __future__ import annotations

import math
from typing import Any

import click

from textgen_eval.core.seeding import MAX_SEED

#: Every ``--seed``: an integer from 0 to 2³² − 1.
SEED = click.IntRange(0, MAX_SEED)


class FiniteFloat(click.FloatRange):
    """A float range that also refuses ``nan`` and ``inf`` (``FloatRange`` lets both through)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        result = super().convert(value, param, ctx)
        if not math.isfinite(result):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return result


def _set_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """Apply ``--threads`` at parse time, before torch is imported: OpenMP and MKL read their
    thread counts once, at start-up (torch's own setting too, if it is already imported)."""
    if value is not None:
        import os
        import sys

        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(value)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(value)
    return value


#: ``--threads N`` for every command that trains or runs a model (``tune``/``compare`` have their
#: own: threads per worker).
threads_option = click.option(
    "--threads",
    type=click.IntRange(min=1),
    callback=_set_threads,
    expose_value=False,
    is_eager=True,
    help="torch / OpenMP threads (default: every core).",
)
