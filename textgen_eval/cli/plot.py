"""``tge plot``: the training curves of runs (``log.jsonl``), overlaid, to PNG, PDF or SVG."""

from __future__ import annotations

from pathlib import Path

import click


def run_labels(run_dirs: tuple[Path, ...]) -> list[str]:
    """A legend label per run: its directory name, with as many parent names as it takes to tell
    runs apart (``lm/trials/retrain-0000`` and ``gan/trials/retrain-0000``)."""
    parts = [d.resolve().parts for d in run_dirs]
    for depth in range(1, max(len(p) for p in parts) + 1):
        labels = ["/".join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [str(d) for d in run_dirs]


@click.command("plot", context_settings={"max_content_width": 100})
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("curves.png"),
    show_default=True,
    help="Figure file; .png, .pdf or .svg.",
)
@click.option(
    "--series",
    metavar="NAME,NAME",
    help="Only these series: keys (loss, valid_loss, nll_oracle), full names ('adversarial: gen/loss') "
    "or globs ('*d_fake*').",
)
@click.option(
    "--smooth",
    "smoothing",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=0.0,
    show_default=True,
    help="Exponential smoothing weight (TensorBoard's); the raw curve stays faint beneath.",
)
@click.option(
    "--log-scale",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Log y axis: auto for positive series that span two decades.",
)
def plot(
    run_dirs: tuple[Path, ...], output: Path, series: str | None, smoothing: float, log_scale: str
) -> None:
    """Draw every series the runs log — losses, KL and its weight, Wasserstein estimates and
    penalties, D(real)/D(fake), rewards, NLL-oracle, learning rates — one panel per series and stage,
    the runs overlaid with a legend naming each.

      tge plot runs/lm                                      # every series of one run
      tge plot runs/seqgan runs/leakgan --series loss,nll_oracle --output curves.pdf
      tge plot runs/wgan --smooth 0.9 --log-scale on -o wgan.svg
    """
    from textgen_eval.core.output import Protected
    from textgen_eval.pipelines.curve_plots import draw_curves, figure_format
    from textgen_eval.pipelines.curves import read_curves, select_series

    figure_format(output)  # a bad suffix is refused before any log is read
    runs = [read_curves(d, label=label) for d, label in zip(run_dirs, run_labels(run_dirs))]
    patterns = [p.strip() for p in series.split(",") if p.strip()] if series else None
    names = select_series(runs, patterns)
    protected = [
        Protected(path, f"a file of run {d}") for d in run_dirs for path in d.rglob("*") if path.is_file()
    ]
    draw_curves(runs, names, output, smoothing=smoothing, log_scale=log_scale, protected=protected)
    click.echo(f"wrote {output}: {len(names)} series of {len(runs)} run(s)", err=True)
