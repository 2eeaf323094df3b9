"""textgen_eval: honest, fast evaluation of text generators.

The public API is re-exported lazily so that ``import textgen_eval`` (and ``tge --help``)
never imports torch, transformers or datasets.

>>> import textgen_eval
>>> result = textgen_eval.evaluate(["a man rides a horse"], references=["a man rides a bike"],
...                                metrics=["bleu-2"])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["EvaluationResult", "Score", "__version__", "evaluate"]

if TYPE_CHECKING:  # pragma: no cover
    from textgen_eval.metrics.base import Score
    from textgen_eval.pipelines.evaluate import EvaluationResult, evaluate

_LAZY = {
    "evaluate": "textgen_eval.pipelines.evaluate",
    "EvaluationResult": "textgen_eval.pipelines.evaluate",
    "Score": "textgen_eval.metrics.base",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textgen_eval' has no attribute {name!r}")
