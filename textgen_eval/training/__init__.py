"""The shared training runner used by every model (text generators and image models)."""

from textgen_eval.training.runner import Runner, RunnerConfig, TrainResult

__all__ = ["Runner", "RunnerConfig", "TrainResult"]
