"""The only loaders of binary files in the package: none of them can run code.

Every ``.pt`` the project reads (weights, training checkpoints, cache entries) is read with
``torch.load(weights_only=True)``: tensors and plain containers only, never an arbitrary pickle;
every ``.npy``/``.npz`` with ``numpy.load(allow_pickle=False)``. A file that holds anything else —
a planted pickle included — is refused with :class:`~textgen_eval.core.errors.InputError` naming
the file and what it was expected to be. The messages are this project's own: torch's and numpy's
texts suggest re-loading with pickling enabled "if you trust the source", which for a file found
in a cache or a run directory is exactly the wrong advice, so they are never relayed.
``tests/reliability/test_safe_loading.py`` fails if any other module calls a loader that can
unpickle.
"""

from __future__ import annotations

import io
import pickle  # only for the exception type: nothing here unpickles
import zipfile
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import InputError

#: What a refused file is said to hold when it is a pickle of Python objects.
PICKLED = "it holds pickled Python objects, which are never loaded (loading them could run code)"


def _reason(exc: BaseException) -> str:
    """A one-line reason for a failed load that never suggests enabling pickling."""
    text = str(exc)
    if "Unsupported global" in text or "Object arrays cannot be loaded" in text:
        return PICKLED  # a pickle naming Python callables or objects: refused before it runs
    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in text or "allow_pickle" in text:
        return "damaged, truncated or not a file of this kind"
    if (
        isinstance(exc, (EOFError, zipfile.BadZipFile))
        or "PytorchStreamReader" in text
        or "zip archive" in text
    ):
        return "damaged, truncated or not a file of this kind"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def load_tensors(source: Path | bytes, *, what: str) -> Any:
    """``torch.load(source, map_location="cpu", weights_only=True)``; any failure is an
    :class:`InputError` naming ``source`` (a path) and ``what`` it should be."""
    import torch

    where = str(source) if isinstance(source, Path) else "the data"
    try:
        handle = source if isinstance(source, Path) else io.BytesIO(source)
        return torch.load(handle, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{where}: {what} missing") from None
    except IsADirectoryError:
        raise InputError(f"{where}: expected {what}, found a directory") from None
    except Exception as exc:  # torch raises many types for foreign or damaged files
        raise InputError(f"{where}: not {what} ({_reason(exc)})") from None


def load_array(source: Path | bytes, *, what: str) -> Any:
    """``numpy.load(source, allow_pickle=False)`` (an array, or an ``NpzFile`` for ``.npz``);
    any failure is an :class:`InputError` naming ``source`` and ``what`` it should be."""
    import numpy as np

    where = str(source) if isinstance(source, Path) else "the data"
    try:
        handle = source if isinstance(source, Path) else io.BytesIO(source)
        return np.load(handle, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{where}: {what} missing") from None
    except IsADirectoryError:
        raise InputError(f"{where}: expected {what}, found a directory") from None
    except Exception as exc:  # ValueError (object arrays, bad header), OSError, EOFError …
        raise InputError(f"{where}: not {what} ({_reason(exc)})") from None
