"""Scoring sentences under a token-level generator: the encoding every ``score_texts`` shares,
and exact likelihoods for models whose conditionals are computed (the LM, the discrete GANs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from textgen_eval.core.protocols import TokenScores
from textgen_eval.data.batching import EncodedCorpus, LongPolicy, encode_corpus, sorted_batches
from textgen_eval.data.token_ids import TokenIdFormat
from textgen_eval.data.vocab import UNK_ID, Vocab


def encode_for_scoring(
    texts: Sequence[str],
    vocab: Vocab,
    *,
    max_len: int | None = None,
    long: LongPolicy = "error",
    source: str = "scored text",
    fixed: TokenIdFormat | None = None,
) -> tuple[EncodedCorpus, np.ndarray]:
    """``texts`` as ``[BOS] ids [EOS]`` sequences, and each sentence's count of tokens outside
    the vocabulary. With a ``fixed`` token-id format every text must be exactly its length of
    valid ids (an error names the line otherwise) and is encoded ``[BOS] ids``: all positions
    are scored and nothing else."""
    if fixed is not None:
        fixed.parse(texts, source=source)
        corpus = encode_corpus(texts, vocab, source=source, eos=False)
        return corpus, np.zeros(len(corpus), dtype=np.int64)
    corpus = encode_corpus(texts, vocab, max_len=max_len, long=long, source=source)
    oov = np.asarray([int((seq[1:-1] == UNK_ID).sum()) for seq in corpus.sequences], dtype=np.int64)
    return corpus, oov


def exact_token_scores(
    texts: Sequence[str],
    vocab: Vocab,
    token_nll: Callable[[Tensor], tuple[Tensor, Tensor]],
    device: torch.device,
    *,
    batch_size: int = 256,
    fixed: TokenIdFormat | None = None,
    max_len: int | None = None,
    source: str = "scored text",
) -> TokenScores:
    """Per-sentence NLL in nats (EOS scored, BOS not; every position and no EOS for a ``fixed``
    token-id format), float64, from ``token_nll(batch) → (summed NLL, scored tokens)`` over
    length-sorted batches. A text of more than ``max_len`` tokens (a model's context) is an
    error naming its line."""
    corpus, oov = encode_for_scoring(texts, vocab, fixed=fixed, max_len=max_len, source=source)
    nll = np.zeros(len(corpus), dtype=np.float64)
    tokens = np.zeros(len(corpus), dtype=np.int64)
    with torch.no_grad():
        for idx, batch in sorted_batches(corpus.sequences, batch_size):
            sums, counts = token_nll(torch.from_numpy(batch).to(device))
            nll[idx] = sums.double().cpu().numpy()
            tokens[idx] = counts.cpu().numpy()
    return TokenScores(nll=nll, tokens=tokens, oov=oov)
