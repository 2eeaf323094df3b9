"""Render evaluation results and metric listings as table, JSON or CSV text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from textgen_eval.metrics.registry import MetricInfo
    from textgen_eval.pipelines.evaluate import EvaluationResult


def format_value(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"


def render_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
    return "\n".join(lines) + "\n"


def result_table(result: EvaluationResult) -> str:
    """One row per score; with ``--ci`` the value reads ``v ± half-width`` (percentile interval)."""
    rows = [(s.name, _value_cell(s), s.arrow, f"{s.n:,}", s.signature) for s in result.scores]
    return render_table(rows, ("metric", "value", "", "n", "signature"))


def _value_cell(score: Any) -> str:
    ci = score.details.get("ci") if isinstance(score.details, dict) else None
    if not ci:
        return format_value(score.value)
    return f"{format_value(score.value)} ± {format_value((ci['high'] - ci['low']) / 2)}"


def result_json(result: EvaluationResult) -> str:
    return result.to_json(indent=2) + "\n"


def result_csv(result: EvaluationResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "value", "direction", "n", "signature", "details"])
    for s in result.scores:
        writer.writerow([s.name, repr(s.value), s.direction, s.n, s.signature, json.dumps(dict(s.details))])
    return out.getvalue()


RESULT_FORMATS: dict[str, Callable[[Any], str]] = {
    "table": result_table,
    "json": result_json,
    "csv": result_csv,
}


def metrics_table(infos: Sequence[MetricInfo]) -> str:
    rows = [
        (i.name, "↑" if i.direction == "higher" else "↓", i.modality, i.origin, i.description) for i in infos
    ]
    return render_table(rows, ("metric", "", "modality", "from", "description"))


def metrics_json(infos: Sequence[MetricInfo]) -> str:
    items = [
        {
            "name": i.name,
            "direction": i.direction,
            "modality": i.modality,
            "origin": i.origin,
            "description": i.description,
            "needs_references": i.needs_references,
        }
        for i in infos
    ]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


METRICS_FORMATS: dict[str, Callable[[Any], str]] = {"table": metrics_table, "json": metrics_json}
