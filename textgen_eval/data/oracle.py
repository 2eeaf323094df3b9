"""Synthetic oracles: an LSTM that *is* the true distribution of a token-id corpus.

SeqGAN's benchmark (Yu et al. 2017, §4.1; PEERS.md §1): a randomly initialised one-layer LSTM
(vocabulary 5,000, embedding 32, hidden 32) generates sequences of exactly T tokens; a generator
trained on its samples is scored by the oracle itself (NLL-oracle, :func:`nll_oracle`), which only
this setting allows. The cell is SeqGAN's ``target_lstm.py`` in the row-vector convention, one
bias per gate and no forget-bias offset::

    i = σ(x Wi + h Ui + bi)    f = σ(x Wf + h Uf + bf)    o = σ(x Wog + h Uog + bog)
    ĉ = tanh(x Wc + h Uc + bc) c' = f ⊙ c + i ⊙ ĉ           h' = o ⊙ tanh(c')
    p(y_t | y_<t) = softmax(h' Wo + bo),  x_1 = E[start],  x_{t+1} = E[y_t],  h_0 = c_0 = 0

It runs as torch's fused ``nn.LSTM`` with the transposes of ``data/seqgan-oracle/SOURCE.md``
(torch computes x·Wᵀ, gate order i, f, g, o): every W and U is 32 × 32, so a port that forgets the
transposes runs silently and is a different distribution — the tests check the published values.

Parameters are an ``.npz`` of 15 float32 arrays read with ``allow_pickle=False`` (no file this
package reads can run code).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from textgen_eval.core.safe_load import PICKLED, load_array
from textgen_eval.core.errors import ConfigError, InputError

if TYPE_CHECKING:
    import torch

#: The arrays of SeqGAN's ``target_params.pkl`` in its order, with the TF variable names.
ARRAY_NAMES: tuple[str, ...] = (
    "embeddings", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog", "Wc", "Uc", "bc", "Wo", "bo",
)  # fmt: skip
#: SeqGAN's start token (``START_TOKEN = 0``, asserted in ``sequence_gan.py``).
START_TOKEN = 0
#: Sequences per pass of the recurrence when scoring.
CHUNK = 2048
#: Positions per block of the output layer: ``(ROWS, V)`` logits stay in the CPU's cache.
ROWS = 128
#: Sequences drawn together: the uniforms are taken chunk by chunk, so this fixes the draws.
SAMPLE_CHUNK = 256


@dataclass(frozen=True)
class OracleParams:
    """The 15 arrays of an LSTM oracle (float32), its start token and how it was made.

    Attributes:
        arrays: name → array, shapes ``embeddings (V, E)``, ``W* (E, H)``, ``U* (H, H)``,
            ``b* (H,)``, ``Wo (H, V)``, ``bo (V,)``.
        origin: ``seqgan`` (the published parameters) or ``random:seed=S`` (:func:`random_params`).
    """

    arrays: Mapping[str, np.ndarray]
    origin: str
    start_token: int = START_TOKEN

    def __post_init__(self) -> None:
        missing = [n for n in ARRAY_NAMES if n not in self.arrays]
        if missing:
            raise InputError(f"oracle parameters: missing arrays {', '.join(missing)}")
        v, e = self.arrays["embeddings"].shape
        h = self.arrays["Ui"].shape[0]
        expected = {"embeddings": (v, e), "Wo": (h, v), "bo": (v,)}
        for gate in ("i", "f", "og", "c"):
            expected |= {f"W{gate}": (e, h), f"U{gate}": (h, h), f"b{gate}": (h,)}
        for name, shape in expected.items():
            array = self.arrays[name]
            if array.shape != shape:
                raise InputError(f"oracle parameters: {name} has shape {array.shape}, expected {shape}")
            if array.dtype != np.float32 or not np.isfinite(array).all():
                raise InputError(f"oracle parameters: {name} must be finite float32 (got {array.dtype})")
        if not 0 <= self.start_token < v:
            raise InputError(f"oracle start token {self.start_token} is outside the vocabulary of {v}")

    @property
    def vocab_size(self) -> int:
        return int(self.arrays["embeddings"].shape[0])

    @property
    def emb_dim(self) -> int:
        return int(self.arrays["embeddings"].shape[1])

    @property
    def hidden_size(self) -> int:
        return int(self.arrays["Ui"].shape[0])

    @property
    def digest(self) -> str:
        """md5 of the raw C-order bytes of the 15 arrays in SeqGAN's order (12 hex digits), plus
        the start token: what names the oracle in every signature."""
        h = hashlib.md5()
        for name in ARRAY_NAMES:
            h.update(np.ascontiguousarray(self.arrays[name]).tobytes())
        h.update(f"start={self.start_token}".encode())
        return h.hexdigest()[:12]

    def describe(self) -> str:
        return f"{self.origin.split(':')[0]}@{self.digest}"

    def save(self, path: Path) -> None:
        """An uncompressed ``.npz`` (no pickles): loads with ``allow_pickle=False``."""
        with open(path, "wb") as handle:
            np.savez(handle, **{name: self.arrays[name] for name in ARRAY_NAMES})  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path, *, origin: str, start_token: int = START_TOKEN) -> OracleParams:
        """Read an ``.npz`` of the 15 arrays; anything else (a pickle included) is refused by name."""
        expected = f"an .npz of the arrays {', '.join(ARRAY_NAMES)}"
        if not path.exists():
            raise InputError(f"{path}: oracle parameters missing")
        npz = load_array(path, what=f"an oracle parameter file ({expected})")
        try:
            if not hasattr(npz, "files"):
                raise ValueError("a single array, not an .npz archive")
            with npz:
                arrays = {name: np.asarray(npz[name]) for name in npz.files}
        except (OSError, ValueError, KeyError, EOFError) as exc:
            reason = PICKLED if "pickle" in str(exc).lower() else type(exc).__name__
            raise InputError(
                f"{path}: not an oracle parameter file ({reason}); expected an .npz of the arrays "
                f"{', '.join(ARRAY_NAMES)}"
            ) from None
        return cls(arrays, origin, start_token)


def random_params(seed: int, *, vocab_size: int = 5000, emb_dim: int = 32, hidden_size: int = 32) -> OracleParams:
    """A fresh oracle as SeqGAN's ``target_lstm.py`` initialises one: every array i.i.d. N(0, 1)
    (``init_matrix = tf.random_normal(shape, stddev=1.0)``, biases included), drawn in
    :data:`ARRAY_NAMES` order from ``numpy.random.default_rng(seed)`` in float64, then cast."""
    for name, value in (("vocab_size", vocab_size), ("emb_dim", emb_dim), ("hidden_size", hidden_size)):
        if not 2 <= value <= 100_000:
            raise ConfigError(f"oracle {name} must be from 2 to 100000, got {value}")
    rng = np.random.default_rng(seed)
    v, e, h = vocab_size, emb_dim, hidden_size
    shapes = {"embeddings": (v, e), "Wo": (h, v), "bo": (v,)}
    for gate in ("i", "f", "og", "c"):
        shapes |= {f"W{gate}": (e, h), f"U{gate}": (h, h), f"b{gate}": (h,)}
    arrays = {name: rng.standard_normal(shapes[name]).astype(np.float32) for name in ARRAY_NAMES}
    sizes = "" if (v, e, h) == (5000, 32, 32) else f",V={v},E={e},H={h}"
    return OracleParams(arrays, f"random:seed={seed}{sizes}")


class LSTMOracle:
    """An :class:`OracleParams` as torch modules: exact log-probabilities and samples.

    ``dtype`` float64 makes draws independent of the machine's float32 kernels (used to draw the
    bundled splits); float32 is the fast default for scoring.
    """

    def __init__(self, params: OracleParams, *, dtype: torch.dtype | None = None) -> None:
        import torch
        from torch import nn

        self.params = params
        self.dtype = dtype or torch.float32
        a = {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.dtype) for k, v in params.arrays.items()}
        e, h, v = params.emb_dim, params.hidden_size, params.vocab_size
        self.embedding = nn.Embedding(v, e).to(self.dtype)
        self.rnn = nn.LSTM(e, h, batch_first=True).to(self.dtype)
        self.out = nn.Linear(h, v).to(self.dtype)
        with torch.no_grad():
            self.embedding.weight.copy_(a["embeddings"])
            # torch's gate order is (i, f, g, o) and it multiplies x·Wᵀ: the TF matrices transposed
            rnn: dict[str, torch.Tensor] = dict(self.rnn.named_parameters())
            rnn["weight_ih_l0"].copy_(torch.cat([a["Wi"].T, a["Wf"].T, a["Wc"].T, a["Wog"].T]))
            rnn["weight_hh_l0"].copy_(torch.cat([a["Ui"].T, a["Uf"].T, a["Uc"].T, a["Uog"].T]))
            rnn["bias_ih_l0"].copy_(torch.cat([a["bi"], a["bf"], a["bc"], a["bog"]]))
            rnn["bias_hh_l0"].zero_()
            self.out.weight.copy_(a["Wo"].T)
            self.out.bias.copy_(a["bo"])
        for module in (self.embedding, self.rnn, self.out):
            module.requires_grad_(False).eval()

    @property
    def vocab_size(self) -> int:
        return self.params.vocab_size

    def check_ids(self, ids: np.ndarray, *, source: str = "samples") -> None:
        """Raise :class:`InputError` unless ``ids`` is an ``(N, T)`` integer array of valid tokens."""
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise InputError(f"{source}: expected an (N, T) array of integer token ids")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            bad = int(np.argwhere((ids < 0) | (ids >= self.vocab_size))[0, 0])
            raise InputError(
                f"{source}, line {bad + 1}: token ids must be from 0 to {self.vocab_size - 1} "
                "(the oracle's vocabulary)"
            )

    def token_nll(self, ids: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
        """``-log p_oracle(y_t | y_<t)`` of every position of ``ids (N, T)`` → ``(N, T)`` float64;
        with ``temperature`` T, of the tempered oracle softmax(logits / T) that :meth:`sample`
        draws from at T.

        The recurrence runs over all sequences at once (32-d states are cheap); the output layer
        and its log-sum-exp run over blocks of :data:`ROWS` positions, whose ``(ROWS, V)`` logits
        stay in the CPU's cache — the vocabulary-sized work is all of the cost (PEERS.md §1.3).
        """
        import torch

        self.check_ids(ids)
        if not (temperature > 0 and math.isfinite(temperature)):
            raise ConfigError(f"oracle temperature must be a finite number > 0, got {temperature}")
        n, t = ids.shape
        with torch.no_grad():
            y = torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int64))
            start = torch.full((n, 1), self.params.start_token, dtype=torch.long)
            inputs = torch.cat([start, y[:, :-1]], dim=1)  # (N, T): x_1 = E[start], x_{t+1} = E[y_t]
            hidden = torch.cat(
                [self.rnn(self.embedding(inputs[lo : lo + CHUNK]))[0] for lo in range(0, n, CHUNK)]
            ).reshape(n * t, -1)  # (N·T, H)
            targets = y.reshape(n * t)
            weight, bias = self.out.weight.T.contiguous(), self.out.bias  # (H, V), (V,)
            nll = torch.empty(n * t, dtype=self.dtype)
            logits = torch.empty(ROWS, self.vocab_size, dtype=self.dtype)
            for lo in range(0, n * t, ROWS):
                block = logits[: min(ROWS, n * t - lo)]
                torch.addmm(bias, hidden[lo : lo + ROWS], weight, out=block)  # (rows, V)
                if temperature != 1.0:
                    block.div_(temperature)
                picked = block.gather(1, targets[lo : lo + ROWS].unsqueeze(1)).squeeze(1)
                nll[lo : lo + ROWS] = torch.logsumexp(block, dim=1) - picked
        return nll.double().numpy().reshape(n, t)

    def sample(
        self, n: int, length: int, *, seed: int, temperature: float = 1.0, chunk: int = SAMPLE_CHUNK
    ) -> np.ndarray:
        """``n`` sequences of exactly ``length`` tokens → ``(n, length)`` int64.

        Each token is drawn by inverse CDF from one uniform per row and position, taken row-major
        from a ``torch.Generator`` seeded with ``seed`` (``chunk`` rows at a time, which does not
        change the stream), so a seed gives the same sequences (in float64, on every machine).
        """
        import torch

        if n < 0 or length < 1:
            raise ConfigError(f"oracle samples: n must be ≥ 0 and length ≥ 1 (got n={n}, length={length})")
        if not (temperature > 0 and math.isfinite(temperature)):
            raise ConfigError(f"oracle sampling temperature must be a finite number > 0, got {temperature}")
        gen = torch.Generator().manual_seed(seed)
        out = np.zeros((n, length), dtype=np.int64)
        weight, bias = self.out.weight.T.contiguous(), self.out.bias
        with torch.no_grad():
            for lo in range(0, n, chunk):
                rows = min(chunk, n - lo)
                u = torch.rand(rows, length, generator=gen, dtype=torch.float64)
                tokens = torch.full((rows,), self.params.start_token, dtype=torch.long)
                state = None
                for t in range(length):
                    hidden, state = self.rnn(self.embedding(tokens).unsqueeze(1), state)  # (B, 1, H)
                    logits = torch.addmm(bias, hidden[:, 0], weight)  # (B, V)
                    if temperature != 1.0:
                        logits = logits / temperature
                    tokens = blocked_inverse_cdf(logits, u[:, t])
                    out[lo : lo + rows, t] = tokens.numpy()
        return out


#: Tokens per block of :func:`blocked_inverse_cdf`.
BLOCK = 100


def blocked_inverse_cdf(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One token per row of ``logits (B, V)`` by inverse CDF at ``u (B,)`` in [0, 1), in two
    levels: the cumulative sums of blocks of :data:`BLOCK` tokens pick a block, the cumulative sum
    inside it the token. Same distribution as a flat inverse CDF, without a cumulative sum over the
    whole vocabulary (the flat one costs twice as much on CPU, docs/performance.md)."""
    import torch
    from torch.nn import functional as F

    rows, vocab = logits.shape
    blocks = -(-vocab // BLOCK)
    weights = (logits - logits.amax(dim=1, keepdim=True)).exp_()  # (B, V), max weight 1
    if blocks * BLOCK != vocab:
        weights = F.pad(weights, (0, blocks * BLOCK - vocab))  # a zero tail
    weights = weights.view(rows, blocks, BLOCK)
    cum_blocks = weights.sum(dim=2).cumsum(dim=1)  # (B, blocks)
    target = (u.to(weights.dtype) * cum_blocks[:, -1]).unsqueeze(1)  # (B, 1)
    block = torch.searchsorted(cum_blocks, target, right=True).clamp(max=blocks - 1)  # (B, 1)
    before = torch.where(block > 0, cum_blocks.gather(1, (block - 1).clamp(min=0)), 0.0)
    inner = weights[torch.arange(rows), block[:, 0]].cumsum(dim=1)  # (B, BLOCK)
    offset = torch.searchsorted(inner, target - before, right=True).clamp(max=BLOCK - 1)
    tokens = (block * BLOCK + offset)[:, 0]
    # rounding between the two levels can step onto a zero weight (the padded tail): take the last
    # token of positive weight at or before it instead (rare, so only those rows are fixed)
    flat = weights.view(rows, -1)
    bad = (flat.gather(1, tokens.unsqueeze(1))[:, 0] <= 0).nonzero().squeeze(1)
    if bad.numel():
        positive = flat[bad] > 0
        upto = torch.arange(flat.shape[1]).unsqueeze(0) <= tokens[bad].unsqueeze(1)
        tokens[bad] = ((positive & upto).int() * torch.arange(flat.shape[1])).argmax(dim=1)
    return tokens


def nll_oracle(oracle: LSTMOracle, ids: np.ndarray) -> float:
    """SeqGAN's NLL-oracle: the mean over sequences of the mean per-position NLL under the oracle
    (PEERS.md §1.3) — with equal lengths, the global per-token mean; nats per token, summed with
    ``math.fsum`` so the value does not depend on the order of the samples."""
    per_token = oracle.token_nll(ids)
    return math.fsum(per_token.ravel().tolist()) / per_token.size
