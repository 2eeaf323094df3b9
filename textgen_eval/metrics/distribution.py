"""Quality and diversity of the sample *distribution* on sentence embeddings: k-NN manifold
precision and recall (Kynkäänniemi et al. 2019) and MAUVE (Pillutla et al. 2021).

Both use the featurizer of ``fd`` (``--featurizer``; the NLI sentence encoder by default), so their
signatures name it. Definitions and the parity with the ``mauve-text`` package: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.metrics.base import Metric, Score
from textgen_eval.metrics.knn import knn_precision_recall
from textgen_eval.metrics.mauve_math import auto_clusters, mauve_from_histograms, quantize
from textgen_eval.metrics.model_based import embed_pair

#: Kynkäänniemi et al.'s default neighbourhood size.
DEFAULT_K = 3


def _k(context: Mapping[str, Any], n_a: int, n_b: int) -> int:
    k = int(context.get("knn_k") or DEFAULT_K)
    if not 1 <= k < min(n_a, n_b):
        raise ConfigError(f"--knn-k {k}: expected 1 ≤ k < {min(n_a, n_b)} (the smaller set's size)")
    return k


class _KnnMetric(Metric):
    direction = "higher"
    needs_references = True
    needs_resources = True
    citation = "Kynkäänniemi et al. 2019, eq. 1–3"
    #: Which of (precision, recall) is the value.
    part = 0

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        e = embed_pair(samples, references, context, self.name)
        fa, fb, feat, refs = e.samples, e.references, e.featurizer, e.refs_label
        k = _k(context, len(fa), len(fb))
        precision, recall = knn_precision_recall(fb, fa, k)
        value = (precision, recall)[self.part]
        settings = {"feat": feat, "k": k, "n": len(fa), "nrefs": len(fb), "refs": refs}
        details = {"precision": precision, "recall": recall, "k": k, "dim": int(fa.shape[1])}
        return self.make_score(value, n=len(fa), settings=settings, details=details)


class KnnPrecision(_KnnMetric):
    name = "knn-precision"
    description = "fraction of samples inside the references' k-NN manifold in embedding space (quality)"


class KnnRecall(_KnnMetric):
    name = "knn-recall"
    description = "fraction of references inside the samples' k-NN manifold in embedding space (diversity)"
    part = 1


class Mauve(Metric):
    name = "mauve"
    direction = "higher"
    needs_references = True
    needs_resources = True
    description = "MAUVE: area under the divergence frontier of k-means-quantized embeddings"
    citation = "Pillutla et al. 2021, §3"

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        e = embed_pair(samples, references, context, self.name)
        fa, fb, feat, refs = e.samples, e.references, e.featurizer, e.refs_label
        clusters = int(context.get("mauve_clusters") or auto_clusters(len(fa), len(fb)))
        if not 2 <= clusters <= len(fa) + len(fb):
            raise ConfigError(f"--mauve-clusters {clusters}: expected 2 … {len(fa) + len(fb)}")
        seed = int(context.get("seed", 0))
        p, q = quantize(fa, fb, clusters=clusters, seed=seed)
        value = mauve_from_histograms(p, q)
        settings = {
            "feat": feat,
            "clusters": clusters,
            "pca": 0.9,
            "kmeans": "pp-redo5",
            "c": 5,
            "seed": seed,
            "n": len(fa),
            "nrefs": len(fb),
            "refs": refs,
        }
        details = {
            "clusters_used_by_samples": int((p > 0).sum()),
            "clusters_used_by_references": int((q > 0).sum()),
        }
        return self.make_score(value, n=len(fa), settings=settings, details=details)
