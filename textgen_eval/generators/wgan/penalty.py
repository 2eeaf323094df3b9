"""The WGAN-GP objective as pure functions (Gulrajani et al. 2017, Alg. 1; Semeniuta 2019 eq. 5.4.1).

    min_G max_D  E_data[D(x)] − E_z[D(G(z))] − λ·E_x̂[(‖∇_x̂ D(x̂)‖₂ − 1)²],
    x̂ = x + ε·(G(z) − x),  ε ~ U[0, 1] drawn once per example.

The critic minimises ``mean D(fake) − mean D(real) + λ·GP``; the generator minimises
``−mean D(fake)``. For text, an example is a ``T × V`` matrix (one-hot rows for real sentences,
softmax rows for generated ones) and the gradient norm runs over the whole matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

Critic = Callable[[Tensor], Tensor]


def interpolation_weights(batch: int, *, device: torch.device | str = "cpu") -> Tensor:
    """ε ~ U[0, 1] of shape ``(B, 1, 1)``: one weight per example, shared by its T × V entries
    (drawn from torch's global generator, which the runner seeds and checkpoints)."""
    return torch.rand(batch, 1, 1, device=device)


def interpolate(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """x̂ = real + ε·(fake − real) for ``(B, T, V)`` inputs and ``ε`` of shape ``(B, 1, 1)``."""
    if eps.dim() != real.dim() or eps.shape[0] != real.shape[0] or any(s != 1 for s in eps.shape[1:]):
        raise ValueError(f"ε must have shape ({real.shape[0]}, 1, 1), got {tuple(eps.shape)}")
    return real + eps * (fake - real)


@dataclass(frozen=True)
class Penalty:
    """The gradient penalty of a batch.

    Attributes:
        gp: E_x̂[(‖∇D(x̂)‖ − 1)²], the batch mean (0-d, differentiable w.r.t. the critic).
        norms: ``(B,)`` the per-example gradient norms over each T × V input (detached).
    """

    gp: Tensor
    norms: Tensor


def gradient_penalty(critic: Critic, real: Tensor, fake: Tensor, eps: Tensor) -> Penalty:
    """The penalty at the interpolates of ``real`` and ``fake`` (``(B, T, V)`` each).

    The interpolates are detached from the generator (the penalty regularises the critic only)
    and the gradient is taken with ``create_graph=True``, so that the penalty's own gradient
    reaches the critic's parameters (double backward through the critic).
    """
    x_hat = interpolate(real, fake, eps).detach().requires_grad_(True)
    scores = critic(x_hat)  # (B,)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = torch.linalg.vector_norm(grad.flatten(1), dim=1)  # (B,): over all T × V entries
    return Penalty(((norms - 1.0) ** 2).mean(), norms.detach())


def critic_loss(d_real: Tensor, d_fake: Tensor, gp: Tensor, gp_lambda: float) -> Tensor:
    """mean D(fake) − mean D(real) + λ·GP: the negated critic objective of eq. 5.4.1."""
    return d_fake.mean() - d_real.mean() + gp_lambda * gp


def generator_loss(d_fake: Tensor) -> Tensor:
    """−mean D(G(z))."""
    return -d_fake.mean()


def wasserstein_estimate(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """mean D(real) − mean D(fake): the critic's estimate of the Wasserstein-1 distance (up to
    its Lipschitz constant), the quantity Gulrajani et al. track during training."""
    return d_real.mean() - d_fake.mean()
