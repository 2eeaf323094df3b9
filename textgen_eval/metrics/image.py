"""Metrics of latent-variable image models (VAE, ladder VAE), in nats per image.

They score a model (:class:`~textgen_eval.core.protocols.LatentVariableModel`) on an image split
(:class:`~textgen_eval.data.images.ImageSplit`, already subset and binarized by the caller). Every
signature names the data (bundle, split, digest, subset, binarization), the model's evaluation
settings (batch-norm mode), the seed and every setting of the estimator.

- ``neg-elbo``: −ELBO = E_q[−log p(x|z)] + Σᵢ KLᵢ, averaged over ``elbo_draws`` posterior draws.
- ``nll-iw-K``: −L_K, the importance-weighted bound with K samples (Sønderby et al. 2016, eq. 12
  with its 1/K; Burda et al. 2016). An upper bound on the NLL that tightens as K grows.
- ``active-units-kl``: units whose KL term, averaged over the data, exceeds 0.01 (LVAE §4, Table 2).
- ``active-units-cov``: units u with Cov_x(E_q[u]) > 0.01 (Burda et al. 2016's activity
  statistic, as recalled in IMAGES.md §1; not checked against a stored copy of that paper).
- ``kl-per-layer``: the KL term of each stochastic layer (the total as the value).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from textgen_eval.core.errors import ConfigError, DivergenceError
from textgen_eval.core.protocols import LatentVariableModel
from textgen_eval.data.images import ImageSplit
from textgen_eval.metrics.base import Direction, ModelMetric, Score, seed_and_batch

#: LVAE §4: a unit is active when its KL term exceeds 0.01 nats.
KL_THRESHOLD = 0.01
#: Burda et al. (2016): a unit is active when Cov_x(E_q[u]) exceeds 10⁻².
COV_THRESHOLD = 0.01
DEFAULT_BATCH = 500
DEFAULT_ELBO_DRAWS = 10


def _check(model: object, data: object, metric: str) -> tuple[LatentVariableModel, ImageSplit]:
    if not isinstance(model, LatentVariableModel):
        raise ConfigError(f"{metric} scores latent-variable image models (vae, ladder-vae); got {model!r}")
    if not isinstance(data, ImageSplit) or not data.binary:
        raise ConfigError(f"{metric} needs binary images (an ImageSplit; binarize grayscale data first)")
    return model, data


def _settings(
    model: LatentVariableModel, data: ImageSplit, *, unit: str = "nats/image", **extra: object
) -> dict[str, object]:
    return {**model.evaluation_settings(), "data": data.describe(), **extra, "unit": unit}


def _mean_and_se(values: np.ndarray) -> tuple[float, float]:
    mean = math.fsum(values.tolist()) / len(values)
    se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return mean, se


class _ImageMetric(ModelMetric):
    direction: ClassVar[Direction] = "lower"


class NegElbo(_ImageMetric):
    name = "neg-elbo"
    description = "−ELBO, nats per image (reconstruction + KL, mean of 10 posterior draws)"
    citation = "Kingma & Welling 2014; Sønderby et al. 2016, eq. 10"

    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        model, data = _check(model, data, self.name)
        seed, batch_size = seed_and_batch(context, DEFAULT_BATCH)
        draws = int(context.get("elbo_draws", DEFAULT_ELBO_DRAWS))
        terms = model.elbo_terms(data.pixels, seed=seed, batch_size=batch_size, draws=draws)
        per_image = terms.rec + sum(terms.kl_layers)
        mean, se = _mean_and_se(per_image)
        kl = [float(np.mean(k)) for k in terms.kl_layers]
        return self.make_score(
            mean,
            n=len(data),
            settings=_settings(model, data, draws=draws, kl=terms.kl_estimator, seed=seed),
            details={"se": se, "rec": float(np.mean(terms.rec)), "kl": math.fsum(kl), "kl_per_layer": kl},
        )


class ImportanceWeightedNLL(_ImageMetric):
    name = "nll-iw"
    ordered = True
    max_order = 1_000_000  # importance samples per image
    description = "NLL bound −L_K with K importance samples (nll-iw-5000), nats per image"
    citation = "Burda et al. 2016; Sønderby et al. 2016, eq. 12"

    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        model, data = _check(model, data, self.name)
        seed, batch_size = seed_and_batch(context, DEFAULT_BATCH)
        bound = model.log_likelihood(data.pixels, k=self.order, seed=seed, batch_size=batch_size)
        if not np.isfinite(bound).all():
            bad = int((~np.isfinite(bound)).sum())
            raise DivergenceError(
                f"{self.name}: the bound is not finite for {bad} of {len(bound)} images (a diverged model)"
            )
        mean, se = _mean_and_se(-bound)
        return self.make_score(
            mean,
            n=len(data),
            settings=_settings(model, data, k=self.order, seed=seed, accumulate="float64"),
            details={"se": se, "batch_size": batch_size},
        )


class _ActiveUnits(ModelMetric):
    direction: ClassVar[Direction] = "higher"
    threshold: ClassVar[float]

    def _result(
        self, per_layer: list[np.ndarray], model: LatentVariableModel, data: ImageSplit, **settings: object
    ) -> Score:
        counts = [int((stat > self.threshold).sum()) for stat in per_layer]
        return self.make_score(
            float(sum(counts)),
            n=len(data),
            settings=_settings(model, data, threshold=self.threshold, unit="units", **settings),
            details={
                "per_layer": counts,
                "units_per_layer": [len(stat) for stat in per_layer],
                "statistic_per_layer": [[round(float(v), 6) for v in stat] for stat in per_layer],
            },
        )


class ActiveUnitsKL(_ActiveUnits):
    name = "active-units-kl"
    threshold = KL_THRESHOLD
    description = "latent units whose mean KL term exceeds 0.01 nats (total; per layer in details)"
    citation = "Sønderby et al. 2016, §4 and Table 2"

    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        model, data = _check(model, data, self.name)
        seed, batch_size = seed_and_batch(context, DEFAULT_BATCH)
        terms = model.elbo_terms(data.pixels, seed=seed, batch_size=batch_size, draws=1)
        return self._result(list(terms.kl_units), model, data, kl=terms.kl_estimator, seed=seed)


class ActiveUnitsCov(_ActiveUnits):
    name = "active-units-cov"
    threshold = COV_THRESHOLD
    description = "latent units u with Cov_x(E_q[u]) > 0.01 (total; per layer in details)"
    citation = "Burda et al. 2016 (activity statistic; definition unverified against the paper)"

    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        model, data = _check(model, data, self.name)
        _, batch_size = seed_and_batch(context, DEFAULT_BATCH)
        means = model.posterior_means(data.pixels, batch_size=batch_size)
        variances = [np.var(m, axis=0) for m in means]  # population variance over the images
        return self._result(variances, model, data, mean="zero-noise-pass")


class KLPerLayer(_ImageMetric):
    name = "kl-per-layer"
    description = "KL term of each stochastic layer, nats per image (total as the value)"
    citation = "Sønderby et al. 2016, Fig. 6a"

    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        model, data = _check(model, data, self.name)
        seed, batch_size = seed_and_batch(context, DEFAULT_BATCH)
        terms = model.elbo_terms(data.pixels, seed=seed, batch_size=batch_size, draws=1)
        per_layer = [math.fsum(k.tolist()) / len(k) for k in terms.kl_layers]
        return self.make_score(
            math.fsum(per_layer),
            n=len(data),
            settings=_settings(model, data, kl=terms.kl_estimator, seed=seed),
            details={"per_layer": per_layer},
        )


class WeightKL(ModelMetric):
    name = "weight-kl"
    direction: ClassVar[Direction] = "lower"
    description = (
        "KL of a Bayesian encoder's weights (static sum + mean per-image dynamic), nats; descriptive"
    )
    citation = "Su, Lin & Chen 2019, eq. 3–5"

    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        from textgen_eval.core.protocols import WeightUncertainModel

        if not isinstance(model, WeightUncertainModel):
            raise ConfigError(f"{self.name} scores models with random weights (compound-vae); got {model!r}")
        if not isinstance(data, ImageSplit):
            raise ConfigError(f"{self.name} needs an image split")
        seed, batch_size = seed_and_batch(context, DEFAULT_BATCH)
        static, dynamic = model.weight_kl(data.pixels, seed=seed, batch_size=batch_size)
        settings = {**model.evaluation_settings(), "data": data.describe(), "seed": seed, "unit": "nats"}
        return self.make_score(static + dynamic, n=len(data), settings=settings,
                               details={"static": static, "dynamic_per_image": dynamic})  # fmt: skip
