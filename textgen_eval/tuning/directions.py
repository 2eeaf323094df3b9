"""Metric directions (``higher``/``lower`` is better) and what Optuna and comparisons make of them."""

from __future__ import annotations

from typing import Literal

DIRECTIONS = ("higher", "lower")


def optuna_direction(direction: str) -> Literal["minimize", "maximize"]:
    """``minimize`` for ``lower``, ``maximize`` for ``higher``."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")
    return "minimize" if direction == "lower" else "maximize"


def sign(direction: str) -> float:
    """``+1`` when lower is better, ``-1`` when higher is: ``min(sign · value)`` is the best."""
    return 1.0 if direction == "lower" else -1.0
