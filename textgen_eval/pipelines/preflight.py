"""Refuse a model the machine cannot hold before anything is written (issue 34, item 2).

The network is built on PyTorch's ``meta`` device — shapes, no storage — from the resolved config
and the data's vocabulary, its parameters counted, and the memory that training needs at least
(weights, gradients and Adam's two moments: 16 bytes per float32 parameter) compared with what the
machine has available. A model that cannot fit is a config error naming its parameter count, the
estimate, the largest tensor and the settings whose values are that tensor's dimensions — instead
of the allocator's failure halfway through (an internal error), or a run that only breaks later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.memory import WorkingSet

#: Bytes per parameter that training holds at least: float32 weights, gradients, Adam's m and v.
BYTES_PER_PARAMETER = 16


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or ``None``."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def sized_settings(configs: Mapping[str, Any], dims: Sequence[int]) -> list[str]:
    """``section.field = value`` for the integer settings (or per-layer tuples of them) whose value
    (or a gate multiple of it: ×3, ×4) is one of ``dims`` — the settings that made the largest
    tensor that large."""
    out = []
    for section, cfg in configs.items():
        if not is_dataclass(cfg):
            continue
        for f in fields(cfg):
            value = getattr(cfg, f.name)
            numbers = value if isinstance(value, tuple) else (value,)  # per-layer sizes: (512, 256, …)
            sizes = [n for n in numbers if isinstance(n, int) and not isinstance(n, bool) and n >= 2]
            if any(d in (n, 3 * n, 4 * n) for n in sizes for d in dims):
                shown = (
                    f"{value:,}"
                    if not isinstance(value, tuple)
                    else f"({', '.join(f'{n:,}' for n in value)})"
                )
                out.append(f"{section}.{f.name} = {shown}")
    return out


def check_fits(name: str, module_builder: Any, configs: Mapping[str, Any], *, available: int | None) -> None:
    """Build ``module_builder()`` on the meta device and refuse it when its training state
    (:data:`BYTES_PER_PARAMETER` per parameter) exceeds ``available`` bytes."""
    import torch

    if available is None:
        return
    try:
        with torch.device("meta"):
            module = module_builder()
    except RuntimeError as exc:  # a shape whose byte size overflows 64 bits cannot even be described
        if "overflow" not in str(exc):
            raise
        dims = [int(d) for d in re.findall(r"\d+", str(exc).split("sizes=", 1)[-1])]
        settings = sized_settings(configs, dims)
        blame = f" ({', '.join(settings)})" if settings else ""
        raise ConfigError(
            f"{name}: a weight of shape {tuple(dims)} is too large for any machine (its size overflows 64 "
            f"bits); reduce the sizes{blame}"
        ) from None
    params = {id(p): (n, p) for n, p in module.named_parameters()}.values()
    total = sum(p.numel() for _, p in params)
    need = total * BYTES_PER_PARAMETER
    if need <= available:
        return
    big_name, big = max(params, key=lambda item: item[1].numel())
    settings = sized_settings(configs, tuple(big.shape))
    blame = f"; set by {', '.join(settings)}" if settings else ""
    raise ConfigError(
        f"{name}: {total:,} parameters need about {need / 2**30:,.1f} GiB to train (weights, gradients, "
        f"Adam's moments), more than the {available / 2**30:,.1f} GiB this machine has available; the "
        f"largest tensor is {big_name} {tuple(big.shape)}{blame}"
    )


def check_working_sets(name: str, sets: Sequence[WorkingSet], *, available: int | None) -> None:
    """Refuse the first per-batch working set (:mod:`textgen_eval.core.memory`) larger than
    ``available`` bytes, naming the settings that size it."""
    if available is None:
        return
    for ws in sets:
        if ws.bytes > available:
            raise ConfigError(
                f"{name}: {ws.what} need at least {ws.bytes / 2**30:,.1f} GiB at once, more than the "
                f"{available / 2**30:,.1f} GiB this machine has available; lower {', '.join(ws.settings)}"
            )
