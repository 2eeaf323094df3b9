"""Learning-rate arithmetic of :class:`~textgen_eval.core.training.LRSchedule` (pure functions)."""

from __future__ import annotations

from textgen_eval.core.schedules import exponential_decay
from textgen_eval.core.training import LRSchedule


def epoch_lr(schedule: LRSchedule, base: float, epoch: int) -> float | None:
    """The learning rate at the start of ``epoch`` for schedules that depend on the epoch alone
    (``exponential``, ``step``); ``None`` for schedules that leave the rate alone there."""
    if schedule.kind == "exponential":
        return max(schedule.min_lr, exponential_decay(base, epoch, schedule.decay, schedule.start))
    if schedule.kind == "step":
        if schedule.milestones:
            passed = sum(1 for m in schedule.milestones if epoch >= m)
        else:
            assert schedule.every is not None
            passed = epoch // schedule.every
        return max(schedule.min_lr, base * schedule.decay**passed)
    return None


def plateau_lr(schedule: LRSchedule, current: float) -> float:
    """The rate after a plateau (``current ÷ divisor``, floored at ``min_lr``)."""
    return max(schedule.min_lr, current / schedule.divisor)
