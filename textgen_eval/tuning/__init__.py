"""The tuning protocol's engine on Optuna: storages, the exact-budget trial queue, workers, reports.

Model-agnostic: a trial is any callable; ``textgen_eval.pipelines.tune`` plugs in "train a
generator, sample, compute every metric". Optuna and matplotlib are imported lazily.
"""
