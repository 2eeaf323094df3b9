"""Where textgen_eval caches derived artefacts (trained tokenizers, reference models).

``TGE_CACHE_DIR`` overrides the location; otherwise ``$XDG_CACHE_HOME/textgen_eval`` or
``~/.cache/textgen_eval``.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    override = os.environ.get("TGE_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "textgen_eval"
