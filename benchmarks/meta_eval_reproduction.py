"""Fig. 5.9 of Semeniuta (2019) reproduced with ``tge meta-eval``: which metrics notice topic
removal, word dropout, word swaps and duplication, on the bundled COCO captions (k-means topics)
and on topic-labelled DBpedia-14 texts (../shared/data/dbpedia14, 14 labelled topics).

    python benchmarks/meta_eval_reproduction.py                 # both corpora, fast metrics
    python benchmarks/meta_eval_reproduction.py --reverse-lm    # + reverse-lm-score (1 seed, fewer levels)

Writes the runs under benchmarks/results/meta_eval/ and the plots to docs/images/meta-eval/.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "meta_eval"
IMAGES = ROOT / "docs" / "images" / "meta-eval"
FAST = (
    "bleu-4,self-bleu-4,unique-ngrams-4,fd,lm-score,knn-precision,knn-recall,mauve,"
    "copy-rate,novel-ngrams-4,train-bleu-4"
)
TOKEN = re.compile(r"\w+|[^\w\s]")


def first_sentence(text: str, max_tokens: int = 40) -> str:
    """DBpedia abstracts: the first sentence, lowercased, punctuation split off, ≤ 40 tokens."""
    head = re.split(r"(?<=[a-z0-9)])\.\s", text, maxsplit=1)[0]
    return " ".join(TOKEN.findall(head.lower())[:max_tokens])


def dbpedia_bundle(out: Path) -> tuple[Path, Path]:
    """train = val.csv, test = test.csv (first sentences), labels = test.csv's topic ids."""
    out.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "val.csv"), ("test", "test.csv")):
        with open(SHARED / "dbpedia14" / name, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        (out / f"{split}.txt").write_text(
            "\n".join(first_sentence(r[1]) for r in rows) + "\n", encoding="utf-8"
        )
        if split == "test":
            (out.parent / "dbpedia-test-labels.txt").write_text("\n".join(r[0] for r in rows) + "\n")
    return out, out.parent / "dbpedia-test-labels.txt"


def run(args: list[str], name: str) -> dict:
    out = RESULTS / name
    started = time.monotonic()
    cmd = [sys.executable, "-m", "textgen_eval", "meta-eval", *args, "--out", str(out), "--no-progress"]
    print("$ tge", " ".join(cmd[3:]), flush=True)
    subprocess.run(cmd, check=True)
    summary = json.loads((out / "meta-eval.json").read_text())
    summary["wall_s"] = time.monotonic() - started
    IMAGES.mkdir(parents=True, exist_ok=True)
    for plot in (out / "plots").glob("*.png"):
        shutil.copy(plot, IMAGES / f"{name}-{plot.name}")
    return summary


def table(summary: dict) -> str:
    degradations = list(dict.fromkeys(v["degradation"] for v in summary["verdicts"]))
    metrics = list(dict.fromkeys(v["metric"] for v in summary["verdicts"]))
    cell = {(v["metric"], v["degradation"]): v for v in summary["verdicts"]}
    lines = ["| metric | " + " | ".join(degradations) + " |", "|---|" + "---|" * len(degradations)]
    for m in metrics:
        row = []
        for d in degradations:
            v = cell[(m, d)]
            mark = {"detects": "**detects**", "blind": "blind", "inverted": "inverted"}[v["verdict"]]
            row.append(f"{v['rho']:+.2f} {mark} ({v['monotone_seeds']}/{v['seeds']})")
        lines.append(
            f"| {m} {'↑' if cell[(m, degradations[0])]['direction'] == 'higher' else '↓'} | "
            + " | ".join(row)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reverse-lm", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n", type=int, default=500)
    opts = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = {}
    common = ["--seeds", str(opts.seeds), "--n", str(opts.n)]
    runs["coco"] = run(["--bundle", "coco", "-m", FAST, "--topics", "10", *common], "coco")
    if (SHARED / "dbpedia14").is_dir():
        bundle, labels = dbpedia_bundle(RESULTS / "dbpedia-bundle")
        runs["dbpedia"] = run(
            ["--bundle", str(bundle), "--labels", str(labels), "-m", FAST, *common], "dbpedia"
        )
    if opts.reverse_lm:
        runs["coco-reverse-lm"] = run(
            [
                "--bundle",
                "coco",
                "-m",
                "reverse-lm-score,fd,bleu-4",
                "--topics",
                "4",
                "--rates",
                "0,0.25,0.5",
                "--seeds",
                "1",
                "--n",
                str(opts.n),
            ],
            "coco-reverse-lm",
        )
    report = []
    for name, summary in runs.items():
        report.append(f"### {name} ({summary['wall_s'] / 60:.1f} min)\n\n{table(summary)}\n")
    (RESULTS / "tables.md").write_text("\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
