"""Freezing a network while another one's loss is built through it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Parameters of ``module`` do not require gradients inside the block, so a graph built there
    cannot put gradients into them (a generator's loss must not reach its critic or
    discriminator: GENERATORS.md §8, pitfall 5). The flags are restored afterwards."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


@contextlib.contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """``module`` in eval mode inside the block (dropout off: a discriminator scoring the
    generator's samples gives each one deterministic reward), its mode restored afterwards."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)
