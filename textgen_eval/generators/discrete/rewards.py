"""Credit assignment for discrete text GANs as pure functions (Semeniuta 2019 §5.4.2).

A sampled sentence y = y₁ … y_L (EOS included, PAD after it) gets a reward R_t for every token;
the generator maximises Σ_t R_t·log p(y_t | y_<t) (REINFORCE: Williams 1992; Yu et al. 2017).

- reinforce: R_t = D(y), the per-sequence discriminator's probability of the whole sentence.
- step:      R_t = γ·R_{t+1} + D(y_{1:t}) with R_{L+1} = 0 (per-step D; MaskGAN's discounting).
- rollout:   R_t = (1/N)·Σ_n D(y_{1:t} ⊕ Y^n_{t+1:}) with N Monte-Carlo completions of the prefix
             from a policy; R_L = D(y) itself (Yu et al. 2017, eq. 4).

Every reward is a probability in [0, 1] (the thesis' formula), zero at PAD positions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from textgen_eval.data.vocab import PAD_ID
from textgen_eval.generators.text.sampler import Decoder, rollouts

#: scores ``(N, L)`` token rows (no BOS) → ``(N,)`` probabilities that each row is real
SequenceScorer = Callable[[Tensor], Tensor]


def token_mask(tokens: Tensor) -> Tensor:
    """``(B, L)`` float mask of the non-PAD positions (every token up to and including EOS)."""
    return (tokens != PAD_ID).float()


def sequence_rewards(d_sequence: Tensor, mask: Tensor) -> Tensor:
    """R_t = D(y) at every token: ``(B,)`` scores, ``(B, L)`` mask → ``(B, L)``."""
    return d_sequence.unsqueeze(1) * mask


def discounted_rewards(d_steps: Tensor, mask: Tensor, gamma: float) -> Tensor:
    """R_t = γ·R_{t+1} + D(y_{1:t}), R_{L+1} = 0, for per-step scores ``(B, L)``; PAD positions
    neither receive nor pass on reward."""
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    scores = d_steps * mask
    out = torch.zeros_like(scores)
    running = torch.zeros_like(scores[:, 0])
    for t in range(scores.shape[1] - 1, -1, -1):
        running = scores[:, t] + gamma * running
        out[:, t] = running
    return out * mask


def rollout_rewards(
    policy: Decoder,
    score: SequenceScorer,
    tokens: Tensor,
    *,
    n_rollouts: int,
    generator: torch.Generator | None = None,
    uniforms: Tensor | None = None,
) -> Tensor:
    """Monte-Carlo rewards for ``(B, L)`` sampled tokens: the mean score of ``n_rollouts``
    completions of every prefix y_{1:t}, t < L, drawn by ``policy`` in one batched pass; at
    t = L the score of y itself. A prefix that already ends in EOS completes to y, so its reward is
    D(y) exactly. ``uniforms (B, L−1, R, L)`` fixes the draws (see ``sample_tokens``). Returns
    ``(B, L)`` with PAD positions 0."""
    batch, length = tokens.shape
    final = score(tokens)  # (B,)
    rewards = final.unsqueeze(1).repeat(1, length)  # (B, L); column L−1 stays D(y)
    if length > 1:
        completed = rollouts(
            policy,
            tokens,
            n_rollouts=n_rollouts,
            max_len=length,
            generator=generator,
            device=tokens.device,
            uniforms=uniforms,
        )  # (B, L−1, R, L): completion r of prefix y_{1:p+1} of sequence b
        flat = completed.reshape(-1, length)  # (B·(L−1)·R, L), rows ordered (b, p, r)
        means = score(flat).view(batch, length - 1, n_rollouts).mean(dim=2)  # (B, L−1)
        rewards[:, : length - 1] = means
    return rewards * token_mask(tokens)


def policy_gradient_loss(logprobs: Tensor, rewards: Tensor, mask: Tensor, baseline: float = 0.0) -> Tensor:
    """−(1/B)·Σ_b Σ_t (R_bt − b)·log p(y_bt | y_b,<t): its gradient is the REINFORCE estimate of
    −∇E[Σ_t R_t log-weighting] (unbiased for any constant baseline b). Summed over time and
    averaged over the batch, so the step size does not grow with the batch size (GENERATORS.md
    §8, pitfall 4). Rewards are constants (detached)."""
    advantage = (rewards.detach() - baseline) * mask
    return -(advantage * logprobs).sum(dim=1).mean()
