"""Bundled reference corpora (``data/<name>/{train,valid,test}.txt``).

A *bundle* is a directory with ``train.txt``, optional ``valid.txt`` and ``test.txt`` (the
references). The package ships Image COCO captions as ``coco``; ``TGE_DATA_DIR`` points the
lookup at another directory of bundles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textgen_eval.core.errors import InputError

if TYPE_CHECKING:
    from textgen_eval.data.bundle_meta import BundleMeta

DEFAULT_REFERENCE = "coco"
SPLITS = ("train", "valid", "test")


def bundled_data_dir() -> Path:
    """Directory holding the bundles: ``$TGE_DATA_DIR``, the wheel's copy, or the checkout's ``data/``."""
    override = os.environ.get("TGE_DATA_DIR")
    if override:
        return Path(override)
    package_dir = Path(__file__).resolve().parent.parent
    inside_wheel = package_dir / "_bundled_data"
    if inside_wheel.is_dir():
        return inside_wheel
    return package_dir.parent / "data"


def _why_not_a_file(path: Path) -> str:
    """Why ``path`` cannot be read as a split (issue 34, item 6: not always "missing")."""
    import errno
    import os

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "is a broken symlink (its target is missing)" if os.path.islink(path) else "is missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop; expected a text file, one sentence per line"
        return f"cannot be read ({exc.strerror})"
    import stat

    if stat.S_ISDIR(mode):
        return "is a directory; expected a text file, one sentence per line"
    return "is not a regular file; expected a text file, one sentence per line"


@dataclass(frozen=True)
class Bundle:
    name: str
    path: Path
    #: Set when a directory shadowed a bundled corpus of the same name (said in the output).
    note: str | None = None

    def split(self, split: str) -> Path:
        if split not in SPLITS:
            raise InputError(f"bundle {self.name!r}: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        path = self.path / f"{split}.txt"
        if not path.is_file():
            raise InputError(f"bundle {self.name!r}: {split} split {path} {_why_not_a_file(path)}")
        return path

    @property
    def test(self) -> Path:
        return self.split("test")

    @property
    def train(self) -> Path:
        return self.split("train")

    @property
    def valid(self) -> Path | None:
        path = self.path / "valid.txt"
        return path if path.is_file() else None

    @property
    def meta(self) -> BundleMeta:
        """What ``bundle.json`` says (text format, oracle); empty for a plain bundle."""
        from textgen_eval.data.bundle_meta import read_meta

        return read_meta(self.path)


def list_bundles() -> list[str]:
    root = bundled_data_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "test.txt").is_file())


def canonical_label(path: str | os.PathLike[str]) -> str:
    """How a text file is named in signatures, whatever the spelling of its path (issue 19).

    A split of a bundled corpus is ``bundled:NAME/SPLIT`` (also when reached through a path such
    as ``data/coco/test.txt``); a split of another bundle directory is ``DIRNAME/SPLIT``; any
    other file is its file name. The name is for people: what identifies the content is the
    digest that signatures put next to it (``LABEL@DIGEST``), so two spellings, machines or
    copies of the same file give the same signature.
    """
    resolved = Path(path).resolve()
    parent, stem = resolved.parent, resolved.stem
    if resolved.suffix == ".txt" and stem in SPLITS:
        root = bundled_data_dir().resolve()
        if parent.parent == root and (parent / "test.txt").is_file():
            return f"bundled:{parent.name}/{stem}"
        if (parent / "test.txt").is_file():
            return f"{parent.name}/{stem}"
    return resolved.name


def resolve_bundle(name: str) -> Bundle:
    """A bundle directory (``train.txt``, ``[valid.txt]``, ``test.txt``) or a bundled corpus name.

    An existing directory wins over a bundled name (the bundle's ``note`` then says so); a
    directory without ``test.txt`` is an error naming the directory, not "no bundled corpus".
    """
    as_path = Path(name)
    root = bundled_data_dir()
    bundled = root / name if name and Path(name).name == name else None
    is_bundled = bundled is not None and (bundled / "test.txt").is_file()
    if as_path.is_dir():
        if not (as_path / "test.txt").is_file():
            raise InputError(
                f"--bundle {name}: the directory {as_path} has no test.txt; a bundle directory holds "
                "train.txt, [valid.txt] and test.txt, one sentence per line"
            )
        note = None
        if is_bundled and as_path.resolve() != bundled.resolve():  # type: ignore[union-attr]
            note = (
                f"--bundle {name}: using the directory {as_path.resolve()}, not the bundled corpus of the "
                f"same name (pass {bundled} to use that one)"
            )
        return Bundle(as_path.name, as_path, note)
    if is_bundled:
        return Bundle(name, bundled)  # type: ignore[arg-type]
    known = ", ".join(list_bundles()) or "none found"
    raise InputError(
        f"--bundle {name}: neither a directory nor a bundled corpus (bundled corpora in {root}: {known})"
    )


def bundle_reference(spec: str) -> str:
    """How runs record a bundle so any process finds it again: a bundled name as it is, a
    directory as its absolute path."""
    return str(resolve_bundle(spec).path.resolve()) if Path(spec).is_dir() else spec
