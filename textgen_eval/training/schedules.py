"""Schedule functions; they live in :mod:`textgen_eval.core.schedules` so models can use them."""

from textgen_eval.core.schedules import cyclical_anneal, exponential_decay, linear_anneal, sigmoid_anneal

__all__ = ["cyclical_anneal", "exponential_decay", "linear_anneal", "sigmoid_anneal"]
