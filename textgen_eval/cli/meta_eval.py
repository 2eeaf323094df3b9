"""``tge meta-eval``: a thin wrapper around :mod:`textgen_eval.pipelines.meta_eval`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from textgen_eval.cli.params import SEED, threads_option


def _floats(text: str | None) -> list[float] | None:
    from textgen_eval.core.errors import ConfigError

    if not text:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--rates {text}: expected comma-separated numbers, e.g. 0,0.1,0.2") from None


@click.command("meta-eval", context_settings={"max_content_width": 100})
@threads_option
@click.option(
    "--bundle", metavar="NAME|DIR", help="Reference bundle (default coco; seqgan-oracle with --oracle)."
)
@click.option(
    "--oracle",
    "oracle",
    is_flag=True,
    help="On a synthetic-oracle bundle: score MLE checkpoints × temperatures and test each metric "
    "against the truth (NLL-oracle, NLL-test).",
)
@click.option(
    "--checkpoints", metavar="e,e,...", help="--oracle: epochs of the MLE checkpoints (default 1,3,10,30)."
)
@click.option(
    "--temperatures", metavar="t,t,...", help="--oracle: sampling temperatures (default 0.6,0.8,1,1.25,1.5)."
)
@click.option("--metrics", "-m", "metric_lists", multiple=True, metavar="a,b", help="Metrics to test.")
@click.option(
    "--degradations",
    metavar="a,b",
    help="Some of topics,dropout,swap,duplicate (default: all four); with --oracle some of "
    "tempered,noise,collapse (default: all three) or none.",
)
@click.option("--rates", metavar="r,r,...", help="Levels of dropout/swap/duplicate (default 0,0.1,…,0.5).")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True, help="Seeds per level.")
@click.option(
    "--n", "n", type=click.IntRange(min=2), default=500, show_default=True, help="Sentences per point."
)
@click.option(
    "--topics",
    type=click.IntRange(min=2),
    default=10,
    show_default=True,
    help="k-means topics without --labels.",
)
@click.option("--labels", type=click.Path(dir_okay=False), help="One topic label per line of the test split.")
@click.option("--featurizer", metavar="SPEC", help="Embeddings for fd, knn-* and mauve.")
@click.option(
    "--topic-featurizer",
    metavar="SPEC",
    help="Embeddings of the k-means topics without --labels (default: lsa, whatever --featurizer is tested).",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="First seed.")
@click.option("--lm-recipe-set", "recipe_sets", multiple=True, metavar="SECTION.KEY=VALUE")
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE:ATTR",
    help="Load a metric class to test (repeatable).",
)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Points, JSON, CSV, plots."
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the table here.")
@click.option("--no-plots", is_flag=True, help="Skip the plots (they need matplotlib).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def meta_eval(
    bundle: str | None,
    oracle: bool,
    checkpoints: str | None,
    temperatures: str | None,
    metric_lists: tuple[str, ...],
    degradations: str | None,
    rates: str | None,
    seeds: int,
    n: int,
    topics: int,
    labels: str | None,
    featurizer: str | None,
    topic_featurizer: str | None,
    seed: int,
    recipe_sets: tuple[str, ...],
    plugins: tuple[str, ...],
    out: Path,
    fmt: str,
    output: Path | None,
    no_plots: bool,
    no_progress: bool,
) -> None:
    """Degrade held-out real text in controlled ways (topic removal, word dropout, word swaps,
    duplication) and test which metrics notice (Semeniuta 2019, Fig. 5.9): Spearman's ρ of each
    metric with the level, over --seeds seeds, and a verdict per metric and degradation.

    \b
    tge meta-eval --bundle coco --out runs/meta
    tge meta-eval --bundle news --labels news_test_topics.txt -m bleu-4,fd,mauve --out runs/meta-news
    """
    from textgen_eval.core.config import parse_assignments
    from textgen_eval.core.output import Protected, check_output, write_output
    from textgen_eval.metrics.registry import load_plugin
    from textgen_eval.pipelines import meta_eval as pipeline
    from textgen_eval.pipelines.inputs import bundle_inputs
    from textgen_eval.pipelines.rundir import run_lock

    for plugin in plugins:
        load_plugin(plugin)
    metrics = [m.strip() for ms in metric_lists for m in ms.split(",") if m.strip()] or None
    if oracle:
        from textgen_eval.core.errors import ConfigError

        given = [o for o, v in (("--rates", rates), ("--labels", labels)) if v]
        if given:
            raise ConfigError(
                f"{', '.join(given)}: degrade real text; --oracle scores generators against the truth"
            )
        _oracle_meta_eval(
            bundle or "seqgan-oracle", metrics, checkpoints, temperatures, degradations, n, seed, recipe_sets,
            out, fmt, output, no_progress,
        )  # fmt: skip
        return
    if checkpoints or temperatures:
        from textgen_eval.core.errors import ConfigError

        raise ConfigError("--checkpoints and --temperatures go with --oracle")
    bundle = bundle or "coco"
    spec = pipeline.build_spec(
        bundle,
        metrics=metrics,
        degradations=[d.strip() for d in degradations.split(",") if d.strip()] if degradations else None,
        rates=_floats(rates),
        seeds=seeds,
        n=n,
        topics=topics,
        labels=labels,
        featurizer=featurizer,
        topic_featurizer=topic_featurizer,
        seed=seed,
        recipe=parse_assignments(recipe_sets, option="--lm-recipe-set"),
    )
    protected = bundle_inputs(bundle)
    if labels:
        protected.append(Protected(Path(labels), "the labels file"))
    protected.append(Protected(out / pipeline.POINTS_FILE, "the meta-evaluation's points"))
    if output is not None:
        check_output(output, protected)
    with run_lock(out, what="meta-evaluation directory"):
        pipeline.prepare_out(out, spec)
        run = pipeline.MetaEvaluation(spec, out, progress=not no_progress)
        points = run.run(notify=lambda m: click.echo(f"tge: {m}", err=True))
        verdicts = pipeline.analyse(points, run.directions(points))
        summary = pipeline.report(spec, points, verdicts)
        write_output(out / "meta-eval.json", json.dumps(summary, indent=2) + "\n", protected)
        write_output(out / "meta-eval.csv", _csv(verdicts), protected)
        if not no_plots:
            from textgen_eval.pipelines.meta_eval_plots import write_meta_plots

            write_meta_plots(points, verdicts, out / "plots")
    for note in run.notes:
        click.echo(f"note: {note}", err=True)
    redrawn = summary["redrawn_sentences"]
    if redrawn:
        click.echo(
            f"note: {redrawn} sentences were drawn twice where the remaining topics were too small for --n",
            err=True,
        )
    text = {"table": _table, "json": lambda v: json.dumps(summary, indent=2) + "\n", "csv": _csv}[fmt](
        verdicts
    )
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text, protected)
        click.echo(f"wrote {output}", err=True)
    click.echo(f"tge: wrote {out}/meta-eval.json, meta-eval.csv{'' if no_plots else ' and plots/'}", err=True)


def _oracle_meta_eval(
    bundle: str,
    metrics: list[str] | None,
    checkpoints: str | None,
    temperatures: str | None,
    degradations: str | None,
    n: int,
    seed: int,
    recipe_sets: tuple[str, ...],
    out: Path,
    fmt: str,
    output: Path | None,
    no_progress: bool,
) -> None:
    """``tge meta-eval --oracle``: :mod:`textgen_eval.pipelines.oracle_meta_eval`."""
    from textgen_eval.core.config import parse_assignments
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.core.output import Protected, check_output, write_output
    from textgen_eval.data.oracle_variants import DEFAULT_LEVELS, oracle_variant
    from textgen_eval.metrics.registry import resolve_metric
    from textgen_eval.pipelines import oracle_meta_eval as pipeline
    from textgen_eval.pipelines.inputs import bundle_inputs
    from textgen_eval.pipelines.rundir import run_lock

    epochs = tuple(int(e) for e in _floats(checkpoints) or pipeline.DEFAULT_CHECKPOINTS)
    temps = tuple(_floats(temperatures) or pipeline.DEFAULT_TEMPERATURES)
    if not epochs or min(epochs) < 1 or len(set(epochs)) != len(epochs):
        raise ConfigError(f"--checkpoints {checkpoints}: expected distinct epochs ≥ 1, e.g. 1,3,10,30")
    if not temps or min(temps) <= 0 or len(set(temps)) != len(temps):
        raise ConfigError(
            f"--temperatures {temperatures}: expected distinct numbers > 0, e.g. 0.6,0.8,1,1.25"
        )
    if len(epochs) * len(temps) < 3:
        raise ConfigError("--oracle needs at least 3 generators (checkpoints × temperatures) to rank")
    names = tuple(metrics or pipeline.DEFAULT_METRICS)
    for name in names:
        resolve_metric(name)
    families = [d.strip() for d in (degradations or ",".join(DEFAULT_LEVELS)).split(",") if d.strip()]
    families = [] if families == ["none"] else families
    for family in families:
        try:
            oracle_variant(family)
        except ConfigError as exc:
            raise ConfigError(f"--degradations {degradations}: {exc} (or none)") from None
    spec = pipeline.OracleMetaSpec(
        bundle, names, tuple(sorted(epochs)), temps, n, seed,
        recipe=parse_assignments(recipe_sets, option="--lm-recipe-set"),
        degradations={f: tuple(DEFAULT_LEVELS[f]) for f in dict.fromkeys(families)},
    )  # fmt: skip
    protected = bundle_inputs(bundle)
    protected.append(Protected(out / pipeline.POINTS_FILE, "the meta-evaluation's points"))
    if output is not None:
        check_output(output, protected)
    with run_lock(out, what="meta-evaluation directory"):
        pipeline.prepare_out(out, spec)
        run = pipeline.OracleMetaEvaluation(spec, out, progress=not no_progress)
        points = run.run(notify=lambda m: click.echo(f"tge: {m}", err=True))
        verdicts = pipeline.analyse(points, run.directions())
        summary = pipeline.report(spec, points, verdicts)
        write_output(out / "oracle-meta-eval.json", json.dumps(summary, indent=2) + "\n", protected)
        write_output(out / "oracle-meta-eval.md", pipeline.markdown(verdicts, points), protected)
    for note in run.notes:
        click.echo(f"note: {note}", err=True)
    text = json.dumps(summary, indent=2) + "\n" if fmt == "json" else pipeline.markdown(verdicts, points)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text, protected)
    click.echo(f"tge: wrote {out}/oracle-meta-eval.json and oracle-meta-eval.md", err=True)


def _table(verdicts: Any) -> str:
    from textgen_eval.cli.format import format_value, render_table

    rows = [
        (
            v.metric,
            "↑" if v.direction == "higher" else "↓",
            v.degradation,
            f"{v.rho:+.2f}",
            f"{v.monotone_seeds}/{v.seeds}",
            v.verdict,
            format_value(v.means[0]),
            format_value(v.means[-1]),
        )
        for v in verdicts
    ]
    header = ("metric", "", "degradation", "ρ(worse)", "monotone", "verdict", "at 0", "at max")
    return render_table(rows, header)


def _csv(verdicts: Any) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "metric",
            "direction",
            "degradation",
            "rho_worse",
            "monotone_seeds",
            "seeds",
            "verdict",
            "levels",
            "means",
        ]
    )
    for v in verdicts:
        writer.writerow(
            [
                v.metric,
                v.direction,
                v.degradation,
                repr(v.rho),
                v.monotone_seeds,
                v.seeds,
                v.verdict,
                json.dumps(v.levels),
                json.dumps(v.means),
            ]
        )
    return buffer.getvalue()
