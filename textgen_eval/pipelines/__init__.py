"""Compositions of the lower layers: evaluation (and, later, training, tuning and reports)."""
