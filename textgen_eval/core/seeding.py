"""Explicit seeding of every random number generator a run touches."""

from __future__ import annotations

import os
import random
from typing import Any

#: Seeds are 0 … 2³² − 1 everywhere (NumPy's legacy seeding takes no more; every CLI option and
#: ``*.seed`` setting is checked against this range).
MAX_SEED = 2**32 - 1


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) with ``seed``.

    ``deterministic=True`` also asks torch for deterministic kernels (slower on GPU; an
    operation without a deterministic implementation then raises instead of varying).
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def rng_state() -> dict[str, Any]:
    """Snapshot of the global generators, for checkpoints."""
    import numpy as np
    import torch

    np_state: Any = np.random.get_state()
    name, keys, pos, has_gauss, cached = np_state
    version, internal, gauss = random.getstate()
    # Plain lists and tensors only, so checkpoints load with ``torch.load(weights_only=True)``.
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def resolve_device(spec: str = "auto") -> Any:
    """``auto`` → CUDA when present, else CPU; otherwise any ``torch.device`` string."""
    import torch

    from textgen_eval.core.errors import ConfigError

    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"--device {spec!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {spec!r}: CUDA is not available on this machine (use cpu or auto)")
    return device
