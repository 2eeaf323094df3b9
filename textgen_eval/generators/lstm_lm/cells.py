"""LSTM layers with recurrent dropout (Semeniuta 2019, chapter 3) and layer normalization.

Gates follow torch's ``nn.LSTM`` layout (rows of ``weight_ih``/``weight_hh`` are ``i, f, g, o``)
so the parameters are interchangeable with the fused implementation, which is used whenever it
computes the same function: no layer norm, and recurrent dropout either off or in evaluation mode
(at inference all three dropouts are the identity, eq. 3.3.15). Equations, with ``d`` the
dropout function of eq. 3.3.15 (inverted dropout: ``mask * x / p`` while training):

- ``semeniuta`` (eq. 3.3.10): ``c_t = f_t * c_{t-1} + i_t * d(g_t)`` — drop the cell update.
- ``gal`` (eq. 3.3.8): gates read ``d(h_{t-1})`` — drop the previous hidden state.
- ``moon`` (eq. 3.3.9): ``c_t = d(f_t * c_{t-1} + i_t * g_t)`` — drop the cell state.

``per-step`` draws a new mask at every time step, ``per-sequence`` one mask per sequence and
layer (Gal; Moon). Layer normalization follows Ba et al. (2016, eqs. 20–22): the input and
recurrent pre-activations are normalised separately, and the cell state before the output tanh.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from textgen_eval.generators.lstm_lm.recurrence import recurrence

DropoutKind = Literal["semeniuta", "gal", "moon"]
MaskMode = Literal["per-step", "per-sequence"]
DROPOUT_KINDS: tuple[str, ...] = ("semeniuta", "gal", "moon")
MASK_MODES: tuple[str, ...] = ("per-step", "per-sequence")


def _mask(shape: tuple[int, ...], keep: float, like: Tensor) -> Tensor:
    """Inverted-dropout mask: 0 with probability ``1 - keep``, else ``1 / keep``."""
    return (torch.rand(shape, dtype=like.dtype, device=like.device) < keep).to(like.dtype) * (1.0 / keep)


def lstm_layer(
    inputs: Tensor,
    state: tuple[Tensor, Tensor],
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor,
    bias_hh: Tensor,
    *,
    dropout: float = 0.0,
    kind: DropoutKind = "semeniuta",
    mode: MaskMode = "per-step",
    norms: tuple[nn.Module, nn.Module, nn.Module] | None = None,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Run one LSTM layer over ``inputs`` ``(B, T, in)`` from ``state`` ``(h, c)``, each ``(B, H)``.

    ``dropout`` is the recurrent dropout rate (already 0 at inference). Returns the hidden
    states ``(B, T, H)`` and the final ``(h, c)``.
    """
    h, c = state
    batch, steps, _ = inputs.shape
    hidden = h.shape[-1]
    keep = 1.0 - dropout
    if norms is None:
        x_gates = F.linear(inputs, weight_ih, bias_ih + bias_hh)  # all steps at once
    else:
        x_gates = norms[0](F.linear(inputs, weight_ih)) + bias_ih + bias_hh
    w_hh_t = weight_hh.t()
    seq_mask = None
    if dropout > 0 and mode == "per-sequence":
        seq_mask = _mask((batch, hidden), keep, h)
    outputs = []
    for t in range(steps):
        mask = None
        if dropout > 0:
            mask = seq_mask if seq_mask is not None else _mask((batch, hidden), keep, h)
        h_in = h * mask if (mask is not None and kind == "gal") else h
        rec = h_in @ w_hh_t
        if norms is not None:
            rec = norms[1](rec)
        gates = x_gates[:, t] + rec
        i, f, g, o = gates.chunk(4, dim=1)
        i = torch.sigmoid(i)
        f = torch.sigmoid(f)
        g = torch.tanh(g)
        o = torch.sigmoid(o)
        if mask is not None and kind == "semeniuta":
            g = g * mask
        c = f * c + i * g
        if mask is not None and kind == "moon":
            c = c * mask
        h = o * torch.tanh(norms[2](c) if norms is not None else c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), (h, c)


class RecurrentDropoutLSTM(nn.Module):
    """A (multi-layer, batch-first) LSTM with optional recurrent dropout and layer norm.

    Its parameters are those of an ``nn.LSTM`` (``self.lstm``), so a state dict is the same
    whichever path runs. Between layers, ``inter_dropout`` is standard dropout, as in
    ``nn.LSTM(dropout=...)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        recurrent_dropout: float = 0.0,
        kind: DropoutKind = "semeniuta",
        mode: MaskMode = "per-step",
        layer_norm: bool = False,
        inter_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= recurrent_dropout < 1.0:
            raise ValueError(f"recurrent_dropout must be in [0, 1), got {recurrent_dropout}")
        if kind not in DROPOUT_KINDS:
            raise ValueError(f"recurrent dropout kind {kind!r}: expected one of {', '.join(DROPOUT_KINDS)}")
        if mode not in MASK_MODES:
            raise ValueError(f"mask mode {mode!r}: expected one of {', '.join(MASK_MODES)}")
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.recurrent_dropout = recurrent_dropout
        self.kind = kind
        self.mode = mode
        self.inter_dropout = inter_dropout
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=inter_dropout if num_layers > 1 else 0.0,
        )
        self.norms: nn.ModuleList | None = None
        if layer_norm:
            self.norms = nn.ModuleList(
                nn.ModuleList(
                    [nn.LayerNorm(4 * hidden_size), nn.LayerNorm(4 * hidden_size), nn.LayerNorm(hidden_size)]
                )
                for _ in range(num_layers)
            )

    @property
    def uses_fused(self) -> bool:
        """Whether the next forward call runs torch's fused ``nn.LSTM``."""
        return self.norms is None and (self.recurrent_dropout == 0.0 or not self.training)

    def zero_state(self, batch: int, like: Tensor) -> tuple[Tensor, Tensor]:
        shape = (self.num_layers, batch, self.hidden_size)
        zeros = torch.zeros(shape, dtype=like.dtype, device=like.device)
        return zeros, zeros.clone()

    def forward(
        self, inputs: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``inputs`` ``(B, T, in)``; ``state`` ``(h, c)`` each ``(layers, B, H)``."""
        if state is None:
            state = self.zero_state(inputs.shape[0], inputs)
        if self.uses_fused:
            out, (h, c) = self.lstm(inputs, state)
            return out, (h, c)
        dropout = self.recurrent_dropout if self.training else 0.0
        layer_in = inputs
        hs, cs = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.inter_dropout > 0:
                layer_in = F.dropout(layer_in, self.inter_dropout, self.training)
            weights = [
                getattr(self.lstm, f"{w}_l{layer}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            h0, c0 = state[0][layer], state[1][layer]
            if self.norms is None:
                layer_in, (h, c) = self._fast_layer(layer_in, h0, c0, weights, dropout)
                hs.append(h)
                cs.append(c)
                continue
            ln: Any = self.norms[layer]
            norms = (ln[0], ln[1], ln[2])
            layer_in, (h, c) = lstm_layer(
                layer_in,
                (h0, c0),
                *weights,
                dropout=dropout,
                kind=self.kind,
                mode=self.mode,
                norms=norms,
            )
            hs.append(h)
            cs.append(c)
        return layer_in, (torch.stack(hs), torch.stack(cs))

    def _fast_layer(
        self, inputs: Tensor, h0: Tensor, c0: Tensor, weights: list[Tensor], dropout: float
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """The hand-differentiated recurrence (:mod:`.recurrence`), masks drawn up front."""
        w_ih, w_hh, b_ih, b_hh = weights
        x_gates = F.linear(inputs, w_ih, b_ih + b_hh)
        masks: list[Tensor | None] = [None, None, None]
        if dropout > 0:
            steps = 1 if self.mode == "per-sequence" else inputs.shape[1]
            mask = _mask((steps, inputs.shape[0], self.hidden_size), 1.0 - dropout, h0)
            masks[DROPOUT_KINDS.index(self.kind)] = mask
        out, h, c = recurrence(x_gates, h0.contiguous(), c0.contiguous(), w_hh, *masks)
        return out, (h, c)
