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
