"""``python -m textgen_eval`` is ``tge``."""

from textgen_eval.cli.main import entry_point

entry_point()
