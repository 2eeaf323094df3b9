"""What a newcomer reads must resolve in a clone (issue 35, item 8): every specification cited
as ``GENERATORS.md``/``IMAGES.md``/``PEERS.md`` is in docs/specs/, and every ``docs/…`` or
``data/…`` path the README, the docs, the package and the examples name exists."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

SPECS = ("GENERATORS.md", "IMAGES.md", "PEERS.md")
#: a repository path in prose: docs/… or data/… ending in a file or directory name
PATH = re.compile(r"(?<![\w./-])((?:docs|data)/[\w./-]*[\w/])")
#: paths that name outputs of the documented commands, not files of this repository
NOT_FILES = {"data/", "data/snli"}  # `tge bundle data/snli …` writes it


def _texts() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in ("docs", "textgen_eval", "examples"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".md", ".py", ".toml")]
    return [p for p in files if "specs" not in p.parts]  # the specs cite the research workspace


def test_every_cited_specification_is_in_the_repository() -> None:
    cited = {name for path in _texts() for name in SPECS if name in path.read_text(encoding="utf-8")}
    assert cited == set(SPECS)  # all three are cited ...
    for name in SPECS:  # ... and all three resolve
        assert (ROOT / "docs" / "specs" / name).is_file(), name
    assert "docs/specs/" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_docs_or_data_path_named_in_prose_exists() -> None:
    missing = []
    for path in _texts():
        for match in PATH.finditer(path.read_text(encoding="utf-8")):
            name = match.group(1).rstrip(".")
            if name in NOT_FILES or "*" in name or "{" in name:
                continue
            if not (ROOT / name).exists() and not (ROOT / "textgen_eval" / name).exists():  # or a module
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, "\n".join(sorted(set(missing)))


def test_licence_citation_and_changelog_exist_and_agree_with_the_package() -> None:
    from textgen_eval import __version__

    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert f'version: "{__version__}"' in citation and "cff-version:" in citation
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {__version__}" in changelog  # the released version is described
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_readme_example_output_is_the_released_versions() -> None:
    """The README's example table is re-measured at each release (CHANGELOG.md): every signature in
    it carries the package's version."""
    from textgen_eval import __version__

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    versions = re.findall(r"\|v:([0-9][^\s|]*)", readme)
    assert len(versions) >= 6 and set(versions) == {__version__}, versions
