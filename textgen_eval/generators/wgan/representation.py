"""Sentences as the fixed T × V matrices a WGAN-GP critic reads, and back.

Real: ``[w₁ … w_n EOS PAD … PAD]`` (T ids) as one-hot rows. Generated: a softmax per position.
Decoding takes a token per position (argmax, or a draw from softmax(logits / temperature)) and
stops at the first EOS or PAD; the sentence is what came before.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from textgen_eval.data.vocab import EOS_ID, PAD_ID


def real_ids(batch: np.ndarray, seq_len: int) -> np.ndarray:
    """A padded ``[BOS] ids [EOS]`` batch ``(B, W)`` with W ≤ T + 1 → ``(B, T)`` ids without BOS,
    PAD after EOS."""
    body = batch[:, 1:]  # (B, W − 1)
    if body.shape[1] > seq_len:
        raise ValueError(f"a sentence of {body.shape[1]} positions does not fit seq_len = {seq_len}")
    out = np.full((batch.shape[0], seq_len), PAD_ID, dtype=np.int64)
    out[:, : body.shape[1]] = body
    return out


def one_hot(ids: Tensor, vocab_size: int) -> Tensor:
    """``(B, T)`` ids → ``(B, T, V)`` float one-hot rows."""
    return F.one_hot(ids, vocab_size).float()


def decode_positions(
    logits: Tensor, *, temperature: float, sample: bool, generator: torch.Generator | None = None
) -> Tensor:
    """A token per position of ``(B, T, V)`` logits: argmax (``sample=False`` or temperature 0)
    or a draw from softmax(logits / temperature) → ``(B, T)`` ids."""
    if not sample or temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)  # (B, T, V)
    flat = probs.reshape(-1, probs.shape[-1])  # (B·T, V)
    return torch.multinomial(flat, 1, generator=generator).view(probs.shape[:2])  # (B, T)


def sentence_ids(ids: Tensor) -> list[list[int]]:
    """Each row of ``(B, T)`` ids up to (not including) its first EOS or PAD."""
    out = []
    for row in ids.tolist():
        end = next((i for i, t in enumerate(row) if t in (EOS_ID, PAD_ID)), len(row))
        out.append(row[:end])
    return out
