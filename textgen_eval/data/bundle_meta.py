"""What a bundle says about itself beyond its sentences: ``bundle.json``.

A plain bundle has none. A synthetic-oracle bundle (``seqgan-oracle``, ``tge bundle --oracle``)
declares its text format (fixed-length token ids, :class:`~textgen_eval.data.token_ids.TokenIdFormat`)
and its oracle (the parameter file, how it was made, its digest and its entropy rate), so every
command reads the oracle from the bundle and every generator trains in the bundle's format::

    {"format": {"kind": "token-ids", "length": 20, "vocab_size": 5000},
     "oracle": {"file": "oracle.npz", "origin": "seqgan", "start_token": 0,
                "digest": "0c2f88e8d7f7", "entropy_rate": 5.7521, "entropy_n": 10000}}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textgen_eval.core.errors import InputError
from textgen_eval.data.token_ids import TokenIdFormat

if TYPE_CHECKING:
    from textgen_eval.data.oracle import LSTMOracle, OracleParams

META_FILE = "bundle.json"
#: The largest ``bundle.json`` read (a damaged or endless file is refused, not read whole).
MAX_META_BYTES = 1 << 20


@dataclass(frozen=True)
class OracleRecord:
    """The oracle of a bundle.

    Attributes:
        file: the parameter file (``.npz``) inside the bundle directory.
        origin: ``seqgan`` (the published parameters) or ``random:seed=S``.
        start_token: the id fed before the first token.
        digest: :attr:`~textgen_eval.data.oracle.OracleParams.digest`; the file must match it.
        entropy_rate: the oracle's NLL of its own held-out samples (the test split), nats per
            token — the floor of NLL-oracle, printed beside it; ``entropy_n`` samples.
    """

    file: str
    origin: str
    start_token: int
    digest: str
    entropy_rate: float | None = None
    entropy_n: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "origin": self.origin,
            "start_token": self.start_token,
            "digest": self.digest,
            "entropy_rate": self.entropy_rate,
            "entropy_n": self.entropy_n,
        }


@dataclass(frozen=True)
class BundleMeta:
    format: TokenIdFormat | None = None
    oracle: OracleRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.format is not None:
            out["format"] = self.format.to_dict()
        if self.oracle is not None:
            out["oracle"] = self.oracle.to_dict()
        return out


def read_meta(directory: Path) -> BundleMeta:
    """The ``bundle.json`` of a bundle directory (an empty :class:`BundleMeta` when there is none);
    a damaged or foreign file is an :class:`InputError` naming it."""
    path = directory / META_FILE
    if not path.is_file():
        if path.exists() or path.is_symlink():
            raise InputError(f"{path}: not a regular file; expected the bundle's JSON description")
        return BundleMeta()
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_META_BYTES + 1)
        if len(raw) > MAX_META_BYTES:
            raise InputError(f"{path}: larger than {MAX_META_BYTES} bytes; not a bundle description")
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid UTF-8 JSON ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with 'format' and/or 'oracle'")
    unknown = set(data) - {"format", "oracle"}
    if unknown:
        raise InputError(f"{path}: unknown keys {sorted(unknown)}; expected 'format' and/or 'oracle'")
    fmt = TokenIdFormat.from_dict(data["format"], where=str(path)) if "format" in data else None
    oracle = _oracle_record(data["oracle"], path) if "oracle" in data else None
    if oracle is not None and fmt is None:
        raise InputError(f"{path}: an oracle bundle needs a 'format' (token ids of a fixed length)")
    return BundleMeta(fmt, oracle)


def _oracle_record(data: Any, path: Path) -> OracleRecord:
    if not isinstance(data, dict):
        raise InputError(f"{path}: 'oracle' must be an object")
    try:
        file, origin, digest = str(data["file"]), str(data["origin"]), str(data["digest"])
        start = int(data.get("start_token", 0))
        entropy = data.get("entropy_rate")
        entropy_n = data.get("entropy_n")
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path}: 'oracle' needs 'file', 'origin' and 'digest'") from None
    if Path(file).name != file or file in ("", ".", ".."):
        raise InputError(f"{path}: the oracle file {file!r} must be a file name inside the bundle")
    if entropy is not None and not (isinstance(entropy, (int, float)) and math.isfinite(entropy)):
        raise InputError(f"{path}: 'entropy_rate' must be a finite number")
    return OracleRecord(
        file, origin, start, digest, float(entropy) if entropy is not None else None,
        int(entropy_n) if entropy_n is not None else None,
    )  # fmt: skip


def write_meta(directory: Path, meta: BundleMeta) -> None:
    from textgen_eval.core.files import atomic_write_text

    atomic_write_text(directory / META_FILE, json.dumps(meta.to_dict(), indent=2) + "\n")


def load_params(directory: Path, record: OracleRecord) -> OracleParams:
    """The bundle's oracle parameters, checked against the digest ``bundle.json`` records."""
    from textgen_eval.data.oracle import OracleParams

    params = OracleParams.load(directory / record.file, origin=record.origin, start_token=record.start_token)
    if params.digest != record.digest:
        raise InputError(
            f"{directory / record.file}: oracle parameters with digest {params.digest}, but "
            f"{directory / META_FILE} records {record.digest}: the file was changed or replaced"
        )
    return params


def load_oracle(directory: Path, record: OracleRecord) -> LSTMOracle:
    """The bundle's oracle, its parameters checked against the recorded digest."""
    from textgen_eval.data.oracle import LSTMOracle, OracleParams

    return LSTMOracle(load_params(directory, record))


@dataclass(frozen=True)
class BundleOracle:
    """A bundle's oracle, ready to score: what ``nll-oracle`` finds in its context."""

    oracle: LSTMOracle
    format: TokenIdFormat
    record: OracleRecord
    bundle: str


def bundle_oracle(directory: Path, name: str) -> BundleOracle | None:
    """The oracle of the bundle at ``directory`` (``None`` when it has none)."""
    meta = read_meta(directory)
    if meta.oracle is None or meta.format is None:
        return None
    return BundleOracle(load_oracle(directory, meta.oracle), meta.format, meta.oracle, name)
