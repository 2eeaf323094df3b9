"""The shared training runner used by every model (text generators and image models)."""

from textgen_eval.core.training import RunnerConfig, TrainResult
from textgen_eval.training.runner import Runner

__all__ = ["Runner", "RunnerConfig", "TrainResult"]
