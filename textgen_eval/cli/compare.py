"""``tge compare``: a thin wrapper around :mod:`textgen_eval.pipelines.compare`."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from textgen_eval.cli.params import SEED
from textgen_eval.core.limits import MAX_BUDGET, MAX_RETRAIN


def _say(message: str) -> None:
    click.echo(f"tge: {message}", err=True)


@click.command("compare", context_settings={"max_content_width": 100})
@click.argument("models", nargs=-1, metavar="[MODEL ...]")
@click.option("--data", metavar="BUNDLE", help="Bundle name (coco) or directory with train/[valid]/test.txt.")
@click.option(
    "--preset",
    default="cpu",
    show_default=True,
    metavar="NAME|FILE",
    help="Models, budget, seeds and spaces: a built-in preset (cpu, oracle, small) or a TOML file "
    "(docs/tuning.md).",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Comparison directory.")
@click.option(
    "--budget",
    type=click.IntRange(min=1, max=MAX_BUDGET),
    help="Search trials per model (default: the preset's).",
)
@click.option(
    "--retrain", type=click.IntRange(min=1, max=MAX_RETRAIN), help="Seeds per best configuration (preset's)."
)
@click.option("--samples", type=click.IntRange(min=1), help="Sentences sampled per trial (preset's).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seeds every model's search the same.")
@click.option(
    "--storage",
    envvar="TGE_STORAGE",
    help="Optuna RDB URL or journal file for every model's studies; default OUT/study.journal.",
)
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes per model (default 1 per GPU).")
@click.option("--threads", type=click.IntRange(min=1), help="torch threads per worker.")
@click.option("--devices", help="Comma-separated devices given to workers in turn (cpu, cuda:0, ...).")
@click.option(
    "--lm-recipe-set", "recipe_sets", multiple=True, metavar="SECTION.KEY=VALUE", help="Reference-LM recipe."
)
@click.option(
    "--resume", "resume_dir", type=click.Path(file_okay=False, path_type=Path), help="Continue OUT."
)
@click.option("--report-only", is_flag=True, help="Write the report of the finished runs; train nothing.")
@click.option(
    "--top", type=click.IntRange(min=1), default=30, show_default=True, help="Trials in best-N plot."
)
@click.option("--no-plots", is_flag=True, help="Skip the plots.")
@click.option("--no-real-data", is_flag=True, help="Leave out the column of held-out real text.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
def compare(
    models: tuple[str, ...],
    data: str | None,
    preset: str,
    out: Path | None,
    budget: int | None,
    retrain: int | None,
    samples: int | None,
    seed: int,
    storage: str | None,
    workers: int | None,
    threads: int | None,
    devices: str | None,
    recipe_sets: tuple[str, ...],
    resume_dir: Path | None,
    report_only: bool,
    top: int,
    no_plots: bool,
    no_real_data: bool,
    no_progress: bool,
) -> None:
    """Compare generators with the thesis' protocol (Semeniuta 2019, §5.6.2): every MODEL (default:
    the preset's; the cpu preset has the nine rows of Table 5.4, the peers' nine models and the
    transformer LM) gets the same random-search budget
    with FD as the objective, its best configuration is retrained with several seeds, and one
    report gives every metric as mean ± std (Table 5.4), the best-30 objective plot (Fig. 5.11) and
    objective-vs-hyperparameter plots. Resumable: give the same command again, or --resume OUT.

    \b
    tge compare --data coco --out runs/compare                    # the cpu preset: many hours
    tge compare lstm-lm seqgan-reinforce --data coco --budget 4 --out runs/two
    tge compare --resume runs/compare                             # after Ctrl-C or a crash
    tge compare --data snli4k --preset examples/compare/thesis.toml --storage postgresql://... --out runs/t
    """
    from textgen_eval.core.config import parse_assignments
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.pipelines import compare as pipeline
    from textgen_eval.pipelines.compare_presets import load_preset
    from textgen_eval.pipelines.compare_report import write_report
    from textgen_eval.pipelines.rundir import run_lock
    from textgen_eval.tuning.coordinator import TuneOptions

    if resume_dir is not None:
        if models or data or out is not None:
            raise ConfigError(
                "--resume takes the comparison directory only; its settings are in compare.json"
            )
        out = resume_dir
        spec = pipeline.read_compare(out)
    else:
        chosen = None if report_only and not data else load_preset(preset)
        data = data or (chosen.data if chosen is not None else None)
        if out is None or (not data and not report_only):
            raise ConfigError("tge compare needs --data and --out (or --resume OUT)")
        if chosen is None:
            spec = pipeline.read_compare(out)
        else:
            if models:
                chosen = chosen.only(models)
            spec = pipeline.build_compare_spec(
                chosen,
                data or "",
                name=out.resolve().name,
                seed=seed,
                budget=budget,
                retrain=retrain,
                samples=samples,
                lm_recipe=parse_assignments(recipe_sets, option="--lm-recipe-set"),
            )
    options = TuneOptions(
        workers=workers or 0,
        threads=threads or 0,
        devices=tuple(d.strip() for d in devices.split(",") if d.strip()) if devices else (),
        progress=not no_progress,
    )
    with run_lock(out, what="comparison directory"):
        if not report_only:
            pipeline.prepare(out, spec)
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM re-queues like Ctrl-C
            pipeline.run(out, spec, storage=storage, options=options, notify=_say)
            spec = pipeline.read_compare(out)  # every row of the comparison, not only those run now
        written = write_report(
            out, spec, storage=storage, top=top, plots=not no_plots, real=not no_real_data, notify=_say
        )
    _say(f"wrote {', '.join(str(p) for p in written)}")
