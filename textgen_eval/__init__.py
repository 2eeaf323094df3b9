"""textgen_eval: honest, fast evaluation of text generators.

The public API is re-exported lazily so that ``import textgen_eval`` (and ``tge --help``)
never imports torch, transformers or datasets.

>>> import textgen_eval
>>> result = textgen_eval.evaluate(["a man rides a horse"], references=["a man rides a bike"],
...                                metrics=["bleu-2"])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = ["EvaluationResult", "Score", "__version__", "evaluate"]

if TYPE_CHECKING:  # pragma: no cover
    from textgen_eval.metrics.base import Score
    from textgen_eval.pipelines.evaluate import EvaluationResult, evaluate

_LAZY = {
    "evaluate": "textgen_eval.pipelines.evaluate",
    "EvaluationResult": "textgen_eval.pipelines.evaluate",
    "Score": "textgen_eval.metrics.base",
}


_configured = False


def _configure_openmp_once() -> None:
    """The CLI's OpenMP choice (:mod:`textgen_eval.core.threads`) for the Python API: made the
    first time the API is reached, if torch is not imported yet (OpenMP reads its environment
    once), so ``textgen_eval.evaluate`` on a busy machine runs as fast as ``tge evaluate``."""
    global _configured
    if _configured:
        return
    _configured = True
    import sys

    if "torch" not in sys.modules:
        from textgen_eval.core import threads

        threads.configure_openmp()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        _configure_openmp_once()
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textgen_eval' has no attribute {name!r}")
