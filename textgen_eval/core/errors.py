"""One exception hierarchy for the whole package.

Every error a user can cause (bad file, bad option, unknown metric, missing optional
dependency, a plugin that does not load) derives from :class:`UserError`; the CLI maps those to
exit code 2 with the message alone. Anything else that escapes is an internal error (exit 1).
"""

from __future__ import annotations


class TextgenEvalError(Exception):
    """Root of every exception raised on purpose by textgen_eval."""

    exit_code: int = 1


class UserError(TextgenEvalError):
    """Something the user can fix: the message says what was given and what was expected."""

    exit_code = 2


class InputError(UserError):
    """A data file or data source is missing, unreadable or malformed."""


class ConfigError(UserError):
    """An option, setting or configuration value is invalid."""


class UnknownNameError(ConfigError):
    """A name (metric, tokenizer, preset, ...) is not registered."""


class PluginError(UserError):
    """A plugin failed to load, or two plugins claim the same name."""


class MissingDependencyError(UserError):
    """An optional library is needed for the requested feature but is not installed."""

    def __init__(self, package: str, feature: str, extra: str | None = None) -> None:
        hint = f"pip install 'textgen_eval[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the Python package '{package}', which is not installed: {hint}")
        self.package = package


class MetricError(UserError):
    """A metric is undefined for the given input (e.g. self-BLEU of fewer than two samples)."""


class DivergenceError(UserError):
    """Training produced a non-finite loss (NaN or infinity); the last good checkpoint is kept.

    A user error (exit 2): the usual cause is a setting (learning rate, clipping) the user can change.
    """


class LockTimeout(TextgenEvalError):  # noqa: N818 (reads as an event, like TimeoutError)
    """A cross-process lock was not acquired in time (another process holds it)."""


class TrainingInterrupted(TextgenEvalError):  # noqa: N818 (a stop, like KeyboardInterrupt)
    """Training stopped on Ctrl-C after writing a resumable checkpoint (exit 130)."""

    exit_code = 130


class EnvironmentFault(TextgenEvalError):  # noqa: N818 (an event of the machine, like TimeoutError)
    """The machine, not the settings, stopped the work: a full disk, a read-only file system, no memory.

    Exit 2: the user can fix it (free space, memory) and resume; a tuning trial it stopped is re-queued,
    not recorded as a failed configuration (issue 34, item 4).
    """

    exit_code = 2
