"""The recurrent-dropout LSTM: parity with torch's fused LSTM, gradients, dropout semantics."""

from __future__ import annotations

import pytest
import torch

from textgen_eval.generators.lstm_lm.cells import DROPOUT_KINDS, MASK_MODES, RecurrentDropoutLSTM, lstm_layer
from textgen_eval.generators.lstm_lm.recurrence import recurrence


def _pair(num_layers: int = 1, **kwargs: object) -> tuple[torch.nn.LSTM, RecurrentDropoutLSTM]:
    torch.manual_seed(0)
    ours = RecurrentDropoutLSTM(5, 7, num_layers, **kwargs).double()  # type: ignore[arg-type]
    ref = torch.nn.LSTM(5, 7, num_layers, batch_first=True).double()
    ref.load_state_dict(ours.lstm.state_dict())
    return ref, ours


@pytest.mark.parametrize("num_layers", [1, 2])
def test_custom_recurrence_matches_fused_lstm_outputs_and_gradients(num_layers: int) -> None:
    ref, ours = _pair(num_layers)
    ours.recurrent_dropout = 0.25  # force the custom path ...
    ours.eval()  # ... but it is the fused path in eval mode, so call the layer code directly
    x = torch.randn(3, 6, 5, dtype=torch.double, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    ours.train()
    ours.recurrent_dropout = 0.0
    ours.norms = None
    # dropout 0 in training mode with a custom call: the hand-written recurrence
    h0 = torch.zeros(num_layers, 3, 7, dtype=torch.double)
    out = x
    for layer in range(num_layers):
        weights = [
            getattr(ours.lstm, f"{w}_l{layer}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]
        out, _ = ours._fast_layer(out, h0[layer], h0[layer], weights, 0.0)
    out_ref, _ = ref(x_ref)
    assert torch.allclose(out, out_ref, atol=1e-12, rtol=0)
    grad = torch.randn_like(out)
    (out * grad).sum().backward()
    (out_ref * grad).sum().backward()
    assert torch.allclose(x.grad, x_ref.grad, atol=1e-12, rtol=0)
    for name, param in ours.lstm.named_parameters():
        assert torch.allclose(param.grad, dict(ref.named_parameters())[name].grad, atol=1e-12, rtol=0), name


def test_autograd_reference_layer_matches_fused_lstm() -> None:
    ref, ours = _pair()
    x = torch.randn(2, 4, 5, dtype=torch.double)
    zeros = torch.zeros(2, 7, dtype=torch.double)
    w = [getattr(ours.lstm, n) for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    out, _ = lstm_layer(x, (zeros, zeros), *w)
    assert torch.allclose(out, ref(x)[0], atol=1e-12, rtol=0)


@pytest.mark.parametrize("kind", ["none", *DROPOUT_KINDS])
@pytest.mark.parametrize("per_sequence", [False, True])
def test_hand_written_gradients_pass_gradcheck(kind: str, per_sequence: bool) -> None:
    torch.manual_seed(1)
    b, t, h = 3, 4, 5
    args = (
        torch.randn(b, t, 4 * h, dtype=torch.double, requires_grad=True),
        torch.randn(b, h, dtype=torch.double, requires_grad=True),
        torch.randn(b, h, dtype=torch.double, requires_grad=True),
        torch.randn(4 * h, h, dtype=torch.double, requires_grad=True),
    )
    mask = torch.bernoulli(torch.full((1 if per_sequence else t, b, h), 0.7, dtype=torch.double)) / 0.7
    masks = [None, None, None]
    if kind != "none":
        masks[DROPOUT_KINDS.index(kind)] = mask
    assert torch.autograd.gradcheck(lambda *a: recurrence(*a, *masks), args)


@pytest.mark.parametrize("kind", DROPOUT_KINDS)
def test_hand_written_recurrence_equals_autograd_layer_with_the_same_masks(kind: str) -> None:
    torch.manual_seed(2)
    b, t, h = 2, 5, 4
    xg = torch.randn(b, t, 4 * h, dtype=torch.double)
    w = torch.randn(4 * h, h, dtype=torch.double)
    zeros = torch.zeros(b, h, dtype=torch.double)
    mask = torch.bernoulli(torch.full((t, b, h), 0.75, dtype=torch.double)) / 0.75
    masks = [None, None, None]
    masks[DROPOUT_KINDS.index(kind)] = mask
    fast, _, _ = recurrence(xg, zeros, zeros, w, *masks)
    # the same equations written out: eq. 3.3.8 (gal), 3.3.9 (moon), 3.3.10 (semeniuta)
    hs, c, hprev = [], zeros, zeros
    for step in range(t):
        hin = hprev * mask[step] if kind == "gal" else hprev
        i, f, g, o = (xg[:, step] + hin @ w.t()).chunk(4, 1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        if kind == "semeniuta":
            g = g * mask[step]
        c = f * c + i * g
        if kind == "moon":
            c = c * mask[step]
        hprev = o * c.tanh()
        hs.append(hprev)
    assert torch.allclose(fast, torch.stack(hs, 1), atol=1e-12, rtol=0)


@pytest.mark.parametrize("kind", DROPOUT_KINDS)
@pytest.mark.parametrize("mode", MASK_MODES)
@pytest.mark.parametrize("layer_norm", [False, True])
def test_dropout_changes_training_outputs_and_is_identity_at_evaluation(
    kind: str, mode: str, layer_norm: bool
) -> None:
    torch.manual_seed(3)
    lstm = RecurrentDropoutLSTM(5, 8, recurrent_dropout=0.5, kind=kind, mode=mode, layer_norm=layer_norm)  # type: ignore[arg-type]
    plain = RecurrentDropoutLSTM(5, 8, layer_norm=layer_norm)
    plain.load_state_dict(lstm.state_dict())
    x = torch.randn(4, 6, 5)
    lstm.train()
    plain.train()
    a, _ = lstm(x)
    b, _ = lstm(x)
    reference, _ = plain(x)
    assert not torch.allclose(a, reference), "recurrent dropout must change training outputs"
    assert not torch.allclose(a, b), "masks must be resampled on every call"
    lstm.eval()
    plain.eval()
    assert torch.allclose(lstm(x)[0], plain(x)[0], atol=1e-6), "dropout must be the identity at evaluation"
    assert lstm.uses_fused == (not layer_norm)


def test_per_sequence_mask_is_shared_across_time_steps() -> None:
    # With moon dropout and f = 0, i = 1, c_t = d(g_t): the dropped units are exactly the zeros
    # of c. A per-sequence mask drops the same units at every step; per-step masks do not.
    torch.manual_seed(4)
    for mode, same in (("per-sequence", True), ("per-step", False)):
        lstm = RecurrentDropoutLSTM(3, 64, recurrent_dropout=0.5, kind="moon", mode=mode)  # type: ignore[arg-type]
        with torch.no_grad():
            for p in lstm.lstm.parameters():
                p.zero_()
            lstm.lstm.bias_ih_l0[:64] = 20.0  # i = 1
            lstm.lstm.bias_ih_l0[64:128] = -20.0  # f = 0
            lstm.lstm.bias_ih_l0[128:192] = 1.0  # g = tanh(1)
        lstm.train()
        out, _ = lstm(torch.zeros(2, 5, 3))
        dropped = out == 0
        assert bool((dropped == dropped[:, :1]).all()) == same, mode


def test_layer_norm_parameters_get_gradients() -> None:
    lstm = RecurrentDropoutLSTM(4, 6, 2, layer_norm=True, recurrent_dropout=0.2)
    out, _ = lstm(torch.randn(2, 3, 4))
    out.sum().backward()
    assert lstm.norms is not None
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in lstm.norms.parameters())
