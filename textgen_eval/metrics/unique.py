"""Unique n-grams: how many distinct n-grams the samples contain (a diversity measure).

The thesis (Semeniuta, 2019, Table 5.4) reports "unique 4-grams"; the distinct ratio
(distinct / total, "distinct-n" of Li et al., 2016) is given in the details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textgen_eval.data.textset import as_textset
from textgen_eval.metrics.base import Metric, Score
from textgen_eval.metrics.tables import empty_policy, tables_from_context


class UniqueNgrams(Metric):
    name = "unique-ngrams"
    ordered = True
    direction = "higher"
    description = "number of distinct N-grams over all samples (details: total N-grams and distinct ratio)"
    citation = "Semeniuta 2019, §5.6; Li et al. 2016 (distinct-n)"

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        hyps = as_textset(samples)
        tables = tables_from_context(context, references)
        (ids,) = tables.ngram_ids(self.order, hyps)
        present = ids[ids >= 0]
        distinct = int(np.unique(present).size)
        total = int(present.size)
        settings = {
            "nhyps": len(hyps),
            **tables.signature_fields(),
            "empty": empty_policy(context),
        }
        details = {"order": self.order, "total": total, "ratio": distinct / total if total else 0.0}
        return self.make_score(distinct, n=len(hyps), settings=settings, details=details)
