"""``nll-iw-K`` against pythae's ``VAE.get_nll`` on the same VAE (architecture *and* weights), CPU.

pythae (the best-known VAE library) estimates the importance-weighted NLL one image at a time;
``textgen_eval`` vectorises over images and chunks over K with a float64 streaming log-sum-exp.
This trains one MLP VAE (784-256-256-32, leaky ReLU, 3 epochs on 10,000 binarized-MNIST images),
wraps *its* encoder and decoder as a pythae ``VAE`` (pythae's encoder returns log σ², so it gets
log of our σ²; its decoder returns sigmoid(logits)), and on the same ``--images`` test images
measures, for each K:

- both estimates (mean NLL, nats per image) and their difference against the Monte-Carlo
  standard error of that difference (from two independent seeds of ours, per image);
- wall time of each, in child processes run one after the other (same threads), and their ratio;
- each child's peak resident memory above its own baseline (model and data loaded; the peak is
  reset through ``/proc/self/clear_refs``, so this needs Linux).

pythae is installed only in the benchmark's environment::

    python -m venv /tmp/bvenv && /tmp/bvenv/bin/pip install torch==2.13.0 -e . pythae
    /tmp/bvenv/bin/python benchmarks/iw_nll.py [--ks 1000,5000] [--images 500] [--threads 2]

Results go to ``benchmarks/results/iw_nll.json`` and docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> float:
    """Reset the peak resident set (Linux: clear_refs 5) and return the current one, in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def peak_mb() -> float:
    return _status_mb("VmHWM")


def train_model(directory: Path) -> None:
    from textgen_eval.core.config import build_sections
    from textgen_eval.core.models import model_class
    from textgen_eval.data.images import load_mnist_binarized
    from textgen_eval.training import Runner, RunnerConfig

    bundle = load_mnist_binarized()
    train = replace(bundle.train, pixels=bundle.train.pixels[:10_000])
    cls = model_class("vae")
    model = cls(build_sections(dict(cls.config_sections), {}, {"model.hidden": "256", "model.latents": "32",
                                                               "train.batch_size": "128"}))  # fmt: skip
    config = RunnerConfig(max_epochs=3, seed=0, device="cpu", log_every=10_000)
    with tempfile.TemporaryDirectory() as tmp:
        model.fit(train, bundle.valid, Runner(config, run_dir=Path(tmp)))
    model.save(directory)


def pythae_vae(model: Any) -> Any:
    """A pythae ``VAE`` whose encoder and decoder are ``model``'s own modules."""
    import torch
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    net = model.net

    class Encoder(BaseEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.up = net.up[0]

        def forward(self, x: torch.Tensor) -> ModelOutput:
            mu, var = self.up(x.reshape(x.shape[0], -1))
            return ModelOutput(embedding=mu, log_covariance=torch.log(var))

    class Decoder(BaseDecoder):
        def __init__(self) -> None:
            super().__init__()
            self.decoder, self.output = net.decoder, net.output

        def forward(self, z: torch.Tensor) -> ModelOutput:
            logits = self.output(self.decoder(z))
            return ModelOutput(reconstruction=torch.sigmoid(logits).reshape(z.shape[0], 1, 28, 28))

    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=net.latent_sizes[0], reconstruction_loss="bce")
    vae = VAE(config, encoder=Encoder(), decoder=Decoder())
    vae.eval()
    return vae


def child(args: argparse.Namespace) -> None:
    """One measurement in a fresh process: prints a JSON line."""
    import torch

    from textgen_eval.core.models import load_model
    from textgen_eval.data.images import load_mnist_binarized

    torch.set_num_threads(args.threads)
    model = load_model(args.model_dir)
    pixels = load_mnist_binarized().test.take(args.images, seed=0).pixels
    base = reset_peak()
    t0 = time.perf_counter()
    if args.method == "tge":
        per_image = model.log_likelihood(pixels, k=args.k, seed=args.seed, batch_size=500)
        value, extra = float(-per_image.mean()), {"per_image": per_image.tolist()}
    else:
        torch.manual_seed(args.seed)
        vae = pythae_vae(model)
        data = torch.from_numpy(pixels).float().reshape(-1, 1, 28, 28)
        with torch.no_grad():
            value, extra = float(-vae.get_nll(data, n_samples=args.k, batch_size=args.pythae_batch)), {}
    seconds = time.perf_counter() - t0
    print(json.dumps({"value": value, "seconds": seconds, "peak_mb": peak_mb() - base, **extra}))


def measure(method: str, k: int, seed: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", method, "--k", str(k), "--seed", str(seed),
           "--images", str(args.images), "--threads", str(args.threads), "--model-dir", str(args.model_dir),
           "--pythae-batch", str(args.pythae_batch)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ks", default="1000,5000")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pythae-batch", type=int, default=100, help="get_nll's batch_size (default 100)")
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--child", choices=("tge", "pythae"))
    parser.add_argument("--k", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "iw_nll.json")
    args = parser.parse_args()
    if args.child:
        args.method = args.child
        child(args)
        return
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        args.model_dir = Path(tmp) / "vae"
        train_model(args.model_dir)
        rows = []
        for k in (int(v) for v in args.ks.split(",")):
            ours = measure("tge", k, 0, args)
            again = measure("tge", k, 1, args)
            theirs = measure("pythae", k, 0, args)
            diff = np.asarray(ours.pop("per_image")) - np.asarray(again.pop("per_image"))
            se_ours = float(diff.std(ddof=1) / math.sqrt(2 * len(diff)))  # MC error of one mean
            se_gap = math.sqrt(2) * se_ours  # of (pythae − ours): two independent estimates
            row = {
                "k": k,
                "images": args.images,
                "tge": ours,
                "tge_seed1": again,
                "pythae": theirs,
                "difference": theirs["value"] - ours["value"],
                "mc_se_of_difference": se_gap,
                "within_4_se": abs(theirs["value"] - ours["value"]) < 4 * se_gap,
                "speedup": theirs["seconds"] / ours["seconds"],
            }
            rows.append(row)
            print(
                f"K={k}: tge {ours['value']:.3f} in {ours['seconds']:.2f} s "
                f"(peak +{ours['peak_mb']:.0f} MB), "
                f"pythae {theirs['value']:.3f} in {theirs['seconds']:.1f} s "
                f"(peak +{theirs['peak_mb']:.0f} MB); "
                f"difference {row['difference']:+.3f} (MC s.e. {se_gap:.3f}); speed-up ×{row['speedup']:.0f}",
                flush=True,
            )
    import torch

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "threads": args.threads,
        "pythae_batch": args.pythae_batch,
        "torch": torch.__version__,
        "rows": rows,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
