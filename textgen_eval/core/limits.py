"""Stated upper limits of counts that have no natural bound, checked before any work (a count
beyond them is a typo, and honouring it would grow memory or run for years).

The limits are far above any published protocol: the thesis tunes with a budget of 100 and
retrains 7 seeds (Semeniuta 2019, §5.6.2).
"""

from __future__ import annotations

#: search trials per tuning run (``--budget``, a preset's ``budget``, ``tune.json``)
MAX_BUDGET = 100_000
#: seeds of the best configuration's retraining (``--retrain``, a preset's ``retrain``)
MAX_RETRAIN = 10_000
