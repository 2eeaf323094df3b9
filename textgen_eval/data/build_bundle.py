"""Build a reference bundle (``train.txt``, ``[valid.txt]``, ``test.txt``) from any text sources.

``tge bundle`` turns files or Hugging Face datasets into the directory every command takes as
``--data`` / ``--bundle``, so a corpus that is not bundled (the full SNLI train split of the
thesis, say) is used exactly like a bundled one and is identified by its content digest.

Rule (the one ``../shared/data/snli/SOURCE.md`` states for SNLI sentences, Semeniuta 2019 §5.6.1):
go through each split's sources in order, row by row; for each row take the ``--field`` columns
in the order given (premise, then hypothesis); strip leading and trailing whitespace; skip empty
strings; with ``dedupe``, keep the first occurrence of each exact string within the split (no case
folding, no tokenisation). Sentences shared between splits are counted and, with ``disjoint``,
removed from the earlier split of the pair (train loses what valid or test hold, valid what test
holds), so no test sentence is trained on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.hashing import file_digest
from textgen_eval.data.sources import read_texts

SPLITS = ("train", "valid", "test")
SOURCE_FILE = "SOURCE.json"


@dataclass(frozen=True)
class SplitReport:
    """What one split was built from and how many sentences each step kept."""

    sources: tuple[str, ...]
    rows: int
    sentences: int
    empty: int
    duplicates: int
    removed_overlap: int = 0
    kept: int = 0
    digest: str = ""


@dataclass(frozen=True)
class BundleReport:
    fields: tuple[str, ...]
    dedupe: bool
    disjoint: bool
    splits: dict[str, SplitReport]
    #: exact sentences shared by two splits before ``disjoint`` ("train&test": n)
    overlap: dict[str, int] = field(default_factory=dict)


def read_rows(source: str, fields: Sequence[str]) -> list[list[str]]:
    """The ``fields`` of every row of ``source`` (one column per field; a plain text file has one)."""
    if not fields:
        return [[s] for s in read_texts(source, option="--field")]
    columns = [list(read_texts(source, field=f, option="--field")) for f in fields]
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise InputError(f"{source}: the fields {', '.join(fields)} have different lengths ({sorted(lengths)})")
    return [list(row) for row in zip(*columns)]


def collect(sources: Sequence[str], fields: Sequence[str], *, dedupe: bool) -> tuple[list[str], SplitReport]:
    """One split's sentences by the module's rule, and its report."""
    out: list[str] = []
    seen: set[str] = set()
    rows = empty = duplicates = 0
    for source in sources:
        for row in read_rows(source, fields):
            rows += 1
            for value in row:
                text = value.strip()
                if not text:
                    empty += 1
                    continue
                if dedupe and text in seen:
                    duplicates += 1
                    continue
                seen.add(text)
                out.append(text)
    return out, SplitReport(tuple(sources), rows, len(out) + duplicates, empty, duplicates)


def build_bundle(
    out: Path,
    sources: dict[str, Sequence[str]],
    *,
    fields: Sequence[str] = (),
    dedupe: bool = True,
    disjoint: bool = False,
) -> BundleReport:
    """Write the bundle into ``out`` (which must not hold one) and return what was done."""
    if not sources.get("train") or not sources.get("test"):
        raise ConfigError("tge bundle needs at least one --train and one --test source")
    from textgen_eval.core.output import check_output_directory

    check_output_directory(out, what="bundle directory")
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: not empty; choose a new directory for the bundle")
    texts: dict[str, list[str]] = {}
    reports: dict[str, SplitReport] = {}
    for split in SPLITS:
        if sources.get(split):
            texts[split], reports[split] = collect(sources[split], fields, dedupe=dedupe)
    overlap = {}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1 :]:
            if a in texts and b in texts:
                overlap[f"{a}&{b}"] = len(set(texts[a]) & set(texts[b]))
    removed = {split: 0 for split in texts}
    if disjoint:
        later: set[str] = set()
        for split in reversed(SPLITS):  # test keeps everything; valid loses test's; train both
            if split not in texts:
                continue
            kept = [t for t in texts[split] if t not in later]
            removed[split] = len(texts[split]) - len(kept)
            texts[split] = kept
            later |= set(kept)
    for split, lines in texts.items():
        if not lines:
            raise InputError(f"--{split}: no sentences left for the {split} split")
    out.mkdir(parents=True, exist_ok=True)
    for split, lines in texts.items():
        body = "\n".join(lines) + "\n"
        atomic_write_text(out / f"{split}.txt", body)
        digest = file_digest(str(out / f"{split}.txt"), 12)  # the digest tune and evaluate record
        reports[split] = replace(reports[split], removed_overlap=removed[split], kept=len(lines), digest=digest)
    report = BundleReport(tuple(fields), dedupe, disjoint, reports, overlap)
    atomic_write_text(out / SOURCE_FILE, json.dumps(asdict(report), indent=2) + "\n")
    return report

