"""File readers: plain text (one sentence per line), JSON lines (a field), CSV/TSV (a column).

Every reader validates its input and raises :class:`InputError` naming the file, the line and
what was expected. Empty lines are legitimate empty samples (a generator may emit an empty
sentence); a trailing newline never creates one.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from textgen_eval.core.errors import InputError

RawReader = Callable[[Path, str, "str | None", str], list[str]]


#: Input is read in chunks of this size and refused at the first NUL byte, so an unbounded
#: binary stream (``/dev/zero``) costs one chunk, not all memory.
READ_CHUNK = 1 << 20


def check_input_path(path: Path, *, what: str = "file") -> os.stat_result:
    """``os.stat`` of an input, with a message naming the file for every way it can be missing."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(f"{path}: is a broken symlink (its target is missing)") from None
        raise InputError(f"{path}: {what} not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{path}: is a symlink loop; expected a {what}") from None
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def read_bounded(path: Path) -> bytes:
    """The bytes of ``path``, read in chunks; the first NUL byte stops the read with an error."""
    parts: list[bytes] = []
    offset = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    data = b"".join(parts) + chunk[:nul]
                    line, _ = _position(data, offset + nul)
                    raise InputError(
                        f"{path}: looks like a binary file (NUL byte at line {line}, byte offset "
                        f"{offset + nul}); expected UTF-8 text"
                    )
                parts.append(chunk)
                offset += len(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    return b"".join(parts)


def decode_utf8(path: Path) -> str:
    """Read ``path`` as UTF-8 text (a BOM is dropped), refusing binary or mis-encoded content."""
    info = check_input_path(path)
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory; expected a text file with one sentence per line")
    data = read_bounded(path)
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
        sentence = as_sentence(record[key], f"{path}: line {number}: field {key!r}")
        out.append(_check_encodable(path, number, sentence))
    return out


def _check_encodable(path: Path, number: int, value: str) -> str:
    """A JSON ``\\ud800``-style escape decodes to a lone surrogate, which is not text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{path}: line {number}: the string holds a lone surrogate (U+{ord(value[exc.start]):04X}, "
            "from a \\u escape); expected valid Unicode text"
        ) from None
    return value


def as_sentence(value: object, where: str) -> str:
    """A field's value as a sentence: ``None`` is an empty sentence, anything but str an error."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where} is {type(value).__name__}, expected a string")
    return value


def _read_delimited(path: Path, text: str, field: str | None, option: str, delimiter: str) -> list[str]:
    """One column of a CSV/TSV file; every row must have the header's number of fields.

    A row with more fields than the header (an unquoted delimiter inside a sentence), an
    unterminated quote, and a quoted field that spans lines (usually a quote never closed) are
    errors naming the line: none of them may silently change what is scored.
    """
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    name = "TSV" if delimiter == "\t" else "CSV"
    try:
        header = next(rows)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: malformed header ({exc})") from None
    column = field if field is not None else _default_field(header, path, option)
    if column not in header:
        raise InputError(
            f"{path}: no column {column!r} (columns: {', '.join(map(repr, header))}); choose one with {option}"
        )
    index = header.index(column)
    out: list[str] = []
    first = rows.line_num + 1
    try:
        for row in rows:
            last, first = rows.line_num, first
            if not row:
                first = last + 1
                continue
            if len(row) != len(header):
                raise InputError(
                    f"{path}: line {first}: {len(row)} fields, but the header has {len(header)}; "
                    f"quote fields that contain {'a tab' if delimiter == chr(9) else 'a comma'} "
                    f"(expected {name} with {len(header)} fields per row)"
                )
            if last != first or "\n" in row[index] or "\r" in row[index]:
                raise InputError(
                    f"{path}: lines {first}-{last} are one quoted field; a sentence spans no lines, so a "
                    f"quote opened on line {first} is probably never closed"
                )
            out.append(row[index])
            first = last + 1
    except csv.Error as exc:
        raise InputError(
            f"{path}: line {first}: malformed row ({exc}); an unterminated quote opened on line {first}?"
        ) from None
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
