"""The plumbing of VAE-based model compression (Cheng et al. 2024; IMAGES.md §6): a network's
parameters as one vector cut into fixed-size chunks, the exact inverse, the four target networks
of the paper's Table 1, and the compression ratios (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

DEFAULT_CHUNK = 2048


@dataclass(frozen=True)
class Layout:
    """Names and shapes of the flattened parameters, in order."""

    entries: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def size(self) -> int:
        return sum(math.prod(shape) for _, shape in self.entries)


def flatten_parameters(state: Mapping[str, Tensor]) -> tuple[Tensor, Layout]:
    """One 1-D vector of every parameter in ``state``'s order, and the layout to undo it."""
    layout = Layout(tuple((name, tuple(t.shape)) for name, t in state.items()))
    return torch.cat([t.detach().reshape(-1) for t in state.values()]), layout


def unflatten_parameters(vector: Tensor, layout: Layout) -> dict[str, Tensor]:
    if vector.numel() != layout.size:
        raise ValueError(f"{vector.numel()} values for a layout of {layout.size}")
    out, start = {}, 0
    for name, shape in layout.entries:
        n = math.prod(shape)
        out[name] = vector[start : start + n].reshape(shape)
        start += n
    return out


def to_chunks(vector: Tensor, size: int = DEFAULT_CHUNK) -> tuple[Tensor, int]:
    """``(chunks, size)`` rows, the last zero-padded, and the pad length."""
    if size < 1:
        raise ValueError(f"chunk size must be ≥ 1, got {size}")
    pad = (-vector.numel()) % size
    padded = torch.cat([vector, vector.new_zeros(pad)])
    return padded.view(-1, size), pad  # (n·size,) → (n, size)


def from_chunks(chunks: Tensor, pad: int) -> Tensor:
    flat = chunks.reshape(-1)  # (n, size) → (n·size,)
    return flat[: flat.numel() - pad] if pad else flat


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def code_only_ratio(parameters: int, chunks: int, latent: int) -> float:
    """Parameters over the floats of the latent codes (the paper's ratio; the decoder excluded)."""
    return parameters / (chunks * latent)


def decoder_inclusive_ratio(parameters: int, chunks: int, latent: int, decoder_parameters: int) -> float:
    """Parameters over codes plus the decoder that must ship with them."""
    return parameters / (chunks * latent + decoder_parameters)


class _Recurrent(nn.Module):
    def __init__(self, cell: type[nn.RNN] | type[nn.LSTM]) -> None:
        super().__init__()
        self.rnn = cell(28, 128, num_layers=2, batch_first=True)
        self.out = nn.Linear(128, 10)

    def forward(self, x: Tensor) -> Tensor:
        h, _ = self.rnn(x.view(-1, 28, 28))  # (B, 784) → (B, 28 rows, 28 pixels)
        return self.out(h[:, -1])


def target_network(kind: str) -> nn.Module:
    """The compression targets of Cheng et al. (2024), Table 1: ``fnn`` [784,200,100,60,30,10]
    (185,300 parameters), ``cnn`` (122,270; the layout is inferred, IMAGES.md §6), ``rnn``
    (54,538) and ``lstm`` (214,282): 2-layer recurrent nets over the 28 rows, + Linear 128→10."""
    if kind == "fnn":
        sizes = [784, 200, 100, 60, 30, 10]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(nn.Flatten(), *layers)
    if kind == "cnn":
        return nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 4, 5, 1, 2), nn.ReLU(),  # 28 × 28
            nn.Conv2d(4, 8, 5, 2, 2), nn.ReLU(),  # 14 × 14
            nn.Conv2d(8, 12, 4, 2, 1), nn.ReLU(),  # 7 × 7
            nn.Flatten(), nn.Linear(588, 200), nn.ReLU(), nn.Linear(200, 10),
        )  # fmt: skip
    if kind == "rnn":
        return _Recurrent(nn.RNN)
    if kind == "lstm":
        return _Recurrent(nn.LSTM)
    raise ValueError(f"unknown target network {kind!r}; expected fnn, cnn, rnn or lstm")
