"""``tge bundle``: a thin wrapper around :mod:`textgen_eval.data.build_bundle`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("bundle", context_settings={"max_content_width": 100})
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--train", "train", multiple=True, metavar="SRC", help="Training source (repeatable).")
@click.option("--valid", "valid", multiple=True, metavar="SRC", help="Validation source (repeatable).")
@click.option("--test", "test", multiple=True, metavar="SRC", help="Test source (repeatable).")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME",
    help="Column(s) of JSON-lines/CSV/TSV/Hugging Face sources, taken in this order per row.",
)
@click.option("--dedupe/--no-dedupe", default=True, show_default=True, help="Keep first occurrences only.")
@click.option("--disjoint", is_flag=True, help="Remove from train/valid the sentences a later split holds.")
def bundle(
    out: Path,
    train: tuple[str, ...],
    valid: tuple[str, ...],
    test: tuple[str, ...],
    fields: tuple[str, ...],
    dedupe: bool,
    disjoint: bool,
) -> None:
    """Build a reference bundle OUT (train.txt, [valid.txt], test.txt, SOURCE.json) from files
    (.txt, .jsonl, .csv, .tsv) or Hugging Face datasets (hf:NAME_OR_PATH?split=S), for --data and
    --bundle of every command. Each row's --field columns are taken in order, stripped, empty ones
    skipped, duplicates within a split dropped; sentences shared between splits are counted.

    \b
    tge bundle data/snli --field premise --field hypothesis --disjoint \\
        --train 'hf:stanfordnlp/snli?split=train' --valid 'hf:stanfordnlp/snli?split=validation' \\
        --test 'hf:stanfordnlp/snli?split=test'
    """
    from textgen_eval.data.build_bundle import build_bundle

    report = build_bundle(
        out, {"train": train, "valid": valid, "test": test}, fields=fields, dedupe=dedupe, disjoint=disjoint
    )
    for split, r in report.splits.items():
        extra = f", {r.removed_overlap} removed (in a later split)" if r.removed_overlap else ""
        click.echo(
            f"tge: {split}: {r.kept} sentences from {r.rows} rows ({r.duplicates} duplicates, "
            f"{r.empty} empty{extra}); digest {r.digest}",
            err=True,
        )
    shared = {k: v for k, v in report.overlap.items() if v}
    if shared and not disjoint:
        listed = ", ".join(f"{k.replace('&', ' and ')}: {v}" for k, v in shared.items())
        click.echo(
            f"tge: warning: sentences shared between splits ({listed}); --disjoint removes them", err=True
        )
    click.echo(f"tge: wrote {out} (use it as --data {out} or --bundle {out})", err=True)
