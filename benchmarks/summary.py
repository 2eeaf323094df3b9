"""Formatting shared by the reproduction scripts: mean ± sample standard deviation over seeds."""

from __future__ import annotations

import statistics


def mean_sd(values: list[float], digits: int = 2) -> str:
    """``m ± s`` over seeds (sample standard deviation); a single value as it is."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"
