"""The runner's per-step overhead against a bare PyTorch loop doing the same LM updates.

Both sides train the default LM's CPU size (embedding 128, hidden 256, batch 64) on the bundled
COCO captions, in the same process, on the same batches in the same order: the bare loop is
``zero_grad → token NLL → backward → Adam step``; the runner side is ``LSTMLanguageModel.fit``
with a run directory (``log.jsonl`` every 50 steps, ``run.json``), the stage machinery, the NaN
guard and callbacks. Only the update loop is timed (from the runner's ``on_start`` to ``on_end``;
no validation or checkpoint falls inside ``--steps`` < one epoch). Repeats alternate the two sides.

Usage: ``python benchmarks/runner_overhead.py [--steps 80] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textgen_eval.data.batching import encode_corpus, iterate_batches
from textgen_eval.data.vocab import Vocab
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.model import LMNet, LSTMLanguageModel, token_nll
from textgen_eval.training import Runner, RunnerConfig
from textgen_eval.training.callbacks import Callback

COCO = Path(__file__).resolve().parent.parent / "data" / "coco" / "train.txt"
CFG = LSTMLMConfig(emb_dim=128, hidden_size=256)
TRAIN = TrainConfig(batch_size=64)


class Clock(Callback):
    def on_start(self, runner, state) -> None:  # type: ignore[no-untyped-def]
        self.t0 = time.perf_counter()

    def on_end(self, runner, state) -> None:  # type: ignore[no-untyped-def]
        self.seconds = time.perf_counter() - self.t0


def bare(texts: list[str], steps: int, seed: int) -> float:
    torch.manual_seed(seed)
    vocab = Vocab.build(texts)
    corpus = encode_corpus(texts, vocab, max_len=CFG.max_len, long="drop")
    net = LMNet(CFG, len(vocab))
    opt = torch.optim.Adam(net.parameters(), lr=TRAIN.lr)
    net.train()
    batches = iterate_batches(corpus, TRAIN.batch_size, seed=seed, epoch=0)
    t0 = time.perf_counter()
    for _, batch in zip(range(steps), batches):
        nll, count = token_nll(net, torch.from_numpy(batch))
        loss = nll.sum() / count.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def with_runner(texts: list[str], steps: int, seed: int) -> float:
    clock = Clock()
    model = LSTMLanguageModel({"model": CFG, "train": TRAIN})
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(
            RunnerConfig(max_steps=steps, seed=seed, device="cpu"), run_dir=tmp, callbacks=[clock]
        )
        model.fit(texts, None, runner)
    return clock.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    texts = [t for t in COCO.read_text(encoding="utf-8").splitlines() if t]
    steps_per_epoch = len(texts) // TRAIN.batch_size
    assert args.steps < steps_per_epoch, "keep --steps under one epoch (no validation in the timing)"
    bare(texts, 5, 0), with_runner(texts, 5, 0)  # warm-up: allocator, OpenMP pools
    times: dict[str, list[float]] = {"bare": [], "runner": []}
    for r in range(args.repeats):
        times["bare"].append(bare(texts, args.steps, r))
        times["runner"].append(with_runner(texts, args.steps, r))
    b, w = statistics.median(times["bare"]), statistics.median(times["runner"])
    print(
        f"{args.steps} LM updates (emb 128, hidden 256, batch 64, COCO), median of {args.repeats}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print()
    print("| loop | ms/step | vs bare |")
    print("|---|---:|---:|")
    print(f"| bare PyTorch | {1000 * b / args.steps:.1f} | 1.000 |")
    print(f"| Runner | {1000 * w / args.steps:.1f} | {w / b:.3f} |")
    print()
    print(f"overhead: {100 * (w / b - 1):+.1f}% of step time (target ≤ 3%)")


if __name__ == "__main__":
    main()
