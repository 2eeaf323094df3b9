"""Stochastic-gradient Hamiltonian Monte Carlo as a ``torch.optim.Optimizer`` (Chen et al. 2014;
the discretisation of the milios slides, IMAGES.md §5).

The dynamics, for a potential U(θ) = −Σᵢ log p(yᵢ|θ) − log p(θ) and unit mass:
dθ = r dt, dr = −∇U dt − C r dt + √(2CT) dW, whose stationary density is ∝ exp(−U/T − ½‖r‖²)
(T = 1: the posterior; T < 1: a tempered, sharper one). The slides' symmetric split with step η:

    θ* = θ + (η/2) r;   r ← r − η ∇Ũ(θ*) − ηC r + √(2CηT) ξ;   θ ← θ* + (η/2) r.

**Convention.** The optimizer holds the *midpoint* θ* in the parameters (that is where the
gradient is taken), so one step is r ← (1 − ηC) r − η N ∇ℓ + √(2CηT) ξ, θ* ← θ* + η r, and the
position θ = θ* − (η/2) r is what :meth:`SGHMC.positions` returns for collected samples. The loss
``ℓ`` the task backpropagates is Ũ/N: the mean negative log-likelihood over the minibatch plus
−log p(θ)/N, so ``num_data`` = N rescales it to the minibatch estimate of U (pybnn's convention).
``lr`` is η; ``friction`` is C; η·C must be below 1 (else the momentum's decay factor 1 − ηC is
≤ 0 and the chain is unstable), which the constructor enforces. The equivalent optimizer form of
Chen et al. (eq. 15) has v = ηr, learning rate η² and momentum decay α = ηC.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor


class SGHMC(torch.optim.Optimizer):
    """SG-HMC sampler: ``SGHMC(params, lr=η, friction=C, num_data=N, temperature=T)``."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        *,
        lr: float,
        friction: float,
        num_data: int = 1,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"SG-HMC step size lr must be a positive number, got {lr}")
        if not (friction > 0 and math.isfinite(friction)):
            raise ValueError(f"SG-HMC friction must be a positive number, got {friction}")
        if lr * friction >= 1:
            raise ValueError(
                f"SG-HMC with lr × friction = {lr * friction:g} ≥ 1 is unstable (the momentum factor "
                "1 − lr·friction must be positive); lower lr or friction"
            )
        if num_data < 1:
            raise ValueError(f"num_data must be ≥ 1, got {num_data}")
        if not (temperature > 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a positive number, got {temperature}")
        defaults = {"lr": lr, "friction": friction, "num_data": num_data, "temperature": temperature}
        super().__init__(params, defaults)
        self.generator = generator

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            eta, c, n, t = group["lr"], group["friction"], group["num_data"], group["temperature"]
            noise_scale = math.sqrt(2.0 * c * eta * t)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros_like(p)
                r = state["momentum"]
                xi = torch.randn(p.shape, generator=self.generator, device=p.device, dtype=p.dtype)
                r.mul_(1.0 - eta * c).add_(p.grad, alpha=-eta * n).add_(xi, alpha=noise_scale)
                p.add_(r, alpha=eta)
        return loss

    @torch.no_grad()
    def positions(self) -> list[Tensor]:
        """θ = θ* − (η/2) r for every parameter: the chain's current sample (copies)."""
        out = []
        for group in self.param_groups:
            for p in group["params"]:
                r = self.state[p].get("momentum")
                out.append(p.detach().clone() if r is None else p.detach() - 0.5 * group["lr"] * r)
        return out
