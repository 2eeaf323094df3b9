"""``tge train``, ``tge sample`` and ``tge models``: thin wrappers around the train pipeline."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from textgen_eval.cli.params import SEED, FiniteFloat, threads_option

if TYPE_CHECKING:  # pragma: no cover
    from textgen_eval.core.output import Protected


@click.command()
@threads_option
@click.argument("model", metavar="MODEL")
@click.option(
    "--data",
    "bundle",
    metavar="NAME|DIR",
    help="A bundle (coco, or a directory with train.txt, [valid.txt], test.txt): its train split, "
    "validated on its valid split (every 20th training line when it has none).",
)
@click.option("--train", "train_path", metavar="FILE", help="Training data (instead of --data).")
@click.option("--valid", "valid_path", metavar="FILE", help="Validation data for --train (early stopping).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML/JSON config with the model's sections and [runner].",
)
@click.option(
    "--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="Override one setting (repeatable)."
)
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run directory."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out from its checkpoint.")
@click.option("--device", help="auto, cpu, cuda or cuda:N (overrides runner.device).")
@click.option("--seed", type=SEED, help="Overrides runner.seed.")
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    metavar="N",
    help="Cap every training stage at N updates (a quick end-to-end check; recorded in run.json).",
)
@click.option(
    "--tensorboard",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also write the logged series as TensorBoard events to DIR/<--out's name> (the tensorboard extra).",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
def train(
    model: str,
    bundle: str | None,
    train_path: str | None,
    valid_path: str | None,
    config_path: Path | None,
    sets: tuple[str, ...],
    out: Path,
    resume: bool,
    device: str | None,
    seed: int | None,
    max_steps: int | None,
    tensorboard: Path | None,
    no_progress: bool,
) -> None:
    """Train MODEL (any name of `tge models list`; `lm` is `lstm-lm`) and save it to --out/model."""
    from textgen_eval.core.config import parse_assignments
    from textgen_eval.pipelines.train import train_model

    overrides = parse_assignments(sets)
    if device is not None:
        overrides["runner.device"] = device
    if seed is not None:
        overrides["runner.seed"] = str(seed)
    summary = train_model(
        model,
        out=out,
        bundle=bundle,
        train_path=train_path,
        valid_path=valid_path,
        config_path=config_path,
        overrides=overrides,
        resume=resume,
        progress=not no_progress,
        command=["tge", *sys.argv[1:]],
        max_steps=max_steps,
        tensorboard=tensorboard,
    )
    click.echo(summary.describe())


@click.command()
@threads_option
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("-n", "n", type=click.IntRange(min=1), required=True, help="Number of sentences.")
@click.option("--temperature", type=FiniteFloat(min=0.0), default=1.0, show_default=True, help="0 = greedy.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option(
    "--max-len",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Maximum tokens per sentence.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (atomically)."
)
@click.option("--binary", is_flag=True, help="Image models: one Bernoulli draw per pixel, not the means.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def sample(
    model_dir: Path,
    n: int,
    temperature: float,
    seed: int,
    max_len: int,
    output: Path | None,
    binary: bool,
    no_progress: bool,
) -> None:
    """Draw N sentences from a trained generator (a `tge train` run directory or model directory),
    or N images from an image model (--output X.npy; a PNG grid is written beside it)."""
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.core.output import check_output
    from textgen_eval.pipelines.evaluate_model import is_model_directory
    from textgen_eval.pipelines.inputs import model_inputs
    from textgen_eval.pipelines.rundir import enclosing_run, run_lock

    if not is_model_directory(model_dir):
        raise ConfigError(f"{model_dir}: not a trained model (no config.json in it or in its model/)")
    protected = model_inputs(model_dir)
    if output is not None:
        check_output(output, protected)
    run_dir = enclosing_run(output) if output is not None else None
    with run_lock(run_dir) if run_dir is not None else contextlib.nullcontext():
        _sample(model_dir, n, temperature, seed, max_len, output, binary, no_progress, protected)


def _sample(
    model_dir: Path,
    n: int,
    temperature: float,
    seed: int,
    max_len: int,
    output: Path | None,
    binary: bool,
    no_progress: bool,
    protected: list[Protected],
) -> None:
    """`tge sample`'s work, run while a run directory that receives the output is locked."""
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.core.output import write_output
    from textgen_eval.pipelines.evaluate_model import model_modality
    from textgen_eval.pipelines.train import sample_generator

    if model_modality(model_dir) == "image":
        from textgen_eval.pipelines.evaluate_image import sample_image_model

        if output is None:
            raise ConfigError("image samples need --output FILE.npy (a PNG grid is written beside it)")
        files = sample_image_model(model_dir, n, seed=seed, output=output, binary=binary, protected=protected)
        click.echo(f"wrote {n} images to {files['npy']} and {files['png']}", err=True)
        return
    if binary:
        raise ConfigError("--binary applies to image models")
    lines = sample_generator(
        model_dir, n, temperature=temperature, seed=seed, max_len=max_len, progress=not no_progress
    )
    text = "".join(line + "\n" for line in lines)
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text, protected)
    click.echo(f"wrote {n} samples to {output}", err=True)


@click.group()
def models() -> None:
    """Inspect the registered models (text generators and image models)."""


@models.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_models(fmt: str) -> None:
    """List every model with its modality, description, paper and origin (built-in or plugin)."""
    import json

    from textgen_eval.core.models import describe_models

    rows = describe_models()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from textgen_eval.cli.format import render_table

    table = [(r["name"], r["modality"], r["origin"], r["description"], r["paper"]) for r in rows]
    click.echo(render_table(table, ("model", "modality", "from", "description", "paper")), nl=False)
