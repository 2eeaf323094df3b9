"""Which featurizer should FD use by default? (issue 18; Semeniuta 2019, §5.6.3, Fig. 5.9)

FD is the tuning objective, so its featurizer must notice what the thesis says FD notices. Every
candidate featurizer is put through the same ``tge meta-eval`` runs (FD only):

* **DBpedia-14** (../shared/data/dbpedia14, 14 labelled topics): topic removal, word dropout,
  word swap, duplication; 500 sentences a point, 3 seeds.
* **DBpedia, 4 topics** (the scenario of the issue: samples drawn from 4, 3, 2, 1 topics): the
  same training text, a test split of 4 topics only, three draws of the 4 topics, 5 seeds each,
  170 sentences a point (a single remaining topic has ~179 pool sentences, so nothing is redrawn).
* **EMNLP2017 News** (bundled, ``emnlp-news``): a news corpus, as in the issue; k-means topics
  of ``lsa``; the four degradations, 3 seeds, 500 sentences a point.
* **COCO** (bundled): k-means topics, clustered once by a fixed featurizer (``lsa`` by default,
  and again by ``lm`` and ``encoder``), so that the topics are not drawn in the space of the
  featurizer under test; the other three degradations as on DBpedia.

The LM-size ordering (Fig. 5.10) is measured by ``benchmarks/lm_size.py --featurizers``.

    python benchmarks/featurizer_choice.py                       # ≈ 40 min on 2 cores
    python benchmarks/featurizer_choice.py --report-only         # re-render the tables

Runs go to benchmarks/results/meta_eval/featurizer-*/ (resumable: a rerun continues them);
the tables to benchmarks/results/meta_eval/featurizer-tables.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from meta_eval_reproduction import RESULTS, SHARED, dbpedia_bundle, first_sentence, run

FEATURIZERS = ("lm", "lsa", "encoder")
#: The featurizers fitted on the bundle's training text (the encoder is trained on NLI pairs, so a
#: smaller bundle does not change it).
BUNDLE_FITTED = ("lm", "lsa")
TOPIC_DRAWS = 3
FOUR = 4


def _rows(name: str) -> list[list[str]]:
    with open(SHARED / "dbpedia14" / name, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def four_topic_bundles(seed: int = 0, *, small: bool = False) -> list[tuple[str, Path, Path]]:
    """Three bundles with a test split of 4 topics each. Training text: DBpedia-14's (5,000
    sentences of all 14 topics), or with ``small`` only the 4 topics' own ~1,400 — the situation
    of the issue, where the reference LM is trained on a small bundle."""
    import random

    train_bundle, _ = dbpedia_bundle(RESULTS / "dbpedia-bundle")
    rows = _rows("test.csv")
    topics = sorted({r[0] for r in rows}, key=int)
    rng = random.Random(seed)
    out = []
    for _ in range(TOPIC_DRAWS):
        chosen = sorted(rng.sample(topics, FOUR), key=int)
        name = ("dbpedia4small-" if small else "dbpedia4-") + "-".join(chosen)
        root = RESULTS / name
        root.mkdir(parents=True, exist_ok=True)
        if small:
            train = [first_sentence(r[1]) for r in _rows("val.csv") if r[0] in chosen]
            (root / "train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
        else:
            (root / "train.txt").write_bytes((train_bundle / "train.txt").read_bytes())
        kept = [r for r in rows if r[0] in chosen]
        (root / "test.txt").write_text("\n".join(first_sentence(r[1]) for r in kept) + "\n", encoding="utf-8")
        labels = RESULTS / f"{name}-labels.txt"
        labels.write_text("\n".join(r[0] for r in kept) + "\n", encoding="utf-8")
        out.append((name, root, labels))
    return out


def verdicts(name: str) -> dict[str, dict]:
    summary = json.loads((RESULTS / name / "meta-eval.json").read_text())
    return {v["degradation"]: v for v in summary["verdicts"] if v["metric"] == "fd"}


def first_step_z(name: str, degradation: str) -> float:
    """The smallest degradation's effect in seed standard deviations: (mean FD at level 1 − at
    level 0) / √((sd₀² + sd₁²)/2), over the seeds. ρ says whether FD gets worse over the whole
    range; this says how clearly it sees the first, smallest step (e.g. 4 → 3 topics)."""
    by_level: dict[int, list[float]] = {}
    for line in (RESULTS / name / "points.jsonl").read_text().splitlines():
        p = json.loads(line)
        if p["degradation"] == degradation:
            by_level.setdefault(p["level_index"], []).append(p["values"]["fd"])
    a, b = by_level[0], by_level[1]
    sd = ((statistics.pstdev(a) ** 2 + statistics.pstdev(b) ** 2) / 2) ** 0.5
    return (statistics.mean(b) - statistics.mean(a)) / sd if sd > 0 else float("nan")


def cell(v: dict, name: str) -> str:
    mark = {"detects": "detects", "blind": "**blind**", "inverted": "**inverted**"}[v["verdict"]]
    z = first_step_z(name, v["degradation"])
    return f"{v['rho']:+.2f} {mark} ({v['monotone_seeds']}/{v['seeds']}; z₁ {z:+.1f})"


def four_topic_cell(runs: list[str]) -> str:
    rhos = [verdicts(r)["topics"]["rho"] for r in runs]
    mono = sum(verdicts(r)["topics"]["monotone_seeds"] for r in runs)
    seeds = sum(verdicts(r)["topics"]["seeds"] for r in runs)
    zs = " / ".join(f"{first_step_z(r, 'topics'):+.1f}" for r in runs)
    series = " · ".join("/".join(f"{m:.3g}" for m in verdicts(r)["topics"]["means"]) for r in runs)
    return f"{statistics.mean(rhos):+.2f} (min {min(rhos):+.2f}) | {mono}/{seeds} | {zs} | {series}"


def report(draws: list[str]) -> str:
    lines = ["### DBpedia-14 (labelled topics; ρ, verdict, seeds with a monotone series, first-step z)", ""]
    lines += ["| featurizer | topics | dropout | swap | duplicate |", "|---|---|---|---|---|"]
    for f in FEATURIZERS:
        v = verdicts(f"featurizer-dbpedia-{f}")
        cells = [cell(v[d], f"featurizer-dbpedia-{f}") for d in ("topics", "dropout", "swap", "duplicate")]
        lines.append(f"| `{f}` | " + " | ".join(cells) + " |")
    lines += ["", "### DBpedia, 4 topics → 1 (three draws of 4 topics; mean ρ, FD means per level)", ""]
    lines += [
        "| featurizer | training text | mean ρ | monotone | z₁ per draw | FD at 4/3/2/1 topics per draw |",
        "|---|---|---|---|---|---|",
    ]
    small = [d.replace("dbpedia4-", "dbpedia4small-") for d in draws]
    for f in FEATURIZERS:
        row = four_topic_cell([f"featurizer-{d}-{f}" for d in draws])
        lines.append(f"| `{f}` | 14 topics, 5,000 | {row} |")
    for f in BUNDLE_FITTED:
        row = four_topic_cell([f"featurizer-{d}-{f}" for d in small])
        lines.append(f"| `{f}` | the 4 topics, ~1,400 | {row} |")
    lines += ["", "### COCO (k-means topics of a fixed featurizer; other degradations as above)", ""]
    lines += [
        "| featurizer | topics (lsa clusters) | topics (lm clusters) | topics (encoder clusters) "
        "| dropout | swap | duplicate |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in FEATURIZERS:
        name = f"featurizer-coco-{f}"
        main = verdicts(name)
        topic_cells = [cell(main["topics"], name)]
        for t in ("lm", "encoder"):
            other = f"{name}-topics-{t}"
            topic_cells.append(cell(verdicts(other)["topics"], other))
        rest = [cell(main[d], name) for d in ("dropout", "swap", "duplicate")]
        lines.append(f"| `{f}` | " + " | ".join(topic_cells + rest) + " |")
    lines += ["", "### EMNLP2017 News (bundled; k-means topics of `lsa`)", ""]
    lines += ["| featurizer | topics | dropout | swap | duplicate |", "|---|---|---|---|---|"]
    for f in FEATURIZERS:
        name = f"featurizer-news-{f}"
        if (RESULTS / name / "meta-eval.json").is_file():
            v = verdicts(name)
            cells = [cell(v[d], name) for d in ("topics", "dropout", "swap", "duplicate")]
            lines.append(f"| `{f}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Smallest-step sensitivity: median z₁ over the cells (own-cluster COCO cells left out)",
        "",
    ]
    for f in FEATURIZERS:
        names = [(f"featurizer-dbpedia-{f}", d) for d in ("topics", "dropout", "swap", "duplicate")]
        names += [(f"featurizer-{d}-{f}", "topics") for d in draws]
        clusters = [c for c in ("lsa", "lm", "encoder") if c != f]
        names += [
            (f"featurizer-coco-{f}" + ("" if c == "lsa" else f"-topics-{c}"), "topics") for c in clusters
        ]
        names += [(f"featurizer-coco-{f}", d) for d in ("dropout", "swap", "duplicate")]
        news = f"featurizer-news-{f}"
        if (RESULTS / news / "meta-eval.json").is_file():
            names += [(news, d) for d in ("topics", "dropout", "swap", "duplicate")]
        zs = sorted(first_step_z(n, d) for n, d in names)
        lines.append(f"- `{f}`: median {statistics.median(zs):+.2f}, min {zs[0]:+.1f} over {len(zs)} cells")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report-only", action="store_true")
    opts = parser.parse_args()
    draws = [name for name, _, _ in four_topic_bundles()]
    if not opts.report_only:
        bundle, labels = dbpedia_bundle(RESULTS / "dbpedia-bundle")
        for f in FEATURIZERS:
            common = ["-m", "fd", "--featurizer", f, "--no-plots"]
            run(["--bundle", str(bundle), "--labels", str(labels), "--seeds", "3", "--n", "500", *common],
                f"featurizer-dbpedia-{f}")  # fmt: skip
            for name, root, four_labels in four_topic_bundles():
                run(["--bundle", str(root), "--labels", str(four_labels), "--degradations", "topics",
                     "--seeds", "5", "--n", "170", *common], f"featurizer-{name}-{f}")  # fmt: skip
            if f in BUNDLE_FITTED:
                for name, root, four_labels in four_topic_bundles(small=True):
                    run(["--bundle", str(root), "--labels", str(four_labels), "--degradations", "topics",
                         "--seeds", "5", "--n", "170", *common], f"featurizer-{name}-{f}")  # fmt: skip
            run(["--bundle", "emnlp-news", "--topics", "10", "--seeds", "3", "--n", "500", *common],
                f"featurizer-news-{f}")  # fmt: skip
            run(["--bundle", "coco", "--topics", "10", "--seeds", "3", "--n", "500", *common],
                f"featurizer-coco-{f}")  # fmt: skip
            for t in ("lm", "encoder"):
                topic_args = ["--topics", "10", "--topic-featurizer", t, "--degradations", "topics"]
                run(["--bundle", "coco", *topic_args, "--seeds", "3", "--n", "500", *common],
                    f"featurizer-coco-{f}-topics-{t}")  # fmt: skip
    text = report(draws)
    (RESULTS / "featurizer-tables.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
