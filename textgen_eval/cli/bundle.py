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
@click.option(
    "--oracle",
    type=click.Choice(["seqgan", "random"]),
    default=None,
    help="Draw a synthetic-oracle bundle instead: SeqGAN's published oracle or a fresh random one.",
)
@click.option(
    "--length",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="--oracle: tokens per sequence.",
)
@click.option(
    "--n",
    "n",
    type=click.IntRange(2),
    default=10_000,
    show_default=True,
    help="--oracle: sequences per split.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="--oracle: seeds S, S+1, S+2 draw train, valid, test (and S the random oracle).",
)
def bundle(
    out: Path,
    train: tuple[str, ...],
    valid: tuple[str, ...],
    test: tuple[str, ...],
    fields: tuple[str, ...],
    dedupe: bool,
    disjoint: bool,
    oracle: str | None,
    length: int,
    n: int,
    seed: int,
) -> None:
    """Build a reference bundle OUT (train.txt, [valid.txt], test.txt, SOURCE.json) from files
    (.txt, .jsonl, .csv, .tsv) or Hugging Face datasets (hf:NAME_OR_PATH?split=S), for --data and
    --bundle of every command. Each row's --field columns are taken in order, stripped, empty ones
    skipped, duplicates within a split dropped; sentences shared between splits are counted.

    \b
    tge bundle data/snli --field premise --field hypothesis --disjoint \\
        --train 'hf:stanfordnlp/snli?split=train' --valid 'hf:stanfordnlp/snli?split=validation' \\
        --test 'hf:stanfordnlp/snli?split=test'

    With --oracle, OUT is a synthetic-oracle bundle (SeqGAN's benchmark, docs/metrics.md): N
    sequences of exactly --length token ids per split, drawn from the oracle, whose parameters,
    digest and entropy rate go into OUT as well (nll-oracle reads them):

    \b
    tge bundle runs/oracle40 --oracle seqgan --length 40
    tge bundle runs/random-oracle --oracle random --seed 7
    """
    import sys

    if oracle is not None:
        from textgen_eval.core.errors import ConfigError
        from textgen_eval.data.oracle_bundle import build_oracle_bundle

        if train or valid or test or fields:
            raise ConfigError(
                "--oracle draws every split from the oracle; drop --train, --valid, --test and --field"
            )
        made = build_oracle_bundle(out, oracle=oracle, length=length, n=n, seed=seed, command=sys.argv)
        for split, count in made.counts.items():
            click.echo(
                f"tge: {split}: {count} sequences of {length} token ids; digest {made.digests[split]}",
                err=True,
            )
        click.echo(
            f"tge: oracle {made.oracle.origin} (digest {made.oracle.digest}), entropy rate "
            f"{made.oracle.entropy_rate:.4f} nats/token on the test split",
            err=True,
        )
        click.echo(f"tge: wrote {out} (use it as --data {out} or --bundle {out})", err=True)
        return
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
