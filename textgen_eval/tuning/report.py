"""Summaries of tuning runs and the thesis' results table (Semeniuta 2019, Table 5.4).

:func:`load_run` reads a run's studies into a plain dict (the ``runs[i]`` object of
``tge report --format json``); :func:`render` formats a list of them as Markdown, CSV, JSON or
LaTeX. Cells are the mean ± sample standard deviation (``ddof = 1``) of each metric over the
retrained seeds; a run with one seed has no standard deviation.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.signature import SEED_FIELDS, common_signature, parse_signature
from textgen_eval.core.space import SearchSpace
from textgen_eval.tuning import queue
from textgen_eval.tuning.directions import sign
from textgen_eval.tuning.runfile import read_run_file, run_storage
from textgen_eval.tuning.storage import open_storage

Run = dict[str, Any]


def _trials(storage: Any, name: str) -> list[Any]:
    import optuna

    try:
        return list(optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False))
    except KeyError:
        return []


def _is_complete(trial: Any) -> bool:
    from optuna.trial import TrialState

    return bool(trial.state == TrialState.COMPLETE)


def _params(trial: Any) -> dict[str, Any]:
    return dict(trial.system_attrs.get("fixed_params", trial.params))


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (``None`` for fewer than two values)."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else None


def summarize(
    spec: Mapping[str, Any], run_dir: str, search: Sequence[Any], retrain: Sequence[Any], *, top: int = 30
) -> Run:
    """The summary of one run from its trials (pure: no storage access)."""
    direction = spec["direction"]
    s = sign(direction)
    budget, k = int(spec["budget"]), int(spec["retrain"])
    done = sorted((t for t in search if _is_complete(t)), key=lambda t: (s * t.value, t.number))
    best = done[0] if done else None
    rows = []
    failures = []
    for view in queue.slot_views(search, budget):
        final = view.final
        for trial in view.trials:
            status = trial.user_attrs.get(queue.STATUS, trial.state.name.lower())
            if trial is final or trial.state.name in ("RUNNING", "WAITING"):
                rows.append(
                    {
                        "number": trial.number,
                        "slot": view.slot,
                        "status": status,
                        "params": _params(trial),
                        "objective": trial.value if _is_complete(trial) else None,
                        "seed": trial.user_attrs.get(queue.SEED),
                        "wall": trial.user_attrs.get("tge:wall"),
                        "overhead": trial.user_attrs.get("tge:overhead"),
                    }
                )
            if status in queue.FINAL_FAILURES:
                failures.append(
                    {
                        "trial": trial.number,
                        "slot": view.slot,
                        "status": status,
                        "error": trial.user_attrs.get(queue.ERROR),
                    }
                )
    retrained = sorted((t for t in retrain if _is_complete(t)), key=lambda t: t.user_attrs.get(queue.SLOT, 0))
    warnings = gather_warnings([t for t in (*search, *retrain) if _is_complete(t)])
    metrics: dict[str, dict[str, Any]] = {}
    for trial in retrained:
        for name, score in trial.user_attrs.get("tge:metrics", {}).items():
            entry = metrics.setdefault(
                name, {"values": [], "direction": score["direction"], "signatures": []}
            )
            entry["values"].append(score["value"])
            entry["signatures"].append(score["signature"])
    for entry in metrics.values():
        entry["mean"], entry["std"] = mean_std(entry["values"])
        # one signature for the seeds: what differs between them (the seed) is written key:*
        entry["signature"], entry["varies"] = common_signature(entry.pop("signatures"))
    order = list(spec.get("metrics", [])) + sorted(set(metrics) - set(spec.get("metrics", [])))
    return {
        "generator": spec.get("model", spec.get("generator")),
        "model": spec.get("model", spec.get("generator")),
        "run_dir": run_dir,
        "name": spec["name"],
        "budget": budget,
        "objective": {"name": spec["objective"], "direction": direction},
        "trials": queue.count(search, budget).to_dict(),
        "best": None
        if best is None
        else {
            "config": _params(best),
            "objective": best.value,
            "trial": best.number,
            "seed": best.user_attrs.get(queue.SEED),
            "metrics": {n: s["value"] for n, s in best.user_attrs.get("tge:metrics", {}).items()},
        },
        "best30": [t.value for t in done[:top]],
        "retrain": {
            "budget": k,
            "trials": queue.count(retrain, k).to_dict(),
            "seeds": [t.user_attrs.get(queue.SEED) for t in retrained],
            "metrics": {name: metrics[name] for name in order if name in metrics},
        },
        "search": rows,
        "failures": failures,
        "warnings": warnings,
        "space": spec["space"],
    }


#: The metrics each sanity warning bears on (:mod:`textgen_eval.pipelines.sanity`): a warning on
#: the run's objective is flagged above all, since it chose the retrained configuration.
WARNING_METRICS: dict[str, tuple[str, ...]] = {
    "fd-n-below-d": ("fd", "fd-inf"),
    "oov": ("lm-score", "reverse-lm-score", "fd", "fd-inf"),
    "samples-in-references": ("bleu-*", "fd", "fd-inf"),
    "samples-in-training": ("copy-rate", "train-bleu-*"),
    "split-overlap": ("reverse-lm-score", "bleu-*", "fd"),
}


def gather_warnings(trials: Sequence[Any]) -> list[dict[str, Any]]:
    """The sanity warnings recorded by ``trials`` (``tge:warnings``), one entry per code: the
    first trial's message, how many trials gave it, and the range of what was measured."""
    out: dict[str, dict[str, Any]] = {}
    for trial in trials:
        for w in trial.user_attrs.get("tge:warnings", []) or []:
            entry = out.setdefault(
                w["code"], {"code": w["code"], "message": w["message"], "trials": 0, "values": []}
            )
            entry["trials"] += 1
            entry["values"].append(w["value"])
    for entry in out.values():
        values = entry.pop("values")
        entry["min"], entry["max"] = min(values), max(values)
        entry["metrics"] = list(WARNING_METRICS.get(entry["code"], ()))
    return list(out.values())


def _bears_on(warning: Mapping[str, Any], metric: str) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(metric, pattern) for pattern in warning.get("metrics", ()))


def warning_lines(runs: Sequence[Run]) -> list[str]:
    """Markdown lines of every run's gathered sanity warnings, the objective's first."""
    lines: list[str] = []
    for label, run in zip(column_labels(runs), runs):
        if run.get("real"):
            continue
        complete = run["trials"]["complete"] + len(run["retrain"]["seeds"])
        ranked = sorted(run.get("warnings", []), key=lambda w: not _bears_on(w, run["objective"]["name"]))
        for w in ranked:
            objective = run["objective"]["name"]
            flag = (
                f" **It bears on the objective ({objective}), which chose the retrained configuration.**"
                if _bears_on(w, objective)
                else ""
            )
            lines.append(
                f"- ⚠ {label}: `{w['code']}` in {w['trials']} of {complete} trials — {w['message']}.{flag}"
            )
    return lines


def load_run(
    run_dir: str | Path,
    *,
    storage: str | None = None,
    top: int = 30,
    notify: Callable[[str], None] | None = None,
) -> Run:
    """Read the studies of the run in ``run_dir`` and summarise them."""
    run_dir = Path(run_dir)
    data = read_run_file(run_dir)
    spec = data["spec"]
    where = run_storage(run_dir, data, storage)
    if where.kind == "journal" and not where.journal_path.exists():  # reading must not create it
        raise ConfigError(
            f"{where.journal_path}: the trial journal of run {run_dir} is missing (its trials are recorded "
            "there); restore the file, or give --storage where the study lives"
        )
    backend = open_storage(where, heartbeat_interval=None, notify=notify)
    studies = data["studies"]
    return summarize(
        spec, str(run_dir), _trials(backend, studies["search"]), _trials(backend, studies["retrain"]), top=top
    )


# ----------------------------------------------------------------------------- the real-data column

REAL_LABEL = "real data"


def real_data_column(row: Mapping[str, Any], objective: Mapping[str, str]) -> Run:
    """A table column for held-out real data scored like the models' samples (the ceiling the
    models are read against). It takes no part in "best", significance or comparability checks."""
    metrics = {
        name: {
            "values": [m["value"]],
            "mean": m["value"],
            "std": None,
            "direction": m["direction"],
            "signature": m["signature"],
            "varies": {},
        }
        for name, m in row["metrics"].items()
    }
    return {
        "generator": REAL_LABEL,
        "model": REAL_LABEL,
        "real": True,
        "run_dir": str(row["source"]),
        "name": REAL_LABEL,
        "budget": 0,
        "objective": dict(objective),
        "trials": {"complete": 0, "failed": 0, "running": 0, "waiting": 0},
        "best": None,
        "best30": [],
        "retrain": {"budget": 0, "trials": {}, "seeds": [row["seed"]], "metrics": metrics},
        "search": [],
        "failures": [],
        "space": {"space": {}, "fixed": {}},
        "source": row["source"],
        "n": row["n"],
    }


def models_only(runs: Sequence[Run]) -> list[Run]:
    return [r for r in runs if not r.get("real")]


# ----------------------------------------------------------------------------- comparability


def mismatches(runs: Sequence[Run]) -> dict[str, dict[str, list[str]]]:
    """Per metric, the signature fields whose values differ between the model runs (data, sample
    count, settings, version), each with one value per column ("–" where a run lacks the metric).
    Fields that vary *within* a run (its seeds) are not compared, nor are real-data columns
    (their values are shown, not compared)."""
    out: dict[str, dict[str, list[str]]] = {}
    for metric, _ in metric_rows(runs):
        parsed = [
            parse_signature(r["retrain"]["metrics"][metric]["signature"])[1]
            if metric in r["retrain"]["metrics"]
            else None
            for r in runs
        ]
        models = [p for p, r in zip(parsed, runs) if p is not None and not r.get("real")]
        if len(models) < 2:
            continue
        for key in dict.fromkeys(k for p in models for k in p):
            values = [("–" if p is None else p.get(key, "")) for p in parsed]
            compared = {p.get(key, "") for p in models} - {"*"}
            if key not in SEED_FIELDS and len(compared) > 1:
                out.setdefault(metric, {})[key] = values
    return out


def real_data_mismatches(runs: Sequence[Run]) -> dict[str, dict[str, tuple[str, str]]]:
    """Per metric, the signature fields in which the real-data column differs from the models
    (seed fields aside): ``{metric: {field: (real value, models' value)}}``. Held-out text scored
    at a smaller n than the trials' samples (a bundle whose held-out split is smaller) differs in
    ``nhyps``/``n``, and FD, unique n-grams and self-BLEU move with n — such a cell is not a ceiling
    for the models', and the renderers mark it ‡."""
    real = next((r for r in runs if r.get("real")), None)
    models = models_only(runs)
    if real is None or not models:
        return {}
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for metric, entry in real["retrain"]["metrics"].items():
        theirs = [
            m["retrain"]["metrics"][metric]["signature"] for m in models if metric in m["retrain"]["metrics"]
        ]
        if not theirs:
            continue
        mine = parse_signature(entry["signature"])[1]
        model_fields = parse_signature(theirs[0])[1]
        for key in dict.fromkeys([*mine, *model_fields]):
            if key in SEED_FIELDS or model_fields.get(key) == "*":
                continue
            if mine.get(key, "") != model_fields.get(key, ""):
                out.setdefault(metric, {})[key] = (mine.get(key, ""), model_fields.get(key, ""))
    return out


def check_comparable(runs: Sequence[Run], *, allow_mixed: bool) -> dict[str, dict[str, list[str]]]:
    """Refuse runs that differ in anything but their seeds, unless ``allow_mixed``; return the
    differences (the renderers mark those cells)."""
    found = mismatches(runs)
    if found and not allow_mixed:
        from textgen_eval.core.errors import ConfigError

        lines = [
            f"  {metric}: {key} = "
            + ", ".join(f"{label}: {value}" for label, value in zip(column_labels(runs), values))
            for metric, fields in found.items()
            for key, values in fields.items()
        ]
        raise ConfigError(
            "these runs are not comparable — their scores differ in data, sample count or settings:\n"
            + "\n".join(lines)
            + "\ngive --allow-mixed to put them side by side anyway (the differing cells are marked †)"
        )
    return found


# ----------------------------------------------------------------------------- formatting


def format_mean_std(mean: float, std: float | None, *, thousands: bool = True) -> str:
    """``mean ± std`` with the standard deviation to two significant digits and the mean to match."""
    sep = "," if thousands else ""
    if std is None or not math.isfinite(std) or std == 0:
        if abs(mean) >= 1000:
            return f"{mean:{sep}.0f}"
        return f"{mean:.4g}"
    decimals = max(0, min(8, 1 - math.floor(math.log10(std))))
    return f"{mean:{sep}.{decimals}f} ± {std:{sep}.{decimals}f}"


def column_labels(runs: Sequence[Run]) -> list[str]:
    """Generator names, with the run directory's name where a generator appears twice."""
    names = [r["generator"] for r in runs]
    return [
        f"{r['generator']} ({Path(r['run_dir']).name})" if names.count(r["generator"]) > 1 else r["generator"]
        for r in runs
    ]


def metric_rows(runs: Sequence[Run]) -> list[tuple[str, str]]:
    """``(metric, direction)`` in the order of the first run, then any others."""
    rows: dict[str, str] = {}
    for run in runs:
        for name, entry in run["retrain"]["metrics"].items():
            rows.setdefault(name, entry["direction"])
    return list(rows.items())


def _cell(run: Run, metric: str, *, thousands: bool = True) -> str:
    entry = run["retrain"]["metrics"].get(metric)
    return "–" if entry is None else format_mean_std(entry["mean"], entry["std"], thousands=thousands)


#: Welch's t-test level, and the fewest seeds per model at which it is run.
ALPHA = 0.05
MIN_SEEDS = 3


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test (unequal variances) of two seed samples; ``None``
    with fewer than :data:`MIN_SEEDS` values in either, or no variance in both."""
    if len(a) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return None
    if statistics.pvariance(a) == 0 and statistics.pvariance(b) == 0:
        return 0.0 if statistics.fmean(a) != statistics.fmean(b) else 1.0
    from scipy.stats import ttest_ind

    return float(ttest_ind(a, b, equal_var=False).pvalue)


def significance(runs: Sequence[Run], metric: str, direction: str) -> dict[int, float | None]:
    """Per column other than the best: the p-value of Welch's t-test of its retrained seeds
    against the best column's (``None`` where there are too few seeds to tell)."""
    best = best_columns(runs, metric, direction)
    if len(best) != 1:
        return {}
    (b,) = best
    reference = runs[b]["retrain"]["metrics"][metric]["values"]
    out: dict[int, float | None] = {}
    for i, run in enumerate(runs):
        entry = run["retrain"]["metrics"].get(metric)
        if i != b and entry is not None and not run.get("real"):
            out[i] = welch_p(entry["values"], reference)
    return out


def best_columns(runs: Sequence[Run], metric: str, direction: str) -> set[int]:
    """The columns whose mean of ``metric`` is the best (ties share it; none with fewer than two
    runs, where "best" says nothing). A best mean is not a significant difference: the report's
    standard deviations say how far apart the columns are."""
    means = {
        i: r["retrain"]["metrics"][metric]["mean"]
        for i, r in enumerate(runs)
        if not r.get("real")
        and metric in r["retrain"]["metrics"]
        and math.isfinite(r["retrain"]["metrics"][metric]["mean"])
    }
    if len(means) < 2:
        return set()
    best = min(sign(direction) * v for v in means.values())
    return {i for i, v in means.items() if sign(direction) * v == best}


def _arrow(direction: str) -> str:
    return "↑" if direction == "higher" else "↓"


Mixed = Mapping[str, Mapping[str, Sequence[str]]]


def _footnotes(runs: Sequence[Run], mixed: Mixed) -> list[str]:
    labels = column_labels(runs)
    return [
        f"† {metric}: {key} differs — "
        + ", ".join(f"{label}: {value}" for label, value in zip(labels, values))
        for metric, fields in mixed.items()
        for key, values in fields.items()
    ]


def render_markdown(runs: Sequence[Run], mixed: Mixed | None = None) -> str:
    """Table 5.4 in Markdown; rows of ``mixed`` (``--allow-mixed``) are marked † and not bolded."""
    mixed = mixed or {}
    labels = column_labels(runs)
    lines = ["| Metric | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(runs)]
    untested = False
    real_differs = real_data_mismatches(runs)
    for metric, direction in metric_rows(runs):
        best = set() if metric in mixed else best_columns(runs, metric, direction)
        tests = {} if metric in mixed else significance(runs, metric, direction)
        cells = []
        for i, r in enumerate(runs):
            cell = f"**{_cell(r, metric)}**" if i in best else _cell(r, metric)
            if r.get("real") and metric in real_differs:
                cell += " ‡"
            p = tests.get(i)
            cells.append(cell + (" *" if p is not None and p < ALPHA else ""))
            untested |= i in tests and p is None
        mark = " †" if metric in mixed else ""
        lines.append(f"| {metric} {_arrow(direction)}{mark} | " + " | ".join(cells) + " |")
    lines.append(
        "| best search objective | "
        + " | ".join(
            "–" if r["best"] is None else f"{r['objective']['name']} {r['best']['objective']:.4g}"
            for r in runs
        )
        + " |"
    )
    lines.append(
        "| search trials (complete / failed / budget) | "
        + " | ".join(
            "–" if r.get("real") else f"{r['trials']['complete']} / {r['trials']['failed']} / {r['budget']}"
            for r in runs
        )
        + " |"
    )
    lines.append(
        "| retrained seeds | "
        + " | ".join("–" if r.get("real") else str(len(r["retrain"]["seeds"])) for r in runs)
        + " |"
    )
    lines.append("")
    lines.append(
        "Mean ± sample standard deviation over the best configuration retrained with each seed "
        "(Semeniuta 2019, §5.6.2); ↑ higher is better, ↓ lower is better; the best mean per metric "
        f"in bold; * differs from the best at p < {ALPHA} (Welch's t-test over the retrained seeds)."
        + (
            f" Models with fewer than {MIN_SEEDS} seeds are not tested: too few seeds to tell."
            if untested
            else ""
        )
    )
    for r in runs:
        if r.get("real"):
            lines += [
                "",
                f"{REAL_LABEL}: {r['n']:,} held-out real sentences ({r['source']}) scored like the models' "
                "samples, with the same references and the run's seed — "
                + (
                    "the ceiling to read the models against where its scoring matches theirs; ‡ marks the "
                    "cells where it does not (" + _real_differences(real_differs) + "): those are not a "
                    "ceiling"
                    if real_differs
                    else "the ceiling to read the models against"
                )
                + " (not a competitor: no bold, no test).",
            ]
    notes = _footnotes(runs, mixed)
    if notes:
        lines += ["", "† Not comparable across the columns (shown with --allow-mixed):", *notes]
    warned = warning_lines(runs)
    if warned:
        lines += ["", "Sanity warnings recorded by the trials (docs/metrics.md, 'Warnings'):", *warned]
    return "\n".join(lines)


def render_csv(runs: Sequence[Run]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run_dir", "generator", "metric", "direction", "mean", "std", "n", "values"])
    for run in runs:
        for metric, entry in run["retrain"]["metrics"].items():
            writer.writerow(
                [
                    run["run_dir"],
                    run["generator"],
                    metric,
                    entry["direction"],
                    repr(entry["mean"]),
                    "" if entry["std"] is None else repr(entry["std"]),
                    len(entry["values"]),
                    ";".join(repr(v) for v in entry["values"]),
                ]
            )
    return buffer.getvalue().rstrip("\n")


def _latex_escape(text: str) -> str:
    for char, escaped in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
    ):
        text = text.replace(char, escaped)
    return text


def render_latex(runs: Sequence[Run], mixed: Mixed | None = None) -> str:
    mixed = mixed or {}
    labels = [_latex_escape(label) for label in column_labels(runs)]
    lines = [
        r"\begin{tabular}{l" + "r" * len(runs) + "}",
        r"\toprule",
        "Metric & " + " & ".join(labels) + r" \\",
        r"\midrule",
    ]
    for metric, direction in metric_rows(runs):
        arrow = r"$\uparrow$" if direction == "higher" else r"$\downarrow$"
        cells = []
        best = set() if metric in mixed else best_columns(runs, metric, direction)
        tests = {} if metric in mixed else significance(runs, metric, direction)
        for i, run in enumerate(runs):
            cell = _cell(run, metric, thousands=False).replace("±", r"\pm")
            p = tests.get(i)
            star = "^{*}" if p is not None and p < ALPHA else ""
            cell = (
                "--" if cell == "–" else (rf"$\mathbf{{{cell}}}{star}$" if i in best else f"${cell}{star}$")
            )
            cells.append(cell)
        mark = r"$^\dagger$" if metric in mixed else ""
        lines.append(f"{_latex_escape(metric)} {arrow}{mark} & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


def significance_table(runs: Sequence[Run], mixed: Mixed | None = None) -> dict[str, dict[str, Any]]:
    """Per metric: the best column and each other column's Welch p-value against it."""
    labels = column_labels(runs)
    out: dict[str, dict[str, Any]] = {}
    for metric, direction in metric_rows(runs):
        if mixed and metric in mixed:
            continue
        best = best_columns(runs, metric, direction)
        if len(best) == 1:
            tests = significance(runs, metric, direction)
            out[metric] = {
                "best": labels[next(iter(best))],
                "p_welch": {labels[i]: p for i, p in tests.items()},
                "alpha": ALPHA,
                "min_seeds": MIN_SEEDS,
            }
    return out


def _real_differences(found: Mapping[str, Mapping[str, tuple[str, str]]]) -> str:
    parts = []
    for metric, fields in found.items():
        shown = ", ".join(
            f"{key} {mine or '–'} vs the models' {theirs or '–'}" for key, (mine, theirs) in fields.items()
        )
        parts.append(f"{metric}: {shown}")
    return "; ".join(parts)


def render_json(runs: Sequence[Run], mixed: Mixed | None = None) -> str:
    payload = {
        "runs": list(runs),
        "not_comparable": dict(mixed or {}),
        "real_data_not_comparable": {
            metric: {key: {"real_data": mine, "models": theirs} for key, (mine, theirs) in fields.items()}
            for metric, fields in real_data_mismatches(runs).items()
        },
        "significance": significance_table(runs, mixed),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _csv(runs: Sequence[Run], mixed: Mixed | None = None) -> str:
    return render_csv(runs)


RENDERERS: dict[str, Callable[[Sequence[Run], Mixed | None], str]] = {
    "md": render_markdown,
    "csv": _csv,
    "json": render_json,
    "latex": render_latex,
}


def render(runs: Sequence[Run], fmt: str, *, allow_mixed: bool = False) -> str:
    """The table of ``runs`` in ``fmt``; runs that differ in more than their seeds are refused
    unless ``allow_mixed`` (then the differing rows are marked)."""
    mixed = check_comparable(runs, allow_mixed=allow_mixed)
    return RENDERERS[fmt](runs, mixed)


def scatter_points(run: Run) -> dict[str, list[tuple[Any, float]]]:
    """Per hyperparameter, ``(value, objective)`` of every complete search trial that drew it."""
    space = SearchSpace.from_dict(run["space"], where=f"{run['run_dir']} space")
    points: dict[str, list[tuple[Any, float]]] = {name: [] for name in space.params}
    for row in run["search"]:
        if row["objective"] is None:
            continue
        for name, value in row["params"].items():
            if name in points:
                points[name].append((value, row["objective"]))
    return points
