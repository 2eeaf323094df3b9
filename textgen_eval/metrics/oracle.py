"""Synthetic-oracle metrics: the true distribution scores the samples (PEERS.md §1.3).

``nll-oracle`` is SeqGAN's NLL-oracle (Yu et al. 2017, §4.1): −(1/(N·T)) Σₙ Σₜ log P_oracle(yₜ⁽ⁿ⁾ |
y₍<ₜ₎⁽ⁿ⁾) over N samples of exactly T tokens, start token 0, zero initial state, nats per token.
The oracle comes from the bundle (``--bundle seqgan-oracle`` or one made by ``tge bundle
--oracle``) through ``context["oracle"]`` (a :class:`~textgen_eval.data.bundle_meta.BundleOracle`);
its entropy rate (the oracle's NLL of its own held-out samples) is the floor, reported in the
details beside the value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from textgen_eval.core.errors import MetricError
from textgen_eval.data.bundle_meta import BundleOracle
from textgen_eval.metrics.base import Metric, Score
from textgen_eval.metrics.bootstrap import RatioOfSums

SEQGAN = "Yu, L., Zhang, W., Wang, J. & Yu, Y. (2017). SeqGAN, AAAI, §4.1 (synthetic data)"


def require_oracle(context: dict[str, Any], metric: str) -> BundleOracle:
    found = context.get("oracle")
    if not isinstance(found, BundleOracle):
        raise MetricError(
            f"{metric} needs a synthetic-oracle bundle: --bundle seqgan-oracle, or a bundle made by "
            "`tge bundle OUT --oracle seqgan|random`"
        )
    return found


class NLLOracle(Metric):
    """The oracle's mean per-token NLL of the samples (lower is better; the floor is the oracle's
    entropy rate, in ``details["entropy_rate"]``)."""

    name = "nll-oracle"
    direction = "lower"
    description = "the true oracle's NLL of the samples, nats/token (synthetic-oracle bundles only)"
    citation = SEQGAN
    needs_oracle: ClassVar[bool] = True

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        found = require_oracle(context, self.name)
        label = str(getattr(samples, "label", "samples"))
        if len(samples) == 0:
            raise MetricError(f"{self.name}: no samples")
        ids = found.format.parse(list(samples), source=label)
        per_token = found.oracle.token_nll(ids)  # (N, T)
        value = math.fsum(per_token.ravel().tolist()) / per_token.size
        per_sequence = per_token.sum(axis=1)
        entropy = found.record.entropy_rate
        settings = {
            "oracle": found.oracle.params.describe(),
            "start": found.record.start_token,
            "len": found.format.length,
            "n": len(ids),
            "unit": "nats/token",
        }
        details: dict[str, Any] = {
            "tokens": int(per_token.size),
            "per_position": [round(float(x), 6) for x in per_token.mean(axis=0)],
            "sequence_nll_std": float(per_sequence.std(ddof=1)) if len(ids) > 1 else 0.0,
        }
        if entropy is not None:
            details |= {
                "entropy_rate": entropy,
                "entropy_n": found.record.entropy_n,
                "excess": value - entropy,
                "notes": [
                    f"nll-oracle: the oracle's entropy rate (its NLL of {found.record.entropy_n:,} held-out "
                    f"samples of its own, {found.bundle}/test) is {entropy:.4f} nats/token, the value of a "
                    "perfect generator"
                ],
            }
        resample = RatioOfSums(per_token.mean(axis=1))  # equal lengths: the mean of sequence means
        return self.make_score(value, n=len(ids), settings=settings, details=details, resample=resample)
