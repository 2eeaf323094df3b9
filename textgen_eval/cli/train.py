"""``tge train`` and ``tge sample``: thin wrappers around :mod:`textgen_eval.pipelines.train`."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def train() -> None:
    """Train a generator (see `tge train lm --help`)."""


@train.command("lm")
@click.option(
    "--train", "train_path", required=True, metavar="FILE", help="Training sentences, one per line."
)
@click.option(
    "--valid", "valid_path", metavar="FILE", help="Validation sentences (early stopping, LR plateaus)."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML/JSON config with [model], [train] and [runner] sections.",
)
@click.option(
    "--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE", help="Override one setting (repeatable)."
)
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run directory."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out from its checkpoint.")
@click.option("--device", help="auto, cpu, cuda or cuda:N (overrides runner.device).")
@click.option("--seed", type=int, help="Overrides runner.seed.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def train_lm(
    train_path: str,
    valid_path: str | None,
    config_path: Path | None,
    sets: tuple[str, ...],
    out: Path,
    resume: bool,
    device: str | None,
    seed: int | None,
    no_progress: bool,
) -> None:
    """Train the LSTM language model (recurrent dropout: model.recurrent_dropout, ..._kind, ..._mask)."""
    from textgen_eval.core.config import parse_assignments
    from textgen_eval.pipelines.train import train_generator

    overrides = parse_assignments(sets)
    if device is not None:
        overrides["runner.device"] = device
    if seed is not None:
        overrides["runner.seed"] = str(seed)
    summary = train_generator(
        "lstm-lm",
        train_path,
        valid_path,
        out=out,
        config_path=config_path,
        overrides=overrides,
        resume=resume,
        progress=not no_progress,
        command=["tge", *sys.argv[1:]],
    )
    click.echo(summary.describe())


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("-n", "n", type=click.IntRange(min=1), required=True, help="Number of sentences.")
@click.option(
    "--temperature", type=click.FloatRange(min=0.0), default=1.0, show_default=True, help="0 = greedy."
)
@click.option("--seed", type=int, default=0, show_default=True)
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
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def sample(
    model_dir: Path,
    n: int,
    temperature: float,
    seed: int,
    max_len: int,
    output: Path | None,
    no_progress: bool,
) -> None:
    """Draw N sentences from a trained generator (a `tge train` run directory or model directory)."""
    from textgen_eval.core.errors import ConfigError
    from textgen_eval.core.files import atomic_write_text
    from textgen_eval.pipelines.train import sample_generator

    if output is not None and output.exists() and output.is_dir():
        raise ConfigError(f"--output {output} is a directory")
    lines = sample_generator(
        model_dir, n, temperature=temperature, seed=seed, max_len=max_len, progress=not no_progress
    )
    text = "".join(line + "\n" for line in lines)
    if output is None:
        click.echo(text, nl=False)
        return
    atomic_write_text(output, text)
    click.echo(f"wrote {n} samples to {output}", err=True)
