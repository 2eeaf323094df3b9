"""File readers: plain text (one sentence per line), JSON lines (a field), CSV/TSV (a column).

Every reader validates its input and raises :class:`InputError` naming the file, the line and
what was expected. Empty lines are legitimate empty samples (a generator may emit an empty
sentence); a trailing newline never creates one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from textgen_eval.core.errors import InputError

RawReader = Callable[[Path, str, "str | None", str], list[str]]


def decode_utf8(path: Path) -> str:
    """Read ``path`` as UTF-8 text (a BOM is dropped), refusing binary or mis-encoded content."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; expected a text file with one sentence per line")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _position(data, nul)
        raise InputError(
            f"{path}: looks like a binary file (NUL byte at line {line}, byte offset {nul}); "
            "expected UTF-8 text"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise InputError(
            f"{path}: not valid UTF-8 at line {line}, byte offset {exc.start} "
            f"(byte {column} of the line, value 0x{data[exc.start]:02x}); expected UTF-8 text "
            "(convert it, e.g. with `iconv -t UTF-8`)"
        ) from None
    return text.removeprefix("\ufeff")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line number and 0-based byte column of ``offset``."""
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1)
    return line, column


def split_lines(text: str) -> list[str]:
    """Split into lines; ``\\r\\n`` and ``\\n`` both end a line; a final newline adds no line."""
    if text == "":
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_txt(path: Path, text: str, field: str | None, option: str) -> list[str]:
    if field is not None:
        raise InputError(f"{path}: {option} {field!r} was given, but plain-text files have no fields")
    return split_lines(text)


def read_jsonl(path: Path, text: str, field: str | None, option: str) -> list[str]:
    out: list[str] = []
    key = field
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue  # blank lines separate nothing in JSON lines; an empty sample is {"text": ""}
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise InputError(f"{path}: line {number}: expected a JSON object, got {type(record).__name__}")
        if key is None:
            key = _default_field(list(record), path, option)
        if key not in record:
            raise InputError(
                f"{path}: line {number}: no field {key!r} (fields: {', '.join(map(repr, record))}); "
                f"choose one with {option}"
            )
        out.append(as_sentence(record[key], f"{path}: line {number}: field {key!r}"))
    return out


def as_sentence(value: object, where: str) -> str:
    """A field's value as a sentence: ``None`` is an empty sentence, anything but str an error."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where} is {type(value).__name__}, expected a string")
    return value


def _read_delimited(path: Path, text: str, field: str | None, option: str, delimiter: str) -> list[str]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(rows)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: malformed header ({exc})") from None
    column = field if field is not None else _default_field(header, path, option)
    if column not in header:
        raise InputError(f"{path}: no column {column!r} (columns: {', '.join(map(repr, header))}); choose one with {option}")
    index = header.index(column)
    out: list[str] = []
    try:
        for row in rows:
            if not row:
                continue
            if index >= len(row):
                raise InputError(
                    f"{path}: line {rows.line_num}: {len(row)} columns, expected at least {index + 1} "
                    f"(column {column!r})"
                )
            out.append(row[index])
    except csv.Error as exc:
        raise InputError(f"{path}: line {rows.line_num}: malformed row ({exc})") from None
    return out


def read_csv(path: Path, text: str, field: str | None, option: str) -> list[str]:
    return _read_delimited(path, text, field, option, ",")


def read_tsv(path: Path, text: str, field: str | None, option: str) -> list[str]:
    return _read_delimited(path, text, field, option, "\t")


def _default_field(names: list[str], path: Path, option: str) -> str:
    if "text" in names:
        return "text"
    if len(names) == 1:
        return names[0]
    raise InputError(
        f"{path}: several fields ({', '.join(map(repr, names))}) and none is called 'text'; "
        f"choose one with {option}"
    )


# Extension → reader. Anything else is read as plain text, one sentence per line.
READERS: dict[str, RawReader] = {
    ".txt": read_txt,
    ".jsonl": read_jsonl,
    ".csv": read_csv,
    ".tsv": read_tsv,
}


def read_file(path: Path, field: str | None = None, option: str = "--field") -> list[str]:
    """Read the sentences of one file, choosing the reader from its extension."""
    reader = READERS.get(path.suffix.lower(), read_txt)
    return reader(path, decode_utf8(path), field, option)
