"""Padded, length-bucketed batches of token-id sequences for language models.

Each sentence becomes ``[BOS] ids [EOS]``; a batch is an ``(B, T)`` int64 array padded with
``PAD_ID``. The model reads positions ``0..T-2`` and predicts ``1..T-1``; padding is masked out of
every loss, so it never counts. The batch order of epoch ``e`` depends only on ``(seed, e)``,
which is what makes a resumed run identical to an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID, Vocab

LongPolicy = Literal["drop", "truncate", "error"]


@dataclass(frozen=True)
class EncodedCorpus:
    """Sentences as id arrays with BOS and EOS, plus how many were dropped or cut."""

    sequences: tuple[np.ndarray, ...]
    n_long: int
    n_empty: int

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def n_tokens(self) -> int:
        """Predicted tokens (words plus EOS where encoded, BOS excluded)."""
        return sum(len(s) - 1 for s in self.sequences)


def encode_corpus(
    texts: Sequence[str],
    vocab: Vocab,
    *,
    max_len: int | None = None,
    long: LongPolicy = "drop",
    source: str = "corpus",
    eos: bool = True,
) -> EncodedCorpus:
    """Encode ``texts``; sentences with more than ``max_len`` tokens are dropped, cut or rejected.
    ``eos=False`` leaves EOS out (``[BOS] ids``): fixed-length token-id corpora, whose every
    position is a token and whose end is no event (:mod:`textgen_eval.data.token_ids`)."""
    if long not in ("drop", "truncate", "error"):
        raise ConfigError(f"long-sentence policy {long!r}: expected drop, truncate or error")
    out = []
    n_long = n_empty = 0
    for line, ids in enumerate(vocab.encode_all(texts), start=1):
        if not ids:
            n_empty += 1
        if max_len is not None and len(ids) > max_len:
            n_long += 1
            if long == "drop":
                continue
            if long == "error":
                raise InputError(
                    f"{source}, line {line}: {len(ids)} tokens, more than the maximum length {max_len}"
                )
            ids = ids[:max_len]
        out.append(np.asarray([BOS_ID, *ids, EOS_ID] if eos else [BOS_ID, *ids], dtype=np.int64))
    return EncodedCorpus(tuple(out), n_long, n_empty)


def pad(sequences: Sequence[np.ndarray]) -> np.ndarray:
    """Stack sequences into a ``(B, max_len)`` array padded with ``PAD_ID``."""
    width = max(len(s) for s in sequences)
    batch = np.full((len(sequences), width), PAD_ID, dtype=np.int64)
    for row, seq in enumerate(sequences):
        batch[row, : len(seq)] = seq
    return batch


def batch_order(
    lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int, bucket: int = 50
) -> list[np.ndarray]:
    """Index batches for one epoch: shuffle, sort within chunks of ``bucket`` batches by length
    (less padding), shuffle the batches. Depends only on ``(seed, epoch)``."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be ≥ 1, got {batch_size}")
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    lengths_arr = np.asarray(lengths)
    chunk = batch_size * max(bucket, 1)
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths_arr[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def iterate_batches(
    corpus: EncodedCorpus,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    shuffle: bool = True,
    bucket: int = 50,
) -> Iterator[np.ndarray]:
    """Padded batches of ``corpus`` for one epoch (in corpus order when ``shuffle`` is false);
    ``bucket=1`` gives uniformly random batches (no grouping by length: what a GAN's critic must
    see, so that real batches are not more homogeneous in length than generated ones)."""
    seqs = corpus.sequences
    if shuffle:
        for idx in batch_order([len(s) for s in seqs], batch_size, seed=seed, epoch=epoch, bucket=bucket):
            yield pad([seqs[i] for i in idx])
    else:
        for start in range(0, len(seqs), batch_size):
            yield pad(seqs[start : start + batch_size])


def sorted_batches(sequences: Sequence[np.ndarray], batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches of similar length for inference: yields ``(indices, padded batch)``."""
    order = np.argsort([len(s) for s in sequences], kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        yield idx, pad([sequences[i] for i in idx])
