"""Build a synthetic-oracle bundle: corpora drawn from an LSTM oracle, with the oracle inside.

``tge bundle OUT --oracle seqgan|random --length L --n N --seed S`` writes ``train.txt``,
``valid.txt`` and ``test.txt`` (N sequences each, drawn by the oracle in float64 with the
seeds S, S+1 and S+2, so every machine draws the same files), the oracle's parameters
(``oracle.npz``), ``bundle.json`` (format, oracle, its digest and entropy rate) and
``SOURCE.json`` (how it was made). ``seqgan`` is SeqGAN's published oracle, shipped in
the ``seqgan-oracle`` bundle; ``random`` a fresh oracle initialised as SeqGAN's
``target_lstm.py`` does (:func:`~textgen_eval.data.oracle.random_params` with seed S).
The test split is the held-out sample of NLL-test (CoT's practice, PEERS.md §1.4); the
oracle's NLL of it is the entropy rate recorded in ``bundle.json``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.hashing import file_digest
from textgen_eval.data.bundle_meta import BundleMeta, OracleRecord, load_params, write_meta
from textgen_eval.data.oracle import LSTMOracle, OracleParams, nll_oracle, random_params
from textgen_eval.data.token_ids import TokenIdFormat

ORACLE_FILE = "oracle.npz"
ORACLES = ("seqgan", "random")
#: The most sequences per split ``tge bundle --oracle`` draws (10⁷ × 20 ids is about 1 GB of text).
MAX_N = 10_000_000
#: SeqGAN's published oracle, as shipped in the bundled corpus of that name.
SEQGAN_BUNDLE = "seqgan-oracle"


@dataclass(frozen=True)
class OracleBundleReport:
    out: Path
    oracle: OracleRecord
    format: TokenIdFormat
    counts: dict[str, int]
    digests: dict[str, str]


def seqgan_params() -> OracleParams:
    """SeqGAN's oracle (Yu et al. 2017) from the bundled ``seqgan-oracle`` corpus."""
    from textgen_eval.data.bundles import resolve_bundle

    bundle = resolve_bundle(SEQGAN_BUNDLE)
    record = bundle.meta.oracle
    if record is None:
        raise InputError(f"{bundle.path}: the bundled {SEQGAN_BUNDLE!r} corpus has no oracle in its bundle.json")
    return load_params(bundle.path, record)


def build_oracle_bundle(
    out: Path,
    *,
    oracle: str,
    length: int = 20,
    n: int = 10_000,
    seed: int = 0,
    params: OracleParams | None = None,
    train_lines: Sequence[str] | None = None,
    command: Sequence[str] | None = None,
) -> OracleBundleReport:
    """Draw the splits and write the bundle ``out`` (which must not exist or be empty).

    Args:
        oracle: ``seqgan`` or ``random``.
        params: the oracle's parameters (default: SeqGAN's for ``seqgan``, ``random_params(seed)``).
        train_lines: a training split to use as it is (the published SeqGAN file) instead of drawing one.
    """
    if oracle not in ORACLES:
        raise ConfigError(f"--oracle {oracle!r}: expected one of {', '.join(ORACLES)}")
    if not 1 <= length <= 1000:
        raise ConfigError(f"--length {length}: expected 1 to 1000 tokens per sequence")
    if not 2 <= n <= MAX_N:
        raise ConfigError(f"--n {n}: expected 2 to {MAX_N:,} sequences per split")
    if seed < 0:
        raise ConfigError(f"--seed {seed}: expected an integer ≥ 0")
    from textgen_eval.core.output import check_output_directory

    check_output_directory(out, what="bundle directory")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: exists and is not an empty directory; choose a new bundle directory")
    if params is None:
        params = seqgan_params() if oracle == "seqgan" else random_params(seed)
    fmt = TokenIdFormat(length, params.vocab_size)
    import torch

    exact = LSTMOracle(params, dtype=torch.float64)
    splits: dict[str, list[str]] = {}
    if train_lines is not None:
        fmt.parse(list(train_lines), source="training split")
        splits["train"] = list(train_lines)
    for offset, split in enumerate(("train", "valid", "test")):
        if split not in splits:
            splits[split] = fmt.format_lines(exact.sample(n, length, seed=seed + offset))
    test_ids = fmt.parse(splits["test"], source="test split")
    entropy = nll_oracle(LSTMOracle(params), test_ids)
    record = OracleRecord(
        ORACLE_FILE, params.origin, params.start_token, params.digest, round(entropy, 6), len(test_ids)
    )
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    for split, lines in splits.items():
        (partial / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    params.save(partial / ORACLE_FILE)
    write_meta(partial, BundleMeta(fmt, record))
    digests = {split: file_digest(str(partial / f"{split}.txt")) for split in splits}
    source = {
        "oracle": oracle,
        "origin": params.origin,
        "digest": params.digest,
        "length": length,
        "n": {split: len(lines) for split, lines in splits.items()},
        "seeds": {s: seed + i for i, s in enumerate(("train", "valid", "test")) if not (s == "train" and train_lines)},
        "train": "given" if train_lines is not None else "drawn",
        "sampling": "inverse CDF, float64, one uniform per position (textgen_eval.data.oracle)",
        "sha256_12": digests,
        "command": list(command) if command else None,
    }
    atomic_write_text(partial / "SOURCE.json", json.dumps(source, indent=2) + "\n")
    if out.exists():
        out.rmdir()
    os.replace(partial, out)
    return OracleBundleReport(out, record, fmt, {s: len(v) for s, v in splits.items()}, digests)

