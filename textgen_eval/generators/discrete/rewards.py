"""Credit assignment for discrete text GANs as pure functions (Semeniuta 2019 §5.4.2).

A sampled sentence y = y₁ … y_L (EOS included, PAD after it) gets a reward R_t for every token;
the generator maximises Σ_t R_t·log p(y_t | y_<t) (REINFORCE: Williams 1992; Yu et al. 2017).

- reinforce: R_t = D(y), the per-sequence discriminator's probability of the whole sentence.
- step:      R_t = γ·R_{t+1} + D(y_{1:t}) with R_{L+1} = 0 (per-step D; MaskGAN's discounting).
- rollout:   R_t = (1/N)·Σ_n D(y_{1:t} ⊕ Y^n_{t+1:}) with N Monte-Carlo completions of the prefix
             from a policy; R_L = D(y) itself (Yu et al. 2017, eq. 4).
- maligan:   R_t = r(y_i)/Σ_j r(y_j) − 1/m for every token of sample i of a batch of m, with
             r = D/(1 − D) ≈ p_data/p_θ (Che et al. 2017, the normalised importance weights with
             the baseline 1/m); not a probability, and centred: the weights of a batch sum to 0.
- dpgan:     R_t = Σ_{k ≥ t} γ^{k−t}·s·w_k with w_k = −log D_LM(y_k | y_<k), the language-model
             discriminator's per-token NLL ("novelty"), and s = mean_k w_k (Xu et al. 2018 as
             TextGAN-PyTorch codes it); non-negative, unbounded.
- rankgan:   rollout credit with the rank score R(s | U, C⁺) in place of D (Lin et al. 2017,
             eqs. 2–4): how highly the ranker places s among real sentences C⁺, averaged over
             the reference sentences U; a probability, of order 1/(|C| + 1).

The thesis' three rewards are probabilities in [0, 1]; every reward is zero at PAD positions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

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
    ``(B, L)`` with PAD positions 0: :func:`window_rollout_rewards` with windows of one token."""
    return window_rollout_rewards(
        policy, score, tokens, n_rollouts=n_rollouts, every=1, generator=generator, uniforms=uniforms
    )


def window_rollout_rewards(
    policy: Decoder,
    score: SequenceScorer,
    tokens: Tensor,
    *,
    n_rollouts: int,
    every: int,
    generator: torch.Generator | None = None,
    uniforms: Tensor | None = None,
) -> Tensor:
    """Rollout rewards computed every ``every`` tokens (LeakGAN's code rolls out at t = c, 2c, …):
    the prefixes y_1:e, e = every, 2·every, … < L, are completed ``n_rollouts`` times and scored,
    and each position t gets the score of the end of its window, e = the first multiple of
    ``every`` ≥ t + 1 (D(y) itself past the last one). ``every = 1`` is :func:`rollout_rewards`
    exactly (the same draws). ``(B, L)`` → ``(B, L)``, 0 at PAD."""
    if every < 1:
        raise ValueError(f"every must be ≥ 1, got {every}")
    batch, length = tokens.shape
    rewards = score(tokens).unsqueeze(1).repeat(1, length)  # (B, L): D(y) past the last window end
    ends = list(range(every, length, every))
    if ends:
        completed = rollouts(
            policy,
            tokens,
            n_rollouts=n_rollouts,
            max_len=length,
            generator=generator,
            device=tokens.device,
            prefix_lengths=ends,
            uniforms=uniforms,
        )  # (B, P, R, L)
        flat = completed.reshape(-1, length)  # (B·P·R, L), rows ordered (b, p, r)
        means = score(flat).view(batch, len(ends), n_rollouts).mean(dim=2)  # (B, P)
        for j, end in enumerate(ends):  # positions end − every … end − 1 end their window at `end`
            rewards[:, end - every : end] = means[:, j : j + 1]
    return rewards * token_mask(tokens)


def policy_gradient_loss(logprobs: Tensor, rewards: Tensor, mask: Tensor, baseline: float = 0.0) -> Tensor:
    """−(1/B)·Σ_b Σ_t (R_bt − b)·log p(y_bt | y_b,<t): its gradient is the REINFORCE estimate of
    −∇E[Σ_t R_t log-weighting] (unbiased for any constant baseline b). Summed over time and
    averaged over the batch, so the step size does not grow with the batch size (GENERATORS.md
    §8, pitfall 4). Rewards are constants (detached)."""
    advantage = (rewards.detach() - baseline) * mask
    return -(advantage * logprobs).sum(dim=1).mean()


def _logit_bound(eps: float) -> float:
    """logit(1 − ε) = log((1 − ε)/ε): D clamped to [ε, 1 − ε] is the logit clamped to ±this."""
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps}")
    return math.log((1.0 - eps) / eps)


def maligan_ratio(logits: Tensor, eps: float) -> Tensor:
    """r = D/(1 − D) with D = σ(logit) clamped to [ε, 1 − ε]: since D/(1 − D) = exp(logit)
    exactly, r = exp(logit clamped to ±log((1 − ε)/ε)) — computed from the logit, so D near 1
    loses no precision in 1 − D, and r ≤ (1 − ε)/ε (D → 1 would make it infinite)."""
    bound = _logit_bound(eps)
    return logits.clamp(-bound, bound).exp()


def maligan_weights(logits: Tensor, eps: float, form: str = "ratio") -> Tensor:
    """The per-sample weights of a batch of m sequences, D's logits ``(m,)`` → ``(m,)``, summing
    to 0 (Che et al. 2017, eq. 9 with the baseline b = 1/m):

    - ``ratio``: r_i/Σ_j r_j − 1/m with r = :func:`maligan_ratio`; r_i/Σr is a softmax of the
      clamped logits over the batch (exp(ℓ_i)/Σ_j exp(ℓ_j)), computed stably as one;
    - ``texygen`` (Texygen's ``MaliganReward``, a parity switch): D_i/Σ_j D_j − 1/m, which drops
      the D/(1 − D) transform and is a different estimator (PEERS.md §3.1).
    """
    m = logits.shape[0]
    if form == "ratio":
        bound = _logit_bound(eps)
        normalised = torch.softmax(logits.clamp(-bound, bound), dim=0)
    elif form == "texygen":
        d = torch.sigmoid(logits)
        normalised = d / d.sum()
    else:
        raise ValueError(f"unknown MaliGAN weight form {form!r}; expected ratio or texygen")
    return normalised - 1.0 / m


def dpgan_rewards(word_nll: Tensor, mask: Tensor) -> Tensor:
    """DPGAN's per-token reward before discounting: s·w_t, with w_t the discriminator LM's NLL of
    token t ``(B, L)`` and s = the sentence's mean of w over its ``mask``ed positions → ``(B, L)``,
    0 at PAD. (Discounted by :func:`discounted_rewards` into R_t.)"""
    words = word_nll * mask
    sentence = words.sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True).clamp_min(1.0)  # (B, 1)
    return sentence * words


def cosine_matrix(a: Tensor, b: Tensor) -> Tensor:
    """α(s|u) = cos(y_s, y_u) for every pair: ``(N, F)``, ``(M, F)`` → ``(N, M)`` (Lin et al.
    2017, eq. 2). Invariant to positive scaling of either side; a zero vector has cosine 0."""
    return nn.functional.normalize(a, dim=1) @ nn.functional.normalize(b, dim=1).T


def rank_probabilities(alpha: Tensor, gamma: float) -> Tensor:
    """P(s | u, C) = exp(γ·α(s|u)) / Σ_{s' ∈ C} exp(γ·α(s'|u)) for every s of a set C and every
    reference u: ``(|C|, |U|)`` relevances → ``(|C|, |U|)``, each column summing to 1 (Lin et al.
    2017, eq. 3). γ → 0 gives 1/|C|; γ → ∞ puts the mass on the most relevant sentence."""
    return torch.softmax(gamma * alpha, dim=0)


def rank_log_scores(alpha_s: Tensor, alpha_c: Tensor, gamma: float) -> Tensor:
    """log R(s | U, C) for each of N candidates s, each ranked within its own set C ∪ {s}:
    R = (1/|U|)·Σ_u exp(γ·α(s|u)) / (exp(γ·α(s|u)) + Σ_{c ∈ C} exp(γ·α(c|u))) (Lin et al. 2017,
    eqs. 3–4). ``alpha_s (N, |U|)``, ``alpha_c (|C|, |U|)`` → ``(N,)``; computed in log space, so
    exact for any γ."""
    s = gamma * alpha_s  # (N, U)
    c = torch.logsumexp(gamma * alpha_c, dim=0).expand_as(s)  # (N, U): log Σ_c exp(γα(c|u))
    log_p = s - torch.logaddexp(s, c)  # (N, U): log P(s | u, C ∪ {s})
    return torch.logsumexp(log_p, dim=1) - math.log(alpha_s.shape[1])


def rank_scores(alpha_s: Tensor, alpha_c: Tensor, gamma: float) -> Tensor:
    """R(s | U, C) of :func:`rank_log_scores`, ``(N,)`` in (0, 1)."""
    return rank_log_scores(alpha_s, alpha_c, gamma).exp()


def rescaled_rewards(scores: Tensor, mask: Tensor, delta: float) -> Tensor:
    """LeakGAN's bootstrapped rescaled activation (Guo et al. 2018, §3.3): at every position t,
    the rows of the batch that have a token there are ranked by their score, rank 1 the highest,
    and row i gets σ(δ·(0.5 − rank_t(i)/B_t)), B_t the number of ranked rows. A function of the
    scores' order only — not of their values, and not of where a row sits in the batch (the
    peers' ``rescale`` enumerates the batch without sorting: PEERS.md §3.7). ``(B, L)`` → ``(B, L)``,
    0 at PAD; ties are ranked in batch order (a stable sort)."""
    valid = mask > 0
    keyed = scores.masked_fill(~valid, -math.inf)  # unranked rows last
    order = torch.argsort(keyed, dim=0, descending=True, stable=True)  # (B, L): row of each rank
    ranks = torch.empty_like(order)
    positions = torch.arange(1, scores.shape[0] + 1, device=scores.device).unsqueeze(1).expand_as(order)
    ranks.scatter_(0, order, positions)  # (B, L): 1-based rank of every row
    counts = valid.sum(dim=0, keepdim=True).clamp_min(1)  # (1, L)
    rescaled = torch.sigmoid(delta * (0.5 - ranks.to(scores.dtype) / counts.to(scores.dtype)))
    return rescaled * mask


def goal_cosines(feats: Tensor, goals: Tensor, horizon: int) -> Tensor:
    """The Manager's score of its goal g_t: cos(f_{t+c} − f_t, g_t), with f_{t+c} read at the
    last feature when t + c runs past the end (Guo et al. 2018, eq. 10). ``feats (B, L+1, F)``
    (f_0 … f_L, f_t the leaked feature of the prefix y_1:t), ``goals (B, L, F)`` (g_t emitted
    before y_{t+1}) → ``(B, L)``; a zero change has cosine 0."""
    length = goals.shape[1]
    ahead = torch.arange(length, device=feats.device).add(horizon).clamp(max=length)  # (L,)
    change = feats[:, ahead] - feats[:, :length]  # (B, L, F)
    return nn.functional.cosine_similarity(change, goals, dim=2, eps=1e-8)


def intrinsic_rewards(feats: Tensor, goals: Tensor, horizon: int) -> Tensor:
    """The Worker's intrinsic reward for the token y_{t+1} drawn at step t (Guo et al. 2018,
    eq. 12): (1/c)·Σ_{i=1..c} cos(f_{t+1} − f_{t+1−i}, g_{t+1−i}), averaged over the terms with
    t + 1 − i ≥ 0. Only goals already emitted (before y_{t+1}) enter: causal. ``feats (B, L+1, F)``,
    ``goals (B, L, F)`` → ``(B, L)``."""
    batch, length, _ = goals.shape
    total = feats.new_zeros(batch, length)
    count = feats.new_zeros(length)
    for i in range(1, horizon + 1):
        # for t = i − 1 … L − 1: cos(f_{t+1} − f_{t+1−i}, g_{t+1−i})
        if i > length:
            break
        after, before = feats[:, i:], feats[:, : length + 1 - i]  # (B, L+1−i, F) each
        cos = nn.functional.cosine_similarity(after - before, goals[:, : length + 1 - i], dim=2, eps=1e-8)
        total[:, i - 1 :] += cos
        count[i - 1 :] += 1
    return total / count.clamp_min(1)


def cot_kl(log_g: Tensor, log_m: Tensor) -> Tensor:
    """CoT's per-step generator loss (Lu et al. 2019; its code's −Σ_v G(v)(log M(v) − log G(v))):
    KL(G(·|s) ‖ M(·|s)) = Σ_v G(v|s)·(log G(v|s) − log M(v|s)) over the full vocabulary, from
    log-probabilities ``(..., V)`` → ``(...)``; ≥ 0, 0 iff G = M. Tokens G gives no mass add
    nothing (0·log 0 = 0), so banned ids (−∞ in both) are safe."""
    g = log_g.exp()
    diff = torch.where(g > 0, log_g - log_m, torch.zeros_like(log_g))
    return (g * diff).sum(dim=-1)
