"""What one step of a model holds in memory at once, estimated before anything runs (issue 34, item 2).

The parameters are counted on PyTorch's ``meta`` device (``pipelines/preflight.py``); what the
parameter count does not show is the per-batch working set that some settings multiply — SeqGAN's
Monte-Carlo rollouts (batch × prefixes × rollouts rows at once), a VAE's importance samples (K
copies of every sentence through the decoder). A model lists those as :class:`WorkingSet` lower
bounds, so ``gan.rollouts = 10⁹`` is refused with the setting's name and an estimate before a run
directory exists, instead of failing in the allocator (or, for ``vae.iw_samples``, training fine and
breaking ``tge evaluate`` later).
"""

from __future__ import annotations

from dataclasses import dataclass

FLOAT32 = 4
INT64 = 8


@dataclass(frozen=True)
class WorkingSet:
    """A lower bound on the bytes one operation holds at once.

    Attributes:
        what: the operation and its shape, in words (``"rollouts: 64·19·16 = 19,456 rows × 5,004
            logits"``).
        bytes: the estimate.
        settings: the settings that size it, as ``section.field = value``.
    """

    what: str
    bytes: int
    settings: tuple[str, ...]


def logits_rows(what: str, rows: int, vocab: int, settings: tuple[str, ...], *, steps: int = 1) -> WorkingSet:
    """``rows`` float32 logits over ``vocab`` tokens for ``steps`` positions, and the rows' int64 ids."""
    return WorkingSet(
        what=f"{what}: {rows:,} rows × {steps:,} positions × {vocab:,} logits",
        bytes=rows * steps * vocab * FLOAT32 + rows * steps * INT64,
        settings=settings,
    )
