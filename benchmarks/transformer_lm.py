"""The transformer LM against the LSTM LM (issue 32), on CPU, in one run:

1. training throughput (tokens/s of forward + backward + Adam on the same COCO batches) of
   ``lstm-lm`` at its defaults and ``transformer-lm`` at a matched parameter count (the number of
   layers chosen so the two counts are closest; both reported);
2. sampling N sentences (default 10,000, batches of 1,000, at most 50 tokens) from the same
   transformer with its key/value cache and without it (re-reading the prefix at every step), the
   same seed, the drawn tokens checked identical.

Throughput with random weights (the cost does not depend on them); sampling after one epoch of
training (lengths near the corpus's, ~11 tokens, instead of a random model's ~43), both runs
under one seed. The draws agree sentence for sentence except where the two computations' float
rounding (~1e-7) moves a cumulative probability across the uniform of a draw; the fraction of
identical sentences is reported. Ratios, not absolute times: the machine is shared.

Usage: ``python benchmarks/transformer_lm.py [--n 10000] [--repeats 5] [--threads 2] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textgen_eval.data.batching import iterate_batches  # noqa: E402
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig  # noqa: E402
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel  # noqa: E402
from textgen_eval.generators.text.likelihood import token_nll  # noqa: E402
from textgen_eval.generators.text.optim import TrainConfig, make_optimizer  # noqa: E402
from textgen_eval.generators.text.sampler import sample_tokens  # noqa: E402
from textgen_eval.generators.transformer_lm.config import TransformerLMConfig  # noqa: E402
from textgen_eval.generators.transformer_lm.model import TransformerLM, UncachedDecoder  # noqa: E402


def params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in net.parameters()}.values())


def matched_transformer(lines: list[str], target: int, n_embd: int) -> tuple[TransformerLM, torch.nn.Module]:
    best = None
    for n_layer in range(1, 9):
        model = TransformerLM({"model": TransformerLMConfig(n_embd=n_embd, n_layer=n_layer, n_head=4),
                               "train": TrainConfig()})  # fmt: skip
        model.prepare_corpora(lines, None)
        net = model.build_net()
        gap = abs(params(net) - target)
        if best is None or gap < best[0]:
            best = (gap, model, net)
    assert best is not None
    return best[1], best[2]


def throughput(net: torch.nn.Module, batches: list[np.ndarray], repeats: int) -> float:
    """Median tokens/s over ``repeats`` passes of ``batches`` (after one warm-up batch)."""
    opt = make_optimizer(net.parameters(), TrainConfig())
    net.train()

    def step(batch: np.ndarray) -> int:
        nll, count = token_nll(net, torch.from_numpy(batch))  # type: ignore[arg-type]
        opt.zero_grad()
        (nll.sum() / count.sum()).backward()
        opt.step()
        return int(count.sum())

    step(batches[0])
    rates = []
    for _ in range(repeats):
        t0, tokens = time.perf_counter(), 0
        for batch in batches:
            tokens += step(batch)
        rates.append(tokens / (time.perf_counter() - t0))
    return statistics.median(rates)


def sample_time(decoder, n: int, batch: int, seed: int) -> tuple[float, list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, n, batch):
            out.append(sample_tokens(decoder, min(batch, n - start), max_len=50, generator=gen).tokens)
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="sentences sampled with and without the cache")
    parser.add_argument("--batches", type=int, default=10, help="training batches per timed pass")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    lines = [t for t in (ROOT / "data" / "coco" / "train.txt").read_text(encoding="utf-8").split("\n") if t]

    lstm = LSTMLanguageModel({"model": LSTMLMConfig(), "train": TrainConfig()})
    corpus, _ = lstm.prepare_corpora(lines, None)
    lstm_net = lstm.build_net()
    target = params(lstm_net)
    tf, tf_net = matched_transformer(lines, target, n_embd=256)
    batches = list(iterate_batches(corpus, 64, seed=0, epoch=0))[: args.batches]
    # the same sentences, the same vocabulary (both built from the same lines), so the same batches
    assert tf.require_vocab().tokens == lstm.require_vocab().tokens

    rates = {"lstm-lm": [], "transformer-lm": []}
    for _ in range(args.repeats):  # interleaved, so load drift hits both alike
        rates["lstm-lm"].append(throughput(lstm_net, batches, 1))
        rates["transformer-lm"].append(throughput(tf_net, batches, 1))
    train = {name: statistics.median(r) for name, r in rates.items()}

    opt = make_optimizer(tf_net.parameters(), TrainConfig())
    tf_net.train()
    for batch in iterate_batches(corpus, 64, seed=0, epoch=1):  # one epoch, so lengths are realistic
        nll, count = token_nll(tf_net, torch.from_numpy(batch))  # type: ignore[arg-type]
        opt.zero_grad()
        (nll.sum() / count.sum()).backward()
        opt.step()
    tf_net.eval()
    cached_s, cached = sample_time(tf_net, args.n, 1000, seed=1)
    uncached_s, uncached = sample_time(UncachedDecoder(tf_net), args.n, 1000, seed=1)
    rows = [bool(torch.equal(x, y)) for a, b in zip(cached, uncached) for x, y in zip(a, b)]
    lengths = torch.cat([(t != 0).sum(1) for t in cached]).float()

    cfg = tf.cfg
    result = {
        "threads": args.threads,
        "lstm": {"config": "emb 128, hidden 256, 1 layer", "params": target},
        "transformer": {
            "config": f"{cfg.n_layer} layers x {cfg.n_embd}, {cfg.n_head} heads, context {cfg.context}",
            "params": params(tf_net),
        },
        "vocab": len(lstm.require_vocab()),
        "train_tokens_per_s": train,
        "train_ratio_transformer_over_lstm": train["transformer-lm"] / train["lstm-lm"],
        "sampling": {
            "n": args.n,
            "mean_length": float(lengths.mean()),
            "cached_s": cached_s,
            "uncached_s": uncached_s,
            "speedup": uncached_s / cached_s,
            "identical_sentences": sum(rows) / len(rows),
        },
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
