"""Drawing training curves (``tge plot``, ``tge report --plots``): one panel per series, every
run overlaid with a legend naming it, written as PNG, PDF or SVG through the guarded writer."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.output import Protected, write_output
from textgen_eval.pipelines.curves import RunCurves, smooth, wants_log_scale
from textgen_eval.tuning.plots import _pyplot

FORMATS = ("png", "pdf", "svg")
COLUMNS = 3


def figure_format(path: Path) -> str:
    """The format named by ``path``'s suffix; anything else is a config error naming it."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(
            f"--output {path}: expected a .png, .pdf or .svg file (the format follows the suffix)"
        )
    return fmt


def draw_curves(
    runs: Sequence[RunCurves],
    names: Sequence[str],
    output: Path,
    *,
    smoothing: float = 0.0,
    log_scale: str = "auto",
    protected: Sequence[Protected] = (),
    option: str = "--output",
) -> Path:
    """Draw ``names`` (series names) of every run in ``runs`` to ``output``; ``log_scale`` is
    ``auto`` (a positive series spanning two decades), ``on`` or ``off``. With smoothing the raw
    points stay as a faint line under the smoothed one."""
    fmt = figure_format(output)
    if not names:
        raise ConfigError(f"{', '.join(str(r.run) for r in runs)}: the runs log no series to plot yet")
    plt = _pyplot()
    rows = math.ceil(len(names) / COLUMNS)
    cols = min(COLUMNS, len(names))
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.4 * rows), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, name in enumerate(names):
        ax = axes[index // cols][index % cols]
        values_seen: list[float] = []
        for r, run in enumerate(runs):
            series = next((s for s in run.series if s.name == name), None)
            if series is None:
                continue
            colour = colours[r % len(colours)]
            values_seen.extend(series.values)
            # few points (a validation every epoch, one probe before training) get markers: a
            # single point draws no line
            marker = "o" if len(series.steps) <= 30 else None
            shown = series.values
            if smoothing > 0:
                ax.plot(series.steps, series.values, color=colour, alpha=0.25, linewidth=0.8)
                shown = tuple(smooth(series.values, smoothing))
            ax.plot(
                series.steps, shown, color=colour, label=run.label, linewidth=1.3, marker=marker, markersize=3
            )
        log = log_scale == "on" or (log_scale == "auto" and wants_log_scale(values_seen))
        if log and all(v > 0 for v in values_seen if not math.isnan(v)):
            ax.set_yscale("log")
        ax.set_title(name + (" (log scale)" if ax.get_yscale() == "log" else ""), fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize=7)
    for index in range(len(names), rows * cols):
        axes[index // cols][index % cols].axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120, metadata={"CreationDate": None} if fmt == "pdf" else None)
    plt.close(fig)
    write_output(output, buffer.getvalue(), protected, option=option)
    return output
