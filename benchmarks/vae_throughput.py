"""Training throughput of the hybrid VAE (historyless, and with an LSTM head) against the LSTM VAE.

Same run, same data (windows of 63 characters of the bundled COCO captions + EOS = 64 positions,
batch 64), comparable sizes: LSTM VAE with 256-unit encoder and decoder; hybrid with two strided
convolutions (128, 256 channels), 128 features, and either no head or a 256-unit LSTM head. Each
trains ``--steps`` updates through the shared runner; only the update loop is timed; the
repeats alternate the models. The thesis reports the conv model about 2× faster (§5.5.1).

Usage: ``python benchmarks/vae_throughput.py [--steps 60] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.vae_reproductions import windows  # noqa: E402
from textgen_eval.generators.text.generator import AutoregressiveGenerator  # noqa: E402
from textgen_eval.generators.vae.config import (  # noqa: E402
    HybridObjectiveConfig,
    HybridVAEConfig,
    LSTMVAEConfig,
    TrainConfig,
    VAEConfig,
)
from textgen_eval.generators.vae.hybrid import HybridVAE  # noqa: E402
from textgen_eval.generators.vae.lstm_vae import LSTMVAE  # noqa: E402
from textgen_eval.training import Runner, RunnerConfig  # noqa: E402
from textgen_eval.training.callbacks import Callback  # noqa: E402

TRAIN = TrainConfig(batch_size=64)


def lstm_vae(p: float) -> LSTMVAE:
    model = LSTMVAEConfig(tokenizer="char", max_len=63, emb_dim=64, hidden_size=256, latent_size=32)
    return LSTMVAE({"model": model, "train": TRAIN, "vae": VAEConfig(word_dropout=p)})


def hybrid(head: str) -> HybridVAE:
    model = HybridVAEConfig(
        tokenizer="char", length=64, emb_dim=64, conv_layers=2, channels=128, feature_size=128,
        latent_size=32, head=head, head_size=256,  # type: ignore[arg-type]
    )  # fmt: skip
    return HybridVAE({"model": model, "train": TRAIN, "vae": HybridObjectiveConfig(alpha=0.2)})


MODELS: dict[str, Callable[[], AutoregressiveGenerator]] = {
    "lstm-vae (historyless, p = 1)": lambda: lstm_vae(1.0),
    "lstm-vae (p = 0.2)": lambda: lstm_vae(0.2),
    "hybrid-vae (head none)": lambda: hybrid("none"),
    "hybrid-vae (LSTM head)": lambda: hybrid("lstm"),
}


class Clock(Callback):
    def on_start(self, runner, state) -> None:  # type: ignore[no-untyped-def]
        self.t0 = time.perf_counter()

    def on_end(self, runner, state) -> None:  # type: ignore[no-untyped-def]
        self.seconds = time.perf_counter() - self.t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    text = (ROOT / "data" / "coco" / "train.txt").read_text(encoding="utf-8")
    data = windows(text, 63, 6_000, seed=0)
    times: dict[str, list[float]] = {name: [] for name in MODELS}
    for _ in range(args.repeats):
        for name, build in MODELS.items():
            clock = Clock()
            runner = Runner(RunnerConfig(max_steps=args.steps, device="cpu", seed=0), callbacks=[clock])
            build().fit(data, None, runner)
            times[name].append(clock.seconds)
    base = statistics.median(times["lstm-vae (historyless, p = 1)"])
    print(f"{args.steps} updates, batch 64 × 64 characters, median of {args.repeats}")
    print()
    print("| model | steps/s | speed vs LSTM VAE (historyless) |")
    print("|---|---:|---:|")
    for name, values in times.items():
        t = statistics.median(values)
        print(f"| {name} | {args.steps / t:.1f} | {base / t:.2f}× |")


if __name__ == "__main__":
    main()
