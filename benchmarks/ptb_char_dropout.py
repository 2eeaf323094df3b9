"""Recurrent dropout on character-level Penn Treebank: a CPU-sized Semeniuta (2019) Table 3.3.

One LSTM layer (hidden 256, embedding 64) trained on the first 6,000 training sentences
(about 700k characters) for ``--epochs`` epochs (default 3; ``--patience`` adds early stopping,
best weights kept) with Adam (lr 2e-3), batch 32, gradient clipping 10; validated on the first
1,000 validation sentences and tested on the first 1,000 test sentences.
Sentences are modelled one per sequence (EOS scored); bits per character = NLL / ln 2 per
predicted symbol. Variants: no recurrent dropout, and Semeniuta / Gal / Moon at 0.25 with
per-step and per-sequence masks. Needs ../shared/data/ptb. Usage:

    python benchmarks/ptb_char_dropout.py --json benchmarks/results/ptb_char_dropout.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from textgen_eval.core.errors import DivergenceError
from textgen_eval.data.batching import encode_corpus
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel, corpus_nll
from textgen_eval.training import Runner, RunnerConfig

PTB = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ptb"


def lines(split: str, n: int) -> list[str]:
    text = (PTB / f"ptb.char.{split}.txt").read_text(encoding="utf-8").split("\n")
    return [line.strip() for line in text if line.strip()][:n]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    parser.add_argument("--train-lines", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--patience", type=int, default=None, help="early stopping on validation bpc")
    opts = parser.parse_args()
    torch.set_num_threads(2)
    train, valid, test = lines("train", opts.train_lines), lines("valid", 1000), lines("test", 1000)
    variants = [("none", 0.0, "semeniuta", "per-step")] + [
        (f"{k} {m}", 0.25, k, m) for k in ("semeniuta", "gal", "moon") for m in ("per-step", "per-sequence")
    ]
    rows = []
    for label, rate, kind, mode in variants:
        cfg = LSTMLMConfig(
            tokenizer="whitespace",
            emb_dim=64,
            hidden_size=opts.hidden,
            max_len=400,
            recurrent_dropout=rate,
            recurrent_dropout_kind=kind,
            recurrent_dropout_mask=mode,
        )  # type: ignore[arg-type]
        model = LSTMLanguageModel({"model": cfg, "train": TrainConfig(lr=2e-3, batch_size=32)})
        start = time.perf_counter()
        runner_cfg = RunnerConfig(
            max_epochs=opts.epochs, grad_clip=10.0, device="cpu", seed=0, patience=opts.patience
        )
        try:
            result = model.fit(train, valid, Runner(runner_cfg))
        except DivergenceError as exc:  # Moon per-sequence can blow up the cell state (thesis §3.3.4)
            out = {
                "variant": label,
                "train_s": time.perf_counter() - start,
                "diverged": str(exc).split(".")[0],
            }
            rows.append(out)
            print(json.dumps(out), flush=True)
            continue
        assert model.vocab is not None and model.net is not None
        out = {
            "variant": label,
            "train_s": time.perf_counter() - start,
            "epochs": result.epochs,
            "best_epoch": next(e["epoch"] for e in result.evaluations if e["step"] == result.best_step),
        }
        for split, texts in (("valid", valid), ("test", test)):
            total, count = corpus_nll(model.net, encode_corpus(texts, model.vocab), 256, model.device)
            out[f"{split}_bpc"] = total / count / math.log(2)
        rows.append(out)
        print(json.dumps(out), flush=True)
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(
            json.dumps({"settings": vars(opts) | {"json": str(opts.json)}, "rows": rows}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
