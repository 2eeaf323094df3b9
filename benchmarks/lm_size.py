"""LM size sanity check (Semeniuta 2019, Fig. 5.10): LSTM LMs with hidden 32, 256 and 1024
trained on COCO with the same budget; their 10,000 samples are scored with FD, LM score and
reverse LM score (default recipes). The three metrics should order the models the same way.

Each LM: embedding 128, forward dropout 0.2, Adam lr 2e-3, batch 64, at most 8 epochs with
early stopping (patience 2) on every 20th training line. Usage:

    python benchmarks/lm_size.py --json benchmarks/results/lm_size.json
    python benchmarks/lm_size.py --featurizers lm,lsa,encoder --fd-only \
        --json benchmarks/results/lm_size_featurizers.json

``--featurizers`` scores FD of the same samples with each featurizer (issue 18: does a featurizer
order the LM sizes?); ``--fd-only`` skips the other metrics.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from textgen_eval import evaluate
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel
from textgen_eval.pipelines.recipes import split_train_valid
from textgen_eval.training import Runner, RunnerConfig

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sizes", default="32,256,1024")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--featurizers", default="lm")
    parser.add_argument("--fd-only", action="store_true")
    opts = parser.parse_args()
    torch.set_num_threads(2)
    lines = (ROOT / "data" / "coco" / "train.txt").read_text(encoding="utf-8").split("\n")
    lines = [line for line in lines if line]
    train, valid = split_train_valid(lines)
    rows = []
    for hidden in (int(h) for h in opts.sizes.split(",")):
        cfg = LSTMLMConfig(emb_dim=128, hidden_size=hidden, input_dropout=0.2, output_dropout=0.2)
        model = LSTMLanguageModel({"model": cfg, "train": TrainConfig(lr=2e-3)})
        start = time.perf_counter()
        result = model.fit(
            train, valid, Runner(RunnerConfig(max_epochs=opts.epochs, patience=2, device="cpu", seed=0))
        )
        train_s = time.perf_counter() - start
        samples = model.sample(10_000, seed=0)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write("\n".join(samples) + "\n")
        row = {"hidden": hidden, "train_s": train_s, "epochs": result.epochs, "best_valid_nll": result.best}
        if not opts.fd_only:
            res = evaluate(handle.name, metrics="fd,lm-score,reverse-lm-score,bleu-4,self-bleu-4")
            row.update({s.name: s.value for s in res.scores})
        for featurizer in opts.featurizers.split(","):
            fd = evaluate(handle.name, metrics="fd", featurizer=featurizer)["fd"]
            row[f"fd[{featurizer}]"] = fd.value
            row[f"fd_se[{featurizer}]"] = fd.details.get("se")
        rows.append(row)
        print(json.dumps(row), flush=True)
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
