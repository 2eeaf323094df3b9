"""Resolve a source spec (file path, bundled corpus name, ``hf:...``) into a :class:`TextSet`."""

from __future__ import annotations

import os
from pathlib import Path

from textgen_eval.core.errors import InputError
from textgen_eval.core.model import CONFIG_FILE
from textgen_eval.core.training import MODEL_DIR
from textgen_eval.data.bundles import canonical_label, list_bundles, resolve_bundle
from textgen_eval.data.hf import PREFIX as HF_PREFIX
from textgen_eval.data.hf import read_hf
from textgen_eval.data.readers import read_file
from textgen_eval.data.textset import TextSet


def read_texts(
    source: str | os.PathLike[str],
    *,
    field: str | None = None,
    skip_empty: bool = False,
    option: str = "--field",
    allow_bundle: bool = False,
) -> TextSet:
    """Read sentences from a file, a bundled corpus (``coco``, ``coco:train``) or ``hf:...``.

    Args:
        source: the spec.
        field: JSON-lines field / CSV column / dataset column holding the sentence.
        skip_empty: drop empty sentences instead of keeping them as empty samples.
        option: the CLI option that sets ``field``, named in error messages.
        allow_bundle: accept bundled corpus names (references do; samples don't).

    Raises:
        InputError: the source is missing, unreadable, malformed or holds no sentences.
    """
    spec = os.fspath(source)
    label = spec
    if spec.startswith(HF_PREFIX):
        texts = read_hf(spec, field, option)
    else:
        path = Path(spec)
        present = os.path.lexists(path)  # a broken link or a loop is reported by the reader
        if not present and allow_bundle and spec.partition(":")[0] in list_bundles():
            name, _, split = spec.partition(":")
            path = resolve_bundle(name).split(split or "test")
            label = f"bundled:{name}/{split or 'test'}"
        elif not present:
            bundles = list_bundles()
            hint = f" and not a bundled corpus ({', '.join(bundles)})" if allow_bundle and bundles else ""
            raise InputError(f"{spec}: file not found{hint}")
        if path.is_dir():
            raise InputError(_directory_message(path, allow_bundle))
        texts = read_file(path, field, option)
        spec = str(path)
        label = canonical_label(path) if label == os.fspath(source) else label
    n_total = len(texts)
    if skip_empty:
        kept = [t for t in texts if t.strip()]
        skipped = n_total - len(kept)
    else:
        kept, skipped = texts, 0
    if not any(t.strip() for t in kept):
        detail = f"{n_total} lines, all empty" if n_total else "it is empty"
        raise InputError(f"{spec}: contains no sentences ({detail}); expected one sentence per line")
    return TextSet(kept, source=spec, label=label, n_skipped_empty=skipped)


def _directory_message(path: Path, references: bool) -> str:
    """What a directory given where sentences were expected probably is, and what to do."""
    if (path / "test.txt").is_file() and (path / "train.txt").is_file():
        return (
            f"{path}: is a bundle directory (train.txt, test.txt); pass it as --bundle {path} "
            "(its test split is then the reference), or give its test.txt as the reference file"
        )
    if not references and ((path / CONFIG_FILE).is_file() or (path / MODEL_DIR / CONFIG_FILE).is_file()):
        return f"{path}: is a trained model directory; `tge evaluate {path}` samples from it and scores it"
    what = "reference" if references else "samples"
    return f"{path}: is a directory; expected a {what} file with one sentence per line"
