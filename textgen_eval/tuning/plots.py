"""Plots of tuning runs (matplotlib, PNG and PDF).

* ``best{N}``: the objective of each run's best N search trials, a box plot with the trials as
  points — the thesis' Fig. 5.11 (Semeniuta 2019), which shows how sensitive each model is to its
  hyperparameters;
* ``scatter-{run}``: one panel per hyperparameter, the objective of every complete trial against
  the value it drew (log axes for log-scale ranges; categories spread with a little jitter).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textgen_eval.core.errors import MissingDependencyError
from textgen_eval.core.output import Protected, write_output
from textgen_eval.core.space import SearchSpace
from textgen_eval.tuning.report import Run, column_labels, scatter_points

FORMATS = ("png", "pdf")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("matplotlib", "tge report --plots") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(
    fig: Any, out: Path, stem: str, protected: Sequence[Protected] = (), *, option: str = "--plots"
) -> list[Path]:
    """Render ``fig`` once per format and write each through the guarded writer (docs/reliability.md)."""
    written = []
    for fmt in FORMATS:
        path = out / f"{stem}.{fmt}"
        buffer = io.BytesIO()
        fig.savefig(
            buffer,
            format=fmt,
            bbox_inches="tight",
            dpi=150,
            metadata={"CreationDate": None} if fmt == "pdf" else None,
        )
        write_output(path, buffer.getvalue(), protected, option=option)
        written.append(path)
    return written


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


#: A best-N plot whose values span at least this ratio gets a log axis: the thesis' GANs sit 5–7×
#: above the LM on FD, and one linear axis squashes every box but the worst to a line.
LOG_SPAN = 10.0


def wants_log_axis(values: Sequence[float]) -> bool:
    """Whether ``values`` (all positive) span at least :data:`LOG_SPAN`."""
    return bool(values) and min(values) > 0 and max(values) / min(values) >= LOG_SPAN


def best_title(objective: str, top: int, counts: Sequence[int], *, log: bool) -> str:
    """The best-N plot's title. When no model has ``top`` finished trials (a small budget), the
    plot shows every trial, and the title says so rather than promising the best ``top``."""
    scale = " (log scale)" if log else ""
    if counts and max(counts) < top:
        return f"{objective} of every search trial, fewer than {top} per model{scale}"
    return f"{objective} of the best {top} search trials{scale}"


#: A log axis spanning more than this many decades gets one labelled tick per decade; narrower
#: ones also label 2× and 5×, which would overlap (1e-6 … 1e-3 gave "1e-062e-06…").
DENSE_TICK_DECADES = 2.0


def log_tick_subs(low: float, high: float) -> tuple[float, ...]:
    """Multiples of each power of ten that get a labelled tick on a log axis from ``low`` to ``high``."""
    return (1.0,) if np.log10(high / low) > DENSE_TICK_DECADES else (1.0, 2.0, 5.0)


def plot_best(runs: Sequence[Run], out: Path, *, top: int, protected: Sequence[Protected] = ()) -> list[Path]:
    plt = _pyplot()
    labels = column_labels(runs)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(runs) + 1.5), 4.0))
    data = [r["best30"] for r in runs]
    positions = np.arange(1, len(runs) + 1)
    nonempty = [(p, d) for p, d in zip(positions, data) if d]
    if nonempty:
        ax.boxplot([d for _, d in nonempty], positions=[p for p, _ in nonempty], widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)
    for p, values in zip(positions, data):
        ax.scatter(p + rng.uniform(-0.12, 0.12, len(values)), values, s=12, alpha=0.7, zorder=3)
    ticks = [f"{label}\n(n = {len(values)})" for label, values in zip(labels, data)]
    ax.set_xticks(positions, ticks, rotation=20 if len(runs) > 3 else 0)
    objective = runs[0]["objective"]
    arrow = "↓" if objective["direction"] == "lower" else "↑"
    ax.set_ylabel(f"{objective['name']} {arrow}")
    everything = [v for d in data for v in d]
    log = wants_log_axis(everything)
    if log:
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")  # 3 and 20, not 3×10⁰ and 2×10¹
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    ax.set_title(best_title(objective["name"], top, [len(d) for d in data], log=log))
    ax.grid(axis="y", alpha=0.3)
    written = save_figure(fig, out, f"best{top}", protected)
    plt.close(fig)
    return written


def plot_scatter(run: Run, label: str, out: Path, protected: Sequence[Protected] = ()) -> list[Path]:
    plt = _pyplot()
    space = SearchSpace.from_dict(run["space"], where=f"{run['run_dir']} space")
    points = scatter_points(run)
    names = list(points)
    cols = min(4, max(1, len(names)))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    rng = np.random.default_rng(0)
    objective = run["objective"]["name"]
    for ax, name in zip(axes.flat, names):
        param = space.params[name]
        pts = points[name]
        ys = [y for _, y in pts]
        if param.kind == "choice":
            labels = [str(c) for c in param.choices]
            xs = [labels.index(str(x)) + rng.uniform(-0.15, 0.15) for x, _ in pts]
            ax.scatter(xs, ys, s=14, alpha=0.75)
            ax.set_xticks(np.arange(len(labels)), labels)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        else:
            xs = [float(x) for x, _ in pts]
            ax.scatter(xs, ys, s=14, alpha=0.75)
            if param.log and xs:
                from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(subs=log_tick_subs(min(xs), max(xs))))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0e}"))
                ax.xaxis.set_minor_locator(NullLocator())
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(objective, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    n_done = sum(1 for r in run["search"] if r["objective"] is not None)
    fig.suptitle(f"{label}: {objective} vs hyperparameters ({n_done} trials)")
    fig.tight_layout()
    written = save_figure(fig, out, f"scatter-{_slug(label)}", protected)
    plt.close(fig)
    return written


def write_plots(
    runs: Sequence[Run], out: str | Path, *, top: int = 30, protected: Sequence[Protected] = ()
) -> list[Path]:
    """Write the best-N plot of all runs and one scatter plot per run into ``out``; no plot may
    overwrite a file of ``protected`` (the runs' own files)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = plot_best(runs, out, top=top, protected=protected)
    for run, label in zip(runs, column_labels(runs)):
        written += plot_scatter(run, label, out, protected)
    return written


#: The two trade-offs of a temperature sweep (Caccia et al. 2018): (x, y) metric pairs.
SWEEP_PANELS = (("self-bleu-4", "bleu-4"), ("reverse-lm-score", "lm-score"))


def plot_sweeps(
    sweeps: Mapping[str, Mapping[str, Any]], out: Path, protected: Sequence[Protected] = ()
) -> list[Path]:
    """Quality against diversity over each model's temperature sweep (one curve per model, the
    points labelled with their temperature): BLEU-4 against self-BLEU-4, LM score against reverse
    LM score. ``sweeps``: label → ``Sweep.to_dict()``. Panels whose metrics no sweep has are left out."""
    plt = _pyplot()
    panels = [
        (x, y)
        for x, y in SWEEP_PANELS
        if any(all(m in p["metrics"] for m in (x, y)) for s in sweeps.values() for p in s["points"])
    ]
    if not panels:
        return []
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 4.2), squeeze=False)
    for ax, (x, y) in zip(axes.flat, panels):
        for label, sweep in sweeps.items():
            points = [p for p in sweep["points"] if x in p["metrics"] and y in p["metrics"]]
            if not points:
                continue
            xs = [p["metrics"][x]["value"] for p in points]
            ys = [p["metrics"][y]["value"] for p in points]
            ax.plot(xs, ys, marker="o", label=label)
            for p, px, py in zip(points, xs, ys):
                ax.annotate(
                    f"T={p['temperature']:g}", (px, py), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
        ax.set_xlabel(f"{x} ({'↓' if x.startswith(('self-', 'reverse')) else '↑'} = more diverse)")
        ax.set_ylabel(f"{y} ({'↑' if y.startswith('bleu') else '↓'} = higher quality)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Quality against diversity over the sampling temperature (Caccia et al. 2018)")
    fig.tight_layout()
    written = save_figure(fig, out, "quality-diversity", protected)
    plt.close(fig)
    return written
