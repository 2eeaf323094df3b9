"""``tge tune`` and ``tge report``: thin wrappers around :mod:`textgen_eval.pipelines.tune` and
:mod:`textgen_eval.tuning.report`."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import click

from textgen_eval.cli.params import SEED, FiniteFloat
from textgen_eval.core.limits import MAX_BUDGET, MAX_RETRAIN


def _say(message: str) -> None:
    click.echo(f"tge: {message}", err=True)


@click.command(context_settings={"max_content_width": 100})
@click.argument("model", metavar="MODEL", required=False)
@click.option("--data", metavar="BUNDLE", help="Bundle name (coco) or directory with train/[valid]/test.txt.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (tune.json, study.journal, trials/, workers/).",
)
@click.option(
    "--budget",
    type=click.IntRange(min=1, max=MAX_BUDGET),
    default=100,
    show_default=True,
    help="Search trials.",
)
@click.option(
    "--retrain",
    type=click.IntRange(min=1, max=MAX_RETRAIN),
    default=7,
    show_default=True,
    help="Seeds for the best config.",
)
@click.option(
    "--objective", help="Metric to optimise (any registered; default fd for text, nll-iw-100 for images)."
)
@click.option(
    "--metrics",
    "metric_lists",
    multiple=True,
    help="Comma-separated metrics per trial (default: the six of `tge evaluate` for text; neg-elbo, "
    "nll-iw-100, active-units-kl, kl-per-layer for images); repeated options add up.",
)
@click.option(
    "--space",
    "space_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML/JSON with [space] / [fixed] tables that update the model's search space.",
)
@click.option(
    "--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="Fixed setting for every trial."
)
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    help="Sentences sampled and scored per trial (text; default 1000), or images saved per retraining "
    "trial (images; default 64).",
)
@click.option("--max-len", type=click.IntRange(min=1), help="Max sample tokens (text; default 50).")
@click.option(
    "--n-eval",
    type=click.IntRange(min=0),
    help="Images scored per trial: a fixed subset of valid (search) or test (retrain); "
    "default 1000, 0 = all.",
)
@click.option(
    "--seed", type=SEED, default=0, show_default=True, help="Seeds the drawn configs and trial seeds."
)
@click.option(
    "--trial-timeout", type=FiniteFloat(min=0, min_open=True), help="Seconds; a longer trial fails."
)
@click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes (default: one per GPU, else 1)."
)
@click.option(
    "--threads", type=click.IntRange(min=1), help="torch threads per worker (default: cores / workers)."
)
@click.option("--devices", help="Comma-separated devices given to workers in turn (cpu, cuda:0, ...).")
@click.option(
    "--storage",
    envvar="TGE_STORAGE",
    help="Optuna RDB URL (postgresql://...) or journal file; default: RUN/study.journal. Env: TGE_STORAGE.",
)
@click.option("--study", help="Study name in the storage (default: the --out directory's name).")
@click.option(
    "--heartbeat", type=click.IntRange(min=1), default=60, show_default=True, help="RDB heartbeat, s."
)
@click.option(
    "--lm-recipe-set", "recipe_sets", multiple=True, metavar="SECTION.KEY=VALUE", help="Reference-LM recipe."
)
@click.option(
    "--resume", "resume_dir", type=click.Path(file_okay=False, path_type=Path), help="Continue RUN_DIR."
)
@click.option("--worker", is_flag=True, help="Join an existing run as one worker (needs --storage, --study).")
@click.option("--device", help="With --worker: the device of this worker.")
@click.option(
    "--tensorboard",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write each trial's logged series as TensorBoard events to DIR/<run name>/<trial> (the "
    "tensorboard extra).",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def tune(
    model: str | None,
    data: str | None,
    out: Path | None,
    budget: int,
    retrain: int,
    objective: str,
    metric_lists: tuple[str, ...],
    space_path: Path | None,
    sets: tuple[str, ...],
    samples: int | None,
    max_len: int | None,
    n_eval: int | None,
    seed: int,
    trial_timeout: float | None,
    workers: int | None,
    threads: int | None,
    devices: str | None,
    storage: str | None,
    study: str | None,
    heartbeat: int,
    recipe_sets: tuple[str, ...],
    resume_dir: Path | None,
    worker: bool,
    device: str | None,
    tensorboard: Path | None,
    no_progress: bool,
) -> None:
    """Tune MODEL (any name of `tge models list`) with the thesis' protocol: random search with a
    fixed budget, FD as the objective (nll-iw-100 on a fixed valid subset for image models), the
    best configuration retrained with several seeds.

    \b
    tge tune lstm-lm --data coco --budget 100 --retrain 7 --out runs/lm
    tge tune --resume runs/lm                       # after Ctrl-C or a crash
    tge tune lstm-lm --data coco --storage postgresql://host/db --study lm --out runs/lm
    tge tune --worker --storage postgresql://host/db --study lm --out scratch/lm   # more machines
    tge tune ladder-vae --data mnist-binarized --budget 20 --retrain 3 --out runs/lvae
    """
    from textgen_eval.core.config import parse_assignments
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.pipelines import tune as pipeline

    if tensorboard is not None:
        from textgen_eval.pipelines.trials.common import TENSORBOARD_ENV
        from textgen_eval.training.tensorboard import require_tensorboard

        require_tensorboard()
        os.environ[TENSORBOARD_ENV] = str(tensorboard.resolve())  # the workers inherit it
    options = pipeline.TuneOptions(
        workers=workers or 0,
        threads=threads or 0,
        devices=tuple(d.strip() for d in devices.split(",") if d.strip()) if devices else (),
        heartbeat=heartbeat,
        progress=not no_progress,
    )
    if worker:
        if not storage or not study or out is None:
            raise ConfigError("--worker needs --storage URL, --study NAME and --out DIR (for trial files)")
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM re-queues like Ctrl-C
        report = pipeline.work(
            storage=storage, study=study, out=out, device=device, heartbeat=heartbeat, notify=_say
        )
        _say(f"worker done: ran {report.ran} trials ({report.complete} complete, {report.failed} failed)")
        return
    if resume_dir is not None:
        if model or data:
            raise ConfigError("--resume takes the run directory only; its settings are in tune.json")
        pipeline.resume(resume_dir, storage=storage, options=options, notify=_say)
        _say(f"done; report with `tge report {resume_dir}`")
        return
    if not model or not data or out is None:
        raise ConfigError("tge tune needs MODEL, --data and --out (or --resume RUN_DIR, or --worker)")
    spec = pipeline.build_spec(
        model,
        data,
        name=study or out.resolve().name,
        budget=budget,
        retrain=retrain,
        objective=objective,
        metrics=[m.strip() for ms in metric_lists for m in ms.split(",") if m.strip()] or None,
        space_path=space_path,
        overrides=parse_assignments(sets),
        trial_options={
            "samples": samples,
            "max_len": max_len,
            "n_eval": n_eval,
            "lm_recipe": parse_assignments(recipe_sets, option="--lm-recipe-set"),
        },
        seed=seed,
        trial_timeout=trial_timeout,
    )
    pipeline.start(spec, out, storage=storage, options=options, notify=_say)
    _say(f"done; report with `tge report {out}`")


@click.command(context_settings={"max_content_width": 100})
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "json", "latex"]),
    default="md",
    show_default=True,
    help="Table format (json: the whole summary, one object).",
)
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), help="Write PNG+PDF plots here.")
@click.option(
    "--top", type=click.IntRange(min=1), default=30, show_default=True, help="Trials in best-N plot."
)
@click.option("--storage", envvar="TGE_STORAGE", help="Storage URL when tune.json's is masked.")
@click.option(
    "--allow-mixed",
    is_flag=True,
    help="Put runs side by side whose data, sample count or metric settings differ (cells marked †).",
)
@click.option(
    "--sweep",
    "sweep",
    metavar="T,T,...",
    help="Score each run's first retrained model at these sampling temperatures (kept for later "
    "reports) and plot quality against diversity (quality-diversity.png in --plots).",
)
@click.option(
    "--no-real-data",
    is_flag=True,
    help="Leave out the column of held-out real text scored like the samples (computed once, cached).",
)
def report(
    run_dirs: tuple[Path, ...],
    fmt: str,
    plots: Path | None,
    top: int,
    storage: str | None,
    allow_mixed: bool,
    sweep: str | None,
    no_real_data: bool,
) -> None:
    """Summarise tuning runs: mean ± std of every metric over the retrained seeds (the thesis'
    Table 5.4), the objective over each run's best trials (Fig. 5.11), objective vs hyperparameter.
    """
    from textgen_eval.tuning import report as reporting

    runs = [reporting.load_run(d, storage=storage, top=top, notify=_say) for d in run_dirs]
    table = runs
    if not no_real_data:
        from textgen_eval.pipelines.trials import real_data
        from textgen_eval.tuning.runfile import read_run_file
        from textgen_eval.tuning.spec import TuneSpec

        spec = TuneSpec.from_dict(read_run_file(run_dirs[0])["spec"])
        row = real_data(spec, run_dirs[0])
        if row is not None:
            table = [*runs, reporting.real_data_column(row.to_dict(), runs[0]["objective"])]
    sweeps = _sweeps(run_dirs, runs, sweep) if sweep else {}
    if sweeps and fmt == "json":
        import json

        payload = json.loads(reporting.render(table, fmt, allow_mixed=allow_mixed))
        click.echo(json.dumps({**payload, "sweeps": sweeps}, indent=2, ensure_ascii=False))
    else:
        click.echo(reporting.render(table, fmt, allow_mixed=allow_mixed))
    if plots is not None:
        from textgen_eval.core.output import Protected
        from textgen_eval.tuning import plots as plotting

        protected = [
            Protected(path, f"a file of run {run_dir}")
            for run_dir in run_dirs
            for path in run_dir.rglob("*")
            if path.is_file()
        ]
        written = plotting.write_plots(runs, plots, top=top, protected=protected)
        written += _training_curves(run_dirs, runs, plots, protected)
        if sweeps:
            written += plotting.plot_sweeps(sweeps, plots, protected)
        _say(f"wrote {len(written)} plot files to {plots}: {', '.join(p.name for p in written)}")


def _training_curves(
    run_dirs: tuple[Path, ...], runs: list[Any], plots: Path, protected: list[Any]
) -> list[Path]:
    """``curves-{run}.png`` and ``.pdf``: the training curves of each run's retrained seeds,
    overlaid (what ``tge plot`` draws for those trial directories)."""
    from textgen_eval.pipelines.curve_plots import draw_curves
    from textgen_eval.pipelines.curves import read_curves, select_series
    from textgen_eval.tuning import report as reporting
    from textgen_eval.tuning.plots import FORMATS, _slug

    written: list[Path] = []
    for run_dir, label in zip(run_dirs, reporting.column_labels(runs)):
        trials = sorted(p for p in (run_dir / "trials").glob("retrain-*") if (p / "log.jsonl").is_file())
        if not trials:
            continue
        curves = [read_curves(t, label=f"{label} {t.name}") for t in trials]
        names = select_series(curves, None)
        if not names:
            continue
        for fmt in FORMATS:
            target = plots / f"curves-{_slug(label)}.{fmt}"
            written.append(draw_curves(curves, names, target, protected=protected, option="--plots"))
    return written


def _sweeps(run_dirs: tuple[Path, ...], runs: list[Any], temperatures: str) -> dict[str, Any]:
    """label → sweep of each run's first retrained model at ``temperatures`` (what is already kept
    under its trial directory is reused; missing temperatures are scored and kept)."""
    from textgen_eval.pipelines.sweep import parse_temperatures, save_sweep, sweeps_in, temperature_sweep
    from textgen_eval.tuning import report as reporting
    from textgen_eval.tuning.runfile import read_run_file
    from textgen_eval.tuning.spec import TuneSpec

    values = parse_temperatures(temperatures)
    out: dict[str, Any] = {}
    for run_dir, run, label in zip(run_dirs, runs, reporting.column_labels(runs)):
        spec = TuneSpec.from_dict(read_run_file(run_dir)["spec"])
        if spec.trial_kind != "text":
            continue
        trial = run_dir / "trials" / "retrain-0000"
        if not (trial / "model").is_dir() or not run["retrain"]["seeds"]:
            _say(f"{run_dir}: no retrained model yet; no sweep")
            continue
        seed = run["retrain"]["seeds"][0]
        n = int(spec.trial_options["samples"])
        kept = [s for s in sweeps_in(trial) if s.n == n and s.seed == seed]
        have = {p.temperature for s in kept for p in s.points}
        missing = [t for t in values if t not in have]
        if missing:
            _say(f"{label}: scoring temperatures {', '.join(f'{t:g}' for t in missing)}")
            swept, _ = temperature_sweep(
                trial / "model", missing, samples=n, seed=seed, max_len=int(spec.trial_options["max_len"]),
                bundle=spec.data, metrics=list(spec.metrics),
                recipe_overrides=dict(spec.trial_options.get("lm_recipe", {})),
            )  # fmt: skip
            save_sweep(trial, swept)
            kept = [s for s in sweeps_in(trial) if s.n == n and s.seed == seed]
        points = {p.temperature: p for s in kept for p in s.points if p.temperature in values}
        out[label] = {
            "model": kept[0].model,
            "n": n,
            "seed": seed,
            "points": [{"temperature": t, "metrics": points[t].metrics} for t in sorted(points)],
        }
    return out
