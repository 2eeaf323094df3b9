"""``tge``: the command-line entry point.

Exit codes: 0 success; 2 user error (bad file, option, metric name, ...) with a message naming
what was wrong and what was expected; 1 internal error (a bug: rerun with ``--debug`` for the
traceback). Heavy libraries are imported inside commands so ``tge --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from textgen_eval import __version__
from textgen_eval.cli.params import SEED, FiniteFloat, threads_option
from textgen_eval.core.faults import ENVIRONMENT_ERRNOS, is_allocation_failure

PRESETS = ("full", "texygen-fast", "textgan")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(
    __version__, "--version", prog_name="tge", message="%(prog)s (textgen_eval) %(version)s"
)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
def cli(debug: bool) -> None:
    """textgen_eval: honest, fast evaluation of text generators."""


@cli.command()
@click.argument("samples", metavar="SAMPLES")
@click.option(
    "--reference",
    "-r",
    metavar="PATH|NAME",
    help="Reference sentences: a file, a bundled corpus (coco, coco:train) or hf:NAME. "
    "Default: the bundled coco test captions.",
)
@click.option(
    "--metrics",
    "-m",
    "metric_lists",
    metavar="a,b,c",
    multiple=True,
    help="Comma-separated metric names (see `tge metrics list`); repeated options add up. "
    "Default: bleu-4,self-bleu-4,unique-ngrams-4,fd,lm-score,reverse-lm-score.",
)
@click.option(
    "--preset",
    type=click.Choice(PRESETS),
    default="full",
    show_default=True,
    help="Sample/reference conventions of the literature (docs/metrics.md).",
)
@click.option(
    "--tokenize",
    "-t",
    default="whitespace",
    show_default=True,
    metavar="T",
    help="whitespace, char, 13a, spm:PATH.model or spm:VOCAB_SIZE (trained on the references).",
)
@click.option("--lowercase", is_flag=True, help="Lowercase samples and references before tokenizing.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the result to FILE (atomically) instead of stdout.",
)
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE:ATTR",
    help="Load a metric class that is not installed as a plugin (repeatable).",
)
@click.option(
    "--skip-empty", is_flag=True, help="Drop empty samples instead of scoring them as empty sentences."
)
@click.option(
    "--field",
    metavar="NAME",
    help="JSON-lines field / CSV column of the samples (default: 'text' or the only one).",
)
@click.option("--reference-field", metavar="NAME", help="JSON-lines field / CSV column of the references.")
@click.option(
    "--bundle",
    metavar="NAME|DIR",
    help="Reference bundle (train.txt, [valid.txt], test.txt) for the reference LM, FD and reverse LM; "
    "its test split is the default --reference. Default: coco, or for a model directory the bundle "
    "it was trained on.",
)
@click.option(
    "--samples",
    "n_samples",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    metavar="N",
    help="With a model directory: sentences to draw (seeded by --seed).",
)
@click.option(
    "--max-len",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    metavar="N",
    help="With a model directory: maximum tokens per drawn sentence.",
)
@click.option(
    "--temperature",
    type=FiniteFloat(min=0.0),
    default=1.0,
    show_default=True,
    help="With a model directory: sampling temperature (0 = greedy).",
)
@click.option(
    "--temperatures",
    metavar="T,T,...",
    help="With a model directory: score the samples at each temperature (a quality-diversity sweep, "
    "kept in RUN/sweeps/ for `tge report --sweep`).",
)
@click.option(
    "--fast",
    is_flag=True,
    help="Skip the reverse LM score (it trains an LM on the samples) and FD's standard error "
    "(--fd-se-resamples brings it back).",
)
@click.option("--lm", metavar="SPEC", help="LM for lm-score: reference (default) or hf:NAME_OR_PATH.")
@click.option(
    "--featurizer",
    metavar="SPEC",
    help="Embeddings for fd, knn-*, mauve: encoder (default; NLI-trained), lm (the reference LM), "
    "lsa, hf:NAME_OR_PATH or npy:SAMPLES.npy,REFERENCES.npy.",
)
@click.option(
    "--fd-n", type=click.IntRange(min=2), metavar="N", help="Subsample both sets to N sentences for fd."
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the reverse LM and of --fd-n.")
@click.option(
    "--lm-recipe-set",
    "recipe_sets",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Change the reference/reverse LM recipe (e.g. model.hidden_size=512); signatures record it.",
)
@click.option(
    "--n-eval",
    type=click.IntRange(min=1),
    metavar="N",
    help="With an image model: score a seeded subset of N test images (--seed); default all.",
)
@click.option(
    "--ci",
    type=FiniteFloat(min=0.0, max=1.0, min_open=True, max_open=True),
    metavar="LEVEL",
    help="Add a bootstrap confidence interval at LEVEL (e.g. 0.95) to every score that is a mean over "
    "samples, and to FD (seeded by --seed).",
)
@click.option(
    "--ci-resamples", type=click.IntRange(min=2), default=1000, show_default=True, help="Bootstrap resamples."
)
@click.option("--knn-k", type=click.IntRange(min=1), metavar="K", help="k of knn-precision/knn-recall (3).")
@click.option(
    "--fd-se-resamples",
    type=click.IntRange(min=0),
    metavar="B",
    help="Bootstrap resamples behind the standard error in FD's details (50, 0 with --fast; 0 = off).",
)
@click.option(
    "--mauve-clusters", type=click.IntRange(min=2), metavar="K", help="k-means clusters of mauve (n/10)."
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@threads_option
def evaluate(
    samples: str,
    reference: str | None,
    metric_lists: tuple[str, ...],
    preset: str,
    tokenize: str,
    lowercase: bool,
    fmt: str,
    output: Path | None,
    plugins: tuple[str, ...],
    skip_empty: bool,
    field: str | None,
    reference_field: str | None,
    bundle: str | None,
    n_samples: int,
    max_len: int,
    temperature: float,
    temperatures: str | None,
    fast: bool,
    lm: str | None,
    featurizer: str | None,
    fd_n: int | None,
    seed: int,
    recipe_sets: tuple[str, ...],
    n_eval: int | None,
    ci: float | None,
    ci_resamples: int,
    knn_k: int | None,
    fd_se_resamples: int | None,
    mauve_clusters: int | None,
    no_progress: bool,
) -> None:
    """Score SAMPLES (one sentence per line; .txt, .jsonl, .csv, .tsv or hf:NAME), or a trained
    model: given a `tge train` run or model directory, draw --samples sentences with --seed from
    it, score them, and add the model's own likelihood of the bundle's test split (model-nll;
    nll-test and nll-train on a token-id bundle) — with the default metrics, or when named in -m.

    Default metrics: bleu-4, self-bleu-4, unique-ngrams-4, fd, lm-score, reverse-lm-score.
    The first run trains the reference LM on the bundle and caches it (TGE_CACHE_DIR).

    An image model (vae, ladder-vae) is scored on its bundle's test split with neg-elbo,
    nll-iw-1000, active-units-kl, active-units-cov and kl-per-layer, and --samples images
    (default 64) are saved next to it as .npy and a PNG grid.
    """
    from textgen_eval.cli.format import RESULT_FORMATS
    from textgen_eval.core.config import parse_assignments
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.core.output import check_output, write_output
    from textgen_eval.pipelines.evaluate import evaluate as run_evaluate
    from textgen_eval.pipelines.evaluate_model import (
        evaluate_model,
        is_model_directory,
        model_modality,
        trained_bundle,
    )
    from textgen_eval.pipelines.rundir import enclosing_run, run_lock

    protected = _evaluate_inputs(samples, reference, bundle, featurizer)
    if output is not None:
        check_output(output, protected)
    told: list[str] = []

    def tell(note: str) -> None:  # a note is printed when it is taken: before the work it announces
        told.append(note)
        click.echo(f"note: {note}", err=True)

    options: dict[str, Any] = dict(
        metrics=",".join(metric_lists) if metric_lists else None,
        preset=preset,
        tokenize=tokenize,
        lowercase=lowercase,
        reference_field=reference_field,
        plugins=plugins,
        lm=lm,
        featurizer=featurizer,
        fd_n=fd_n,
        fast=fast,
        recipe_overrides=parse_assignments(recipe_sets, option="--lm-recipe-set"),
        ci=ci,
        ci_resamples=ci_resamples,
        knn_k=knn_k,
        mauve_clusters=mauve_clusters,
        fd_se_resamples=fd_se_resamples,
        notify=tell,
    )
    if is_model_directory(samples) and model_modality(samples) == "image":
        from textgen_eval.pipelines.evaluate_image import DEFAULT_IMAGE_SAMPLES, evaluate_image_model

        _refuse_text_options(
            fast=fast,
            lm=lm,
            featurizer=featurizer,
            fd_n=fd_n,
            reference=reference,
            recipes=recipe_sets,
            ci=ci,
            knn_k=knn_k,
            mauve_clusters=mauve_clusters,
            fd_se_resamples=fd_se_resamples,
        )
        source = click.get_current_context().get_parameter_source("n_samples")
        run_dir = enclosing_run(Path(samples) / "samples.npy")  # where the image samples go
        with run_lock(run_dir) if run_dir is not None else contextlib.nullcontext():  # samples go beside it
            result = evaluate_image_model(
                samples,
                metrics=",".join(metric_lists) if metric_lists else None,
                bundle=bundle,
                n_eval=n_eval,
                seed=seed,
                samples=DEFAULT_IMAGE_SAMPLES if source == click.core.ParameterSource.DEFAULT else n_samples,
                trained_bundle=trained_bundle(samples),
            )
    elif is_model_directory(samples) and temperatures is not None:
        _sweep(
            samples,
            temperatures,
            n_samples,
            seed,
            max_len,
            bundle,
            reference,
            options,
            fmt,
            output,
            protected,
        )
        return
    elif is_model_directory(samples):
        if n_eval is not None:
            raise ConfigError("--n-eval applies to image models; text models draw --samples sentences")
        if field is not None or skip_empty:
            raise ConfigError("--field and --skip-empty apply to sample files, not to a model directory")
        result = evaluate_model(
            samples,
            samples=n_samples,
            seed=seed,
            max_len=max_len,
            temperature=temperature,
            bundle=bundle,
            progress=not no_progress,
            references=reference,
            **options,
        )
    else:
        if n_eval is not None:
            raise ConfigError("--n-eval applies to image models (a `tge train vae` run directory)")
        result = run_evaluate(
            samples,
            reference,
            field=field,
            skip_empty=skip_empty,
            bundle=bundle or "coco",
            seed=seed,
            progress=not no_progress,
            **options,
        )
    for note in result.notes:
        if note not in told:  # the others were printed when they were taken
            click.echo(f"note: {note}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning.message}", err=True)
    text = RESULT_FORMATS[fmt](result)
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text, protected)
    click.echo(f"wrote {output}", err=True)


def _sweep(
    path: str,
    temperatures: str,
    n_samples: int,
    seed: int,
    max_len: int,
    bundle: str | None,
    reference: str | None,
    options: dict[str, Any],
    fmt: str,
    output: Path | None,
    protected: list[Any],
) -> None:
    """``tge evaluate MODEL_DIR --temperatures ...``: one row per temperature."""
    import json

    from textgen_eval.cli.format import format_value, render_table
    from textgen_eval.core.output import write_output
    from textgen_eval.pipelines.rundir import enclosing_run, run_lock
    from textgen_eval.pipelines.sweep import parse_temperatures, save_sweep, temperature_sweep

    values = parse_temperatures(temperatures)
    run_dir = Path(path) if (Path(path) / "run.json").is_file() else enclosing_run(Path(path) / "x")
    with run_lock(run_dir) if run_dir is not None else contextlib.nullcontext():
        sweep, results = temperature_sweep(
            path, values, samples=n_samples, seed=seed, max_len=max_len, bundle=bundle, references=reference,
            **options,
        )  # fmt: skip
        if run_dir is not None:
            kept = save_sweep(run_dir, sweep)
            click.echo(f"tge: sweep kept in {kept}", err=True)
    for warning in {w.message for r in results for w in r.warnings}:
        click.echo(f"warning: {warning}", err=True)
    names = list(sweep.points[0].metrics)
    if fmt == "json":
        text = (
            json.dumps({"sweep": sweep.to_dict(), "results": [r.to_dict() for r in results]}, indent=2) + "\n"
        )
    else:
        rows = [
            (f"{p.temperature:g}", *(format_value(p.metrics[n]["value"]) for n in names))
            for p in sweep.points
        ]
        if fmt == "csv":
            body = [
                f"{p.temperature!r}," + ",".join(repr(p.metrics[n]["value"]) for n in names)
                for p in sweep.points
            ]
            text = "temperature," + ",".join(names) + "\n" + "".join(line + "\n" for line in body)
        else:
            text = render_table(rows, ("temperature", *names))
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text, protected)
    click.echo(f"wrote {output}", err=True)


def _refuse_text_options(**given: object) -> None:
    from textgen_eval.core.errors import ConfigError

    used = [name for name, value in given.items() if value]
    if used:
        flags = ", ".join("--" + ("lm-recipe-set" if n == "recipes" else n.replace("_", "-")) for n in used)
        raise ConfigError(f"{flags}: text-metric options; an image model is scored with image metrics")


def _evaluate_inputs(
    samples: str, reference: str | None, bundle: str | None, featurizer: str | None
) -> list[Any]:
    """Everything `tge evaluate` reads: its --output may overwrite none of it."""
    from textgen_eval.pipelines import inputs
    from textgen_eval.pipelines.evaluate_model import is_model_directory, trained_bundle

    protected = inputs.file_inputs([(reference, "the reference file")])
    protected += inputs.featurizer_inputs(featurizer)
    if is_model_directory(samples):
        protected += inputs.model_inputs(samples)
        protected += inputs.bundle_inputs(bundle or trained_bundle(samples))
    else:
        protected += inputs.file_inputs([(samples, "the samples file")])
        protected += inputs.bundle_inputs(bundle or "coco")
    return protected


@cli.group()
def metrics() -> None:
    """Inspect the available metrics."""


@metrics.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--plugin", "plugins", multiple=True, metavar="MODULE:ATTR", help="Also load this metric class."
)
def list_metrics(fmt: str, plugins: tuple[str, ...]) -> None:
    """List every metric with its direction, origin and description."""
    from textgen_eval.cli.format import METRICS_FORMATS
    from textgen_eval.metrics.registry import describe_metrics, load_plugin

    for spec in plugins:
        load_plugin(spec)
    click.echo(METRICS_FORMATS[fmt](describe_metrics()), nl=False)


from textgen_eval.cli.bundle import bundle  # noqa: E402
from textgen_eval.cli.compare import compare  # noqa: E402
from textgen_eval.cli.meta_eval import meta_eval  # noqa: E402
from textgen_eval.cli.plot import plot  # noqa: E402
from textgen_eval.cli.train import models, sample, train  # noqa: E402  (commands register on import)
from textgen_eval.cli.tune import report, tune  # noqa: E402

cli.add_command(train)
cli.add_command(models)
cli.add_command(sample)
cli.add_command(tune)
cli.add_command(report)
cli.add_command(meta_eval)
cli.add_command(compare)
cli.add_command(bundle)
cli.add_command(plot)


def main(argv: list[str] | None = None) -> int:
    """Run ``tge`` and return its exit code (also used by the console script).

    User errors exit 2 with the message alone; ``--debug`` adds the traceback but keeps the code.
    """
    from textgen_eval.core.errors import TextgenEvalError

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = cli.main(args=args, prog_name="tge", standalone_mode=False)
        sys.stdout.flush()
    except click.exceptions.Abort:
        click.echo("tge: interrupted", err=True)
        return 130
    except click.ClickException as exc:  # usage errors: unknown option, bad choice, ...
        exc.show()
        return 2
    except TextgenEvalError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"tge: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("tge: interrupted", err=True)
        return 130
    except OSError as exc:
        if debug:
            traceback.print_exc()
        return _environment_error(exc)
    except MemoryError:
        if debug:
            traceback.print_exc()
        return _out_of_memory("Python could not allocate memory")
    except Exception as exc:
        if debug:
            raise
        if is_allocation_failure(exc):
            return _out_of_memory(str(exc).strip().splitlines()[-1])
        click.echo(
            f"tge: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in textgen_eval; rerun with --debug for the traceback and report it.",
            err=True,
        )
        return 1
    return code if isinstance(code, int) else 0


def _out_of_memory(detail: str) -> int:
    """Exit 2 with what happened and what to change (issue 34, item 2)."""
    click.echo(
        f"tge: error: out of memory ({detail}): the settings ask for more memory than this machine has; "
        "lower the size that drives it (a per-batch count such as gan.rollouts or vae.iw_samples, a batch "
        "size, a model size); if this command started a run directory, it holds a checkpoint of these "
        "settings: start again in a new --out, or delete it",
        err=True,
    )
    return 2


def _environment_error(exc: OSError) -> int:
    """A closed pipe ends quietly (``tge ... | head``); a full disk is exit 2 naming the file."""
    if exc.errno == errno.EPIPE:
        with contextlib.suppress(OSError):  # nothing more can reach the reader; no flush error at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    if exc.errno in ENVIRONMENT_ERRNOS:
        where = exc.filename or "standard output"
        click.echo(f"tge: error: cannot write {where}: {exc.strerror}", err=True)
        return 2
    click.echo(
        f"tge: internal error: {type(exc).__name__}: {exc}\n"
        "This is a bug in textgen_eval; rerun with --debug for the traceback and report it.",
        err=True,
    )
    return 1


def entry_point() -> None:
    """The console script and ``python -m textgen_eval`` (tuning workers too)."""
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if command in TRAINS:
        from textgen_eval.core.threads import configure_openmp

        configure_openmp()  # before torch is first imported: OpenMP reads its environment once
    sys.exit(main())


#: Commands that run torch models (they get the OpenMP choice; the others start at once).
TRAINS = frozenset({"train", "tune", "evaluate", "sample", "meta-eval", "compare"})
