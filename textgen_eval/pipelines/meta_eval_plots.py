"""Plots of ``tge meta-eval``: one figure per metric, value against degradation level (Fig. 5.9)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from textgen_eval.core.errors import MissingDependencyError
from textgen_eval.pipelines.meta_eval import Point, Verdict
from textgen_eval.tuning.plots import save_figure


def write_meta_plots(points: Sequence[Point], verdicts: Sequence[Verdict], out: Path) -> list[Path]:
    """``out/<metric>.png`` and ``.pdf``: mean ± sd over seeds per level, one line per degradation,
    the x axis the level as a fraction of its maximum (topics removed / rate)."""
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("matplotlib", "tge meta-eval plots") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for metric in dict.fromkeys(v.metric for v in verdicts):
        fig, ax = plt.subplots(figsize=(5.0, 3.6))
        for verdict in (v for v in verdicts if v.metric == metric):
            levels = np.asarray(verdict.levels, dtype=np.float64)
            chosen = [p for p in points if p.degradation == verdict.degradation]
            sds = [float(np.std([p.values[metric] for p in chosen if p.level == lv])) for lv in levels]
            x = levels / levels.max() if levels.max() > 0 else levels
            label = f"{verdict.degradation} (ρ = {verdict.rho:+.2f}, {verdict.verdict})"
            ax.errorbar(x, verdict.means, yerr=sds, marker="o", ms=3, capsize=2, label=label)
        direction = next(v.direction for v in verdicts if v.metric == metric)
        ax.set_xlabel("degradation level (fraction of the largest)")
        ax.set_ylabel(f"{metric} {'↑' if direction == 'higher' else '↓'}")
        ax.set_title(f"{metric} under controlled degradations")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", metric)
        written += save_figure(fig, out, slug, option="--out")
        plt.close(fig)
    return written
