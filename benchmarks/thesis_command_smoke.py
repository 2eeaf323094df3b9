"""The thesis-scale comparison command, run end to end here on SNLI text (issue 17).

The full SNLI train split is not on these machines (../shared/data/snli/SOURCE.md); what is there is
the dev split and a 20k-pair sample of the train side. This script

1. saves that text as a local Hugging Face dataset with SNLI's columns and splits (``train``: the
   18,000-pair sample, ``validation``: dev, ``test``: the 2,000-pair sample), so that
2. the documented bundle command (docs/tuning.md, "The thesis' protocol at its scale") runs
   unchanged but for the dataset's name — ``hf:stanfordnlp/snli`` becomes ``hf:DIR`` — and
3. checks that the train-side sentences it derives are byte-identical to
   ``sentences.cat_sample.txt``, derived independently in SOURCE.md (md5 b7daac2d…);
4. runs ``tge compare`` on that bundle with ``examples/compare/thesis-smoke.toml``: the thesis
   preset's nine models, spaces and 4k SentencePiece vocabulary, one trial each and a few steps.

Usage: ``python benchmarks/thesis_command_smoke.py [--out DIR]`` (needs ../shared/data/snli).
Prints each command, its wall time, and the report's table.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNLI = ROOT.parent / "shared" / "data" / "snli"
CAT_SAMPLE_MD5 = "b7daac2d7fe6852a0b11b21179040765"  # sentences.cat_sample.txt, SOURCE.md
LABELS = {"1": "neutral", "2": "contradiction", "3": "entailment"}  # SOURCE.md's inferred codes


def read_cat_sample(path: Path) -> list[dict[str, str]]:
    """The sample's TSV (no header; label, label, premise, hypothesis; CSV quoting)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quotechar='"')
        return [{"premise": r[2], "hypothesis": r[3], "label": LABELS[r[0]]} for r in rows]


def save_local_snli(out: Path) -> None:
    import datasets

    dev = [json.loads(line) for line in (SNLI / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    splits = {
        "train": read_cat_sample(SNLI / "cat_sample" / "train.csv"),
        "validation": dev,
        "test": read_cat_sample(SNLI / "cat_sample" / "test.csv"),
    }
    dataset = datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})
    dataset.save_to_disk(str(out))


def tge(*args: str) -> float:
    command = [sys.executable, "-m", "textgen_eval", *args]
    print("$ tge " + " ".join(shlex.quote(a) for a in args), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    print(f"  ({wall:.0f} s)", flush=True)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "thesis_smoke")
    args = parser.parse_args()
    if not SNLI.is_dir():
        raise SystemExit(f"{SNLI}: not found (this script reads the shared SNLI sample)")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    hf = out / "hf-snli"
    if not hf.exists():
        save_local_snli(hf)
    fields = ("--field", "premise", "--field", "hypothesis")
    check = out / "cat-sample-sentences"
    if not check.exists():  # train then test of the sample, as SOURCE.md derives its file
        tge("bundle", str(check), "--train", f"hf:{hf}?split=train", "--train", f"hf:{hf}?split=test",
            "--test", f"hf:{hf}?split=validation", *fields)  # fmt: skip
    digest = hashlib.md5((check / "train.txt").read_bytes()).hexdigest()
    print(f"train-side sentences md5 {digest}: {'equal to' if digest == CAT_SAMPLE_MD5 else 'DIFFERS from'} "
          f"sentences.cat_sample.txt")  # fmt: skip
    bundle = out / "snli"
    if not bundle.exists():  # the documented command, hf:stanfordnlp/snli -> hf:LOCAL
        tge("bundle", str(bundle), *fields, "--disjoint", "--train", f"hf:{hf}?split=train",
            "--valid", f"hf:{hf}?split=validation", "--test", f"hf:{hf}?split=test")  # fmt: skip
    preset = ROOT / "examples" / "compare" / "thesis-smoke.toml"
    tge("compare", "--data", str(bundle), "--preset", str(preset), "--out", str(out / "compare"),
        "--no-progress")  # fmt: skip
    print((out / "compare" / "report.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
