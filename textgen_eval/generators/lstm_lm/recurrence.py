"""A hand-differentiated LSTM recurrence with recurrent dropout (the fast training path).

Autograd over a Python time loop records a dozen small operations per step; this
``torch.autograd.Function`` runs the forward loop without recording, writing every step into
preallocated buffers, and the backward loop with the LSTM's closed-form gradients. Everything
that does not depend on the backward recursion (gate derivatives, ``tanh(c)``) is computed once,
vectorised over all steps, and ``∂L/∂W_hh`` is one matrix product over all steps. It computes
exactly the function of :func:`~textgen_eval.generators.lstm_lm.cells.lstm_layer` without layer
norm (tests check values, and ``gradcheck`` in float64).

Masks are ``(T, B, H)`` tensors (per-step) or ``(1, B, H)`` (per-sequence, broadcast over time),
already scaled by ``1/keep``; ``None`` for the variants not in use.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def _at(mask: Tensor | None, t: int) -> Tensor | None:
    if mask is None:
        return None
    return mask[0] if mask.shape[0] == 1 else mask[t]


class LSTMRecurrence(torch.autograd.Function):
    """``(x_gates, h0, c0, w_hh, mask_g, mask_h, mask_c) → (outputs, h_T, c_T)``.

    ``x_gates`` ``(B, T, 4H)`` holds ``W_ih x_t + b_ih + b_hh`` for every step. Gate order is
    torch's: ``i, f, g, o``.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x_gates: Tensor,
        h0: Tensor,
        c0: Tensor,
        w_hh: Tensor,
        mask_g: Tensor | None,
        mask_h: Tensor | None,
        mask_c: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        batch, steps, four_h = x_gates.shape
        hidden = four_h // 4
        xg = x_gates.transpose(0, 1).contiguous()
        acts = torch.empty_like(xg)
        cells = xg.new_empty((steps, batch, hidden))
        tanh_c = torch.empty_like(cells)
        outs = torch.empty_like(cells)
        h_ins = torch.empty_like(cells) if mask_h is not None else None
        w_t = w_hh.t()
        h, c = h0, c0
        for t in range(steps):
            mh = _at(mask_h, t)
            if h_ins is not None and mh is not None:
                h = torch.mul(h, mh, out=h_ins[t])
            a = acts[t]
            torch.addmm(xg[t], h, w_t, out=a)
            g_slice = a[:, 2 * hidden : 3 * hidden]
            g_pre = g_slice.clone()
            torch.sigmoid(a, out=a)
            torch.tanh(g_pre, out=g_slice)
            i, f, g, o = a.chunk(4, dim=1)
            mg = _at(mask_g, t)
            gd = g * mg if mg is not None else g
            c = torch.addcmul(f * c, i, gd, out=cells[t])
            mc = _at(mask_c, t)
            if mc is not None:
                c.mul_(mc)
            torch.tanh(c, out=tanh_c[t])
            h = torch.mul(o, tanh_c[t], out=outs[t])
        ctx.save_for_backward(acts, cells, tanh_c, outs, h_ins, h0, c0, w_hh, mask_g, mask_h, mask_c)
        return outs.transpose(0, 1), h.clone(), c.clone()

    @staticmethod
    def backward(
        ctx: Any, d_outs: Tensor, d_h_last: Tensor | None, d_c_last: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        acts, cells, tanh_c, outs, h_ins, h0, c0, w_hh, mask_g, mask_h, mask_c = ctx.saved_tensors
        steps, batch, four_h = acts.shape
        hidden = four_h // 4
        i, f, g, o = acts.chunk(4, dim=2)
        # Step-independent factors, vectorised over time:
        #   ∂L/∂pre_gates[t] = [dcp, dcp, dcp, do] * scale[t], with dcp = ∂L/∂(f c + i g)
        #   scale = [g_d i(1-i), c_prev f(1-f), i m_g (1-g²), o(1-o)]
        c_prev = torch.cat([c0.unsqueeze(0), cells[:-1]], dim=0)
        g_used = g * mask_g if mask_g is not None else g
        i_used = i * mask_g if mask_g is not None else i
        scale = torch.cat(
            [g_used * i * (1 - i), c_prev * f * (1 - f), i_used * (1 - g * g), o * (1 - o)], dim=2
        )
        out_to_c = o * (1 - tanh_c * tanh_c)  # ∂h/∂c
        d_outs = d_outs.transpose(0, 1)
        d_gates = torch.empty_like(acts)
        dh = d_h_last.clone() if d_h_last is not None else acts.new_zeros((batch, hidden))
        dc = d_c_last.clone() if d_c_last is not None else acts.new_zeros((batch, hidden))
        for t in range(steps - 1, -1, -1):
            dh = dh + d_outs[t]
            dc = torch.addcmul(dc, dh, out_to_c[t])
            mc = _at(mask_c, t)
            dcp = dc * mc if mc is not None else dc
            torch.mul(torch.cat([dcp, dcp, dcp, dh * tanh_c[t]], dim=1), scale[t], out=d_gates[t])
            dc = dcp * f[t]
            dh = d_gates[t] @ w_hh
            mh = _at(mask_h, t)
            if mh is not None:
                dh = dh * mh
        if h_ins is None:
            h_ins = torch.cat([h0.unsqueeze(0), outs[:-1]], dim=0)
        d_w = d_gates.reshape(-1, four_h).t() @ h_ins.reshape(-1, hidden)
        return d_gates.transpose(0, 1), dh, dc, d_w, None, None, None


def recurrence(
    x_gates: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_hh: Tensor,
    mask_g: Tensor | None = None,
    mask_h: Tensor | None = None,
    mask_c: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    out: tuple[Tensor, Tensor, Tensor] = LSTMRecurrence.apply(x_gates, h0, c0, w_hh, mask_g, mask_h, mask_c)
    return out
