"""Retrain every shipped model from scratch and compare it with the shipped bytes (issue 33).

The package ships FD's NLI sentence encoder and the reference LMs of the bundled text corpora
(``data/models/``, :mod:`textgen_eval.data.shipped`), so a new user trains nothing but the reverse
LM. This script is the check that the shipped files are what the current code trains: each model is
trained by the product's own code path (``load_or_train`` / ``ReferenceResources``) into an empty
temporary cache with shipped models turned off, then compared with the shipped entry — the same key
(recipe and data), byte-identical files, else the largest absolute difference per tensor.

Run it when a recipe, the training code of the encoder or the LSTM LM, a bundled corpus or torch
changes (``tests/metrics/test_shipped_models.py`` fails when a recipe id no longer matches a shipped
entry); ``--ship`` replaces the shipped entries by the retrained ones. Training is deterministic on CPU
for a fixed thread count (``THREADS`` per model, or ``--threads`` for all); another count changes
float sums in the last bits (docs/metrics.md, "Shipped models"). Usage:

    python benchmarks/shipped_models.py --json benchmarks/results/shipped_models.json [--ship]
    python benchmarks/shipped_models.py --only coco   # one model: encoder, coco, seqgan-oracle, emnlp-news
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: What ships: the encoder, and the reference LM of each bundled text corpus, with the torch thread
#: count that reproduces each shipped file (training is deterministic for a fixed thread count only;
#: the seqgan-oracle LM was first built in a one-thread tuning worker; docs/performance.md).
THREADS = {"encoder": 2, "coco": 2, "seqgan-oracle": 1, "emnlp-news": 2}
MODELS = tuple(THREADS)


def train_encoder() -> tuple[str, Path]:
    from textgen_eval.core.cache import cache_dir
    from textgen_eval.metrics.nli_encoder import EncoderRecipe, load_or_train

    recipe = EncoderRecipe()
    load_or_train(recipe)
    return "encoder", cache_dir() / "encoder" / recipe.id


def train_reference_lm(bundle: str) -> tuple[str, Path]:
    from textgen_eval.core.cache import cache_dir
    from textgen_eval.data.bundles import resolve_bundle
    from textgen_eval.pipelines.resources import ReferenceResources

    resources = ReferenceResources(resolve_bundle(bundle))
    resources.reference_model()
    return "reference-lm", cache_dir() / "reference-lm" / resources.cache_key()


def compare(retrained: Path, shipped: Path | None) -> dict[str, Any]:
    """Byte equality of every file; for weights that differ, the largest |Δ| per tensor."""
    from textgen_eval.core.safe_load import load_tensors
    from textgen_eval.core.verified_cache import content_hashes

    if shipped is None:
        return {"verdict": "nothing shipped under this key (a recipe or data change: rerun with --ship)"}
    new, old = content_hashes(retrained), content_hashes(shipped)
    differing = sorted(n for n in set(new) | set(old) if new.get(n) != old.get(n))
    out: dict[str, Any] = {"files": sorted(new), "differing_files": differing}
    if not differing:
        out["verdict"] = "identical bytes"
        return out
    deltas: dict[str, float] = {}
    if "weights.pt" in differing and "weights.pt" in old:
        a = load_tensors(retrained / "weights.pt", what="retrained weights")
        b = load_tensors(shipped / "weights.pt", what="shipped weights")
        for name in sorted(set(a) & set(b)):
            if a[name].shape != b[name].shape:
                deltas[name] = float("inf")
            else:
                deltas[name] = float((a[name].double() - b[name].double()).abs().max())
    out["max_abs_diff"] = deltas
    worst = max(deltas.values(), default=float("inf"))
    out["verdict"] = f"differs: max |Δw| = {worst:.3g}" + (
        "" if differing == ["weights.pt"] else f" (files: {differing})"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=MODELS, action="append", help="retrain these only")
    parser.add_argument("--threads", type=int, help="one thread count for every model (default: THREADS)")
    parser.add_argument("--ship", action="store_true", help="replace the shipped entries by the retrained")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from textgen_eval.core.threads import configure_openmp

    configure_openmp()  # as every tge process does, before torch is imported
    import torch

    from textgen_eval import __version__
    from textgen_eval.data.shipped import ship, shipped_entry

    results: dict[str, Any] = {
        "torch": torch.__version__,
        "textgen_eval": __version__,
        "models": {},
    }
    with tempfile.TemporaryDirectory(prefix="tge-retrain-") as tmp:
        os.environ["TGE_CACHE_DIR"] = tmp
        for name in args.only or MODELS:
            os.environ["TGE_SHIPPED_DIR"] = ""  # train, never load the shipped copy
            threads = args.threads or THREADS[name]
            torch.set_num_threads(threads)
            start = time.perf_counter()
            kind, entry = train_encoder() if name == "encoder" else train_reference_lm(name)
            seconds = time.perf_counter() - start
            os.environ.pop("TGE_SHIPPED_DIR")
            row = {"kind": kind, "key": entry.name, "threads": threads, "train_s": round(seconds, 1)}
            row.update(compare(entry, shipped_entry(kind, entry.name)))
            if args.ship:
                for old in (p for p in (ROOT / "data" / "models" / kind).glob("*") if p.name != entry.name):
                    if name == "encoder" or old.name.startswith(f"{name}-"):
                        shutil.rmtree(old)  # the entry of an older key of the same model
                row["shipped_to"] = str(ship(kind, entry, ROOT / "data" / "models").relative_to(ROOT))
            results["models"][name] = row
            print(f"{name}: {row['key']} trained in {seconds:.0f} s — {row['verdict']}", flush=True)
    text = json.dumps(results, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
