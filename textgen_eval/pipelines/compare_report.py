"""The report of a ``tge compare`` directory: Table 5.4 (Markdown, LaTeX, CSV, JSON) and the plots
of Fig. 5.11, written next to the runs with the guarded writer (no run file is ever overwritten)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textgen_eval.core.output import Protected, write_output
from textgen_eval.pipelines.compare import COMPARE_FILE, CompareSpec, started_runs
from textgen_eval.tuning import report as reporting

Notify = Callable[[str], None]


def count_noun(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1 ("1 seed", "3 seeds")."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _protocol(spec: CompareSpec) -> str:
    first = spec.specs[0]
    options = dict(first.trial_options)
    arrow = "↓" if first.direction == "lower" else "↑"
    return (
        f"Data `{spec.data}` (digest {first.data_digest[:12]}); preset `{spec.preset}`; seed {spec.seed}. "
        f"Every model: {count_noun(first.budget, 'random-search trial')} with `{first.objective}` {arrow} "
        f"as the objective, its best configuration retrained with {count_noun(first.retrain, 'seed')}; "
        f"{options.get('samples')} samples per trial."
    )


def beyond_the_thesis(models: Sequence[str]) -> list[str]:
    """The models whose registered paper is marked beyond the thesis (the peers' models)."""
    from textgen_eval.core.models import model_class

    return [m for m in models if "beyond the thesis" in getattr(model_class(m), "paper", "")]


def _compute_rows(runs: Sequence[reporting.Run]) -> list[str]:
    lines = ["| model | search trials (complete / failed) | search time, trial sum | best search trial |"]
    lines.append("|---|---:|---:|---|")
    for run in reporting.models_only(runs):
        walls = [r["wall"] for r in run["search"] if r.get("wall") is not None]
        best = run["best"]
        shown = (
            "–"
            if best is None
            else f"{run['objective']['name']} {best['objective']:.4g}, seed {best['seed']}"
        )
        lines.append(
            f"| {run['model']} | {run['trials']['complete']} / {run['trials']['failed']} | "
            f"{sum(walls) / 60:.1f} min | {shown} |"
        )
    return lines


def render_markdown(
    spec: CompareSpec, runs: Sequence[reporting.Run], missing: Sequence[str], mixed: reporting.Mixed
) -> str:
    lines = [
        f"# Comparison `{spec.name}`",
        "",
        _protocol(spec),
        "",
        reporting.render_markdown(runs, mixed),
        "",
    ]
    beyond = beyond_the_thesis(spec.models)
    if beyond:
        names = ", ".join(f"`{m}`" for m in beyond)
        what = "the peer toolkits' models and the transformer LM, same protocol"
        lines += [f"Beyond the thesis' Table 5.4 ({what}): {names}.", ""]
    if missing:
        lines += [f"Not finished (not in the table): {', '.join(missing)}.", ""]
    lines += ["## Search", "", *_compute_rows(runs), ""]
    lines += ["## Best configuration per model", ""]
    for run in runs:
        config = (
            "–" if run["best"] is None else ", ".join(f"`{k}={v}`" for k, v in run["best"]["config"].items())
        )
        lines.append(f"- **{run['model']}**: {config}")
    return "\n".join(lines) + "\n"


def write_report(
    out: Path,
    spec: CompareSpec,
    *,
    storage: str | None,
    top: int = 30,
    plots: bool = True,
    real: bool = True,
    notify: Notify | None = None,
) -> list[Path]:
    """Load every started run and write ``report.{md,tex,csv,json}`` (and ``plots/``) into ``out``."""
    dirs = started_runs(out, spec)
    runs = [reporting.load_run(d, storage=storage, top=top, notify=notify) for d in dirs]
    complete = [r for r in runs if r["retrain"]["metrics"]]
    missing = [m for m in spec.models if m not in {r["model"] for r in complete}]
    if complete and real:
        from textgen_eval.pipelines.trials import real_data

        row = real_data(spec.specs[0], out)  # the same data, metrics and n for every model
        if row is not None:
            complete = [*complete, reporting.real_data_column(row.to_dict(), complete[0]["objective"])]
    protected = [Protected(out / COMPARE_FILE, "the comparison file")]
    protected += [Protected(out / name, "the real-data row") for name in ("real-data.json", "real-data.txt")]
    protected += [Protected(p, f"a file of run {d}") for d in dirs for p in d.rglob("*") if p.is_file()]
    # one protocol for every model: anything but the seeds differing is a bug, but say it, not hide it
    mixed = reporting.check_comparable(complete, allow_mixed=True)
    payload: dict[str, Any] = {
        "compare": spec.to_dict(),
        "missing": missing,
        "runs": complete,
        "not_comparable": mixed,
    }
    texts = {
        "report.md": render_markdown(spec, complete, missing, mixed),
        "report.tex": reporting.render_latex(complete, mixed) + "\n",
        "report.csv": reporting.render_csv(complete) + "\n",
        "report.json": json.dumps(payload, indent=2, ensure_ascii=False) + "\n",
    }
    written = []
    for name, text in texts.items():
        write_output(out / name, text, protected)
        written.append(out / name)
    if plots and complete:
        from textgen_eval.tuning.plots import write_plots

        files = write_plots(reporting.models_only(complete), out / "plots", top=top, protected=protected)
        written.append(out / "plots")
        if notify is not None:
            notify(f"{len(files)} plot files in {out / 'plots'}")
    return written
