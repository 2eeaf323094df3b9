"""Training throughput (tokens/s, CPU) of the recurrent-dropout LSTM vs torch's fused LSTM.

Hidden 256, embedding 128, batch 64, sequences of 30 tokens. Two settings: the LSTM layer
alone (forward + backward of the sum of its outputs) and a whole LM training step (embedding,
LSTM, 3,000-word softmax, Adam). Median of 5 timed repeats after 3 warm-up steps. Usage:

    python benchmarks/lstm_throughput.py --json benchmarks/results/lstm_throughput.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from textgen_eval.generators.lstm_lm.cells import RecurrentDropoutLSTM
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig
from textgen_eval.generators.lstm_lm.model import LMNet, token_nll

B, T, EMB, H, V = 64, 30, 128, 256, 3000
VARIANTS = [("fused nn.LSTM (no recurrent dropout)", 0.0, "semeniuta", "per-step")] + [
    (f"{kind} 0.25 {mode}", 0.25, kind, mode)
    for kind in ("semeniuta", "gal", "moon")
    for mode in ("per-step", "per-sequence")
]


def time_steps(step, repeats: int = 5, iters: int = 10) -> float:
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            step()
        times.append((time.perf_counter() - start) / iters)
    return statistics.median(times)


def layer_bench(rate: float, kind: str, mode: str) -> float:
    torch.manual_seed(0)
    layer = RecurrentDropoutLSTM(EMB, H, recurrent_dropout=rate, kind=kind, mode=mode).train()  # type: ignore[arg-type]
    x = torch.randn(B, T, EMB)

    def step() -> None:
        out, _ = layer(x)
        out.sum().backward()

    return B * T / time_steps(step)


def lm_bench(rate: float, kind: str, mode: str) -> float:
    torch.manual_seed(0)
    cfg = LSTMLMConfig(
        emb_dim=EMB,
        hidden_size=H,
        recurrent_dropout=rate,
        recurrent_dropout_kind=kind,  # type: ignore[arg-type]
        recurrent_dropout_mask=mode,
    )  # type: ignore[arg-type]
    net = LMNet(cfg, V).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    batch = torch.randint(4, V, (B, T + 1))

    def step() -> None:
        nll, count = token_nll(net, batch)
        loss = nll.sum() / count.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    return B * T / time_steps(step)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    rows = []
    base = {}
    for label, rate, kind, mode in VARIANTS:
        row = {
            "variant": label,
            "layer_tok_s": layer_bench(rate, kind, mode),
            "lm_tok_s": lm_bench(rate, kind, mode),
        }
        if rate == 0.0:
            base = row
        row["layer_ratio"] = row["layer_tok_s"] / base["layer_tok_s"]
        row["lm_ratio"] = row["lm_tok_s"] / base["lm_tok_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    if opts.json:
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(
            json.dumps({"threads": opts.threads, "torch": torch.__version__, "rows": rows}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
