"""The VAE objective and its bounds for any text VAE net (pure functions over a small protocol).

``elbo_terms`` gives the reconstruction NLL, the KL and (for the hybrid VAE) the auxiliary NLL of
a batch for a given noise ε; ``iw_log_likelihood`` the importance-weighted bound of Burda et al.
(2016, eq. 8) with q(z|x) as the proposal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from textgen_eval.data.batching import EncodedCorpus, sorted_batches
from textgen_eval.generators.vae.gaussian import (
    gaussian_kl,
    importance_weighted_bound,
    log_normal,
    log_standard_normal,
    reparameterize,
)


class LatentTextNet(Protocol):
    """A text VAE network: q(z|x) and log p(x|z) for padded ``[BOS] ids [EOS]`` batches."""

    latent_size: int

    def encode(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """``(μ, log σ²)``, each ``(B, Z)``."""
        ...

    def reconstruction_nll(self, z: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        """Summed −log p(x|z) per sentence ``(B,)`` and scored tokens ``(B,)``."""
        ...

    def auxiliary_nll(self, z: Tensor, batch: Tensor) -> Tensor | None:
        """The auxiliary reconstruction term per sentence ``(B,)`` (hybrid VAE), else ``None``."""
        ...


@dataclass(frozen=True)
class ElboTerms:
    rec: Tensor  # (B,) nats per sentence
    kl: Tensor  # (B,) nats per sentence
    tokens: Tensor  # (B,)
    aux: Tensor | None  # (B,) nats per sentence, or None


def elbo_terms(net: LatentTextNet, batch: Tensor, eps: Tensor) -> ElboTerms:
    """The terms of J = β·KL + rec + α·aux for one draw z = μ + σ·ε per sentence."""
    mu, logvar = net.encode(batch)
    z = reparameterize(mu, logvar, eps)
    rec, tokens = net.reconstruction_nll(z, batch)
    return ElboTerms(rec, gaussian_kl(mu, logvar), tokens, net.auxiliary_nll(z, batch))


def validation_terms(
    net: LatentTextNet,
    corpus: EncodedCorpus,
    batch_size: int,
    device: torch.device,
    seed: int = 0,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """Summed reconstruction NLL, KL (β = 1) and aux term, tokens and sentences; seeded noise.
    ``prepare`` shapes each padded batch as the net takes it (fixed-length models pad to L)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    out = {"rec": 0.0, "kl": 0.0, "aux": 0.0, "tokens": 0.0, "sentences": 0.0}
    with torch.no_grad():
        for _, batch in sorted_batches(corpus.sequences, batch_size):
            ids = torch.from_numpy(prepare(batch) if prepare is not None else batch).to(device)
            eps = torch.randn(ids.shape[0], net.latent_size, generator=gen, device=device)
            terms = elbo_terms(net, ids, eps)
            out["rec"] += float(terms.rec.double().sum())
            out["kl"] += float(terms.kl.double().sum())
            out["aux"] += float(terms.aux.double().sum()) if terms.aux is not None else 0.0
            out["tokens"] += float(terms.tokens.sum())
            out["sentences"] += ids.shape[0]
    return out


def iw_log_likelihood(net: LatentTextNet, batch: Tensor, k: int, generator: torch.Generator) -> Tensor:
    """The importance-weighted lower bound on log p(x) with ``k`` samples per sentence ``(B,)``."""
    mu, logvar = net.encode(batch)
    b, z_dim = mu.shape
    eps = torch.randn(k, b, z_dim, generator=generator, device=batch.device, dtype=mu.dtype)
    z = reparameterize(mu.unsqueeze(0), logvar.unsqueeze(0), eps)  # (K, B, Z)
    rec, _ = net.reconstruction_nll(z.reshape(k * b, z_dim), batch.repeat(k, 1))  # (K·B,)
    log_w = -rec.view(k, b) + log_standard_normal(z) - log_normal(z, mu.unsqueeze(0), logvar.unsqueeze(0))
    return importance_weighted_bound(log_w)  # (B,)
