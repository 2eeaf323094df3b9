"""NLL-oracle of 10,000 × 20 samples and drawing 10,000 oracle samples: our port against the
straightforward numpy implementation of SeqGAN's ``target_lstm.py``, in the same run.

    python benchmarks/oracle_speed.py [--n 10000] [--repeats 3]

The numpy peer runs the cell for all sequences at once, one position at a time, with the full
``(N, V)`` softmax per position (float32, as SeqGAN's TF graph; the sampler takes cumulative sums
per row, as ``tf.multinomial``'s CPU kernel does). Reported: median seconds of ``--repeats``
runs and the ratio; both compute the same numbers (checked here to 1e-4 nats).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from textgen_eval.data.oracle import LSTMOracle, OracleParams, nll_oracle

ROOT = Path(__file__).resolve().parent.parent


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def numpy_steps(
    a: dict[str, np.ndarray], n: int, length: int, inputs: np.ndarray | None, rng: np.random.Generator | None
):
    """Yield (position, logits (n, V)) while feeding ``inputs`` (teacher forcing) or samples."""
    h = np.zeros((n, a["Ui"].shape[0]), dtype=np.float32)
    c = np.zeros_like(h)
    x = np.repeat(a["embeddings"][0][None, :], n, axis=0)
    drawn = np.zeros((n, length), dtype=np.int64)
    for t in range(length):
        i = sigmoid(x @ a["Wi"] + h @ a["Ui"] + a["bi"])
        f = sigmoid(x @ a["Wf"] + h @ a["Uf"] + a["bf"])
        o = sigmoid(x @ a["Wog"] + h @ a["Uog"] + a["bog"])
        c = f * c + i * np.tanh(x @ a["Wc"] + h @ a["Uc"] + a["bc"])
        h = o * np.tanh(c)
        logits = h @ a["Wo"] + a["bo"]
        if inputs is not None:
            yield t, logits
            x = a["embeddings"][inputs[:, t]]
        else:
            assert rng is not None
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            cdf = np.cumsum(p, axis=1)
            u = rng.random(n)[:, None] * cdf[:, -1:]
            drawn[:, t] = np.minimum((cdf < u).sum(axis=1), cdf.shape[1] - 1)
            x = a["embeddings"][drawn[:, t]]
    if inputs is None:
        yield -1, drawn


def numpy_nll(a: dict[str, np.ndarray], ids: np.ndarray) -> float:
    total = 0.0
    for t, logits in numpy_steps(a, len(ids), ids.shape[1], ids, None):
        top = logits.max(axis=1)
        log_z = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        total += float((log_z - logits[np.arange(len(ids)), ids[:, t]]).astype(np.float64).sum())
    return total / ids.size


def numpy_sample(a: dict[str, np.ndarray], n: int, length: int, seed: int) -> np.ndarray:
    *_, (_, drawn) = numpy_steps(a, n, length, None, np.random.default_rng(seed))
    return drawn


def mle_step_seconds(contiguous: bool, steps: int = 50) -> float:
    """Seconds per MLE step of SeqGAN's generator (batch 64 of 20 tokens, 32/32 LSTM, V = 5,004)
    with the cross-entropy over (B·T, V) rows (``contiguous``) or the (B, V, T) layout."""
    import torch

    from textgen_eval.generators.lstm_lm.config import LSTMLMConfig
    from textgen_eval.generators.lstm_lm.model import LMNet, token_nll

    torch.manual_seed(0)
    net = LMNet(LSTMLMConfig(emb_dim=32, hidden_size=32), 5004, banned=(0, 1, 2, 3) if contiguous else None)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    batch = torch.cat([torch.full((64, 1), 1), torch.randint(4, 5004, (64, 20))], dim=1)
    start = time.perf_counter()
    for _ in range(steps):
        nll, count = token_nll(net, batch)
        loss = nll.sum() / count.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = OracleParams.load(ROOT / "data" / "seqgan-oracle" / "oracle.npz", origin="seqgan")
    oracle = LSTMOracle(params)
    arrays = dict(params.arrays)
    ids = oracle.sample(args.n, 20, seed=0)
    t_ours, v_ours = timed(lambda: nll_oracle(oracle, ids), args.repeats)
    t_np, v_np = timed(lambda: numpy_nll(arrays, ids), args.repeats)
    assert abs(float(v_ours) - float(v_np)) < 1e-4, (v_ours, v_np)  # type: ignore[arg-type]
    s_ours, drawn = timed(lambda: oracle.sample(args.n, 20, seed=1), args.repeats)
    s_np, drawn_np = timed(lambda: numpy_sample(arrays, args.n, 20, 1), args.repeats)
    print(f"n = {args.n:,} × 20, median of {args.repeats}")
    print("| task | ours (s) | numpy (s) | numpy / ours |")
    print("|---|---|---|---|")
    print(f"| NLL-oracle | {t_ours:.3f} | {t_np:.3f} | {t_np / t_ours:.1f}× |")
    print(f"| draw samples | {s_ours:.3f} | {s_np:.3f} | {s_np / s_ours:.1f}× |")
    flat = statistics.median(mle_step_seconds(True) for _ in range(args.repeats))
    layout = statistics.median(mle_step_seconds(False) for _ in range(args.repeats))
    print(f"| MLE step, (B·T, V) vs (B, V, T) cross-entropy | {flat * 1e3:.1f} ms | {layout * 1e3:.1f} ms | "
          f"{layout / flat:.1f}× |")  # fmt: skip
    print(f"NLL-oracle {v_ours:.6f} (numpy {v_np:.6f}); entropy of the draws: ours "
          f"{nll_oracle(oracle, drawn):.4f}, numpy {nll_oracle(oracle, drawn_np):.4f}")  # type: ignore[arg-type]  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
