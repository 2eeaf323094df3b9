"""CPU-scale reproductions C1 (compound VAE) and K1 (VAE-based compression), IMAGES.md §7.

**C1** — `compound-vae` on the bundled binarized MNIST, hidden 100, latent 5, batch 32, Adam 1e-3,
Blundell's πᵢ weight-KL reweighting; encoders vanilla, BBB ("simplified compound", mixture prior),
compound (BBB hidden + DBNN heads, mixture prior) and compound with the N(0, 1) prior.
(i) the first 10,000 training images × 3 epochs, 3 seeds; (ii) all 50,000 × 10 epochs, 1 seed.
Scored on 1,000 shuffled test images: reconstruction, latent KL and their sum (as the paper's
Table 1, whose numbers are on grayscale MNIST after 50 epochs of 60k), and NLL_100.

**K1** — `weight-vae`: the FNN [784,200,100,60,30,10] trained on the labelled bundle's 7,000
images (Adam 1e-3, 20 epochs), 100 noisy copies (σ = 0.01 × each tensor's std), VAE 2048-512-64
with σ² = 1e-4 on weights scaled to [−1, 1], trained 20, 40 and 60 epochs; the compression report
on the 2,000 test images, and a cross-network control: a second FNN (another seed) pushed through
the same VAE.

Usage: ``python benchmarks/images2_reproductions.py [--only c1,c1-long,k1] [--seeds 3]`` (≈ 15 min
on 2 cores); results in ``benchmarks/results/images2/``; ``--report-only`` re-renders.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from summary import mean_sd  # noqa: E402  (benchmarks/summary.py)

from textgen_eval.core.config import build_sections  # noqa: E402
from textgen_eval.core.models import model_class  # noqa: E402
from textgen_eval.data.images import load_mnist_binarized, load_mnist_labelled  # noqa: E402
from textgen_eval.images.compression import flatten_parameters, from_chunks, to_chunks, unflatten_parameters  # noqa: E402
from textgen_eval.metrics.registry import resolve_model_metric  # noqa: E402
from textgen_eval.training import Runner, RunnerConfig  # noqa: E402

C1 = {
    "vanilla": {"model.encoder": "vanilla"},
    "BBB encoder, mixture prior": {"model.encoder": "bnn"},
    "compound (DBNN heads), mixture prior": {"model.encoder": "dbnn"},
    "compound, N(0, 1) prior": {"model.encoder": "dbnn", "model.prior": "gaussian"},
}
PAPER_C1 = {  # Su, Lin & Chen 2019, Table 1, MNIST test: L_rec / D_KL / sum
    "vanilla": "112.33 / 11.09 / 123.42",
    "BBB encoder, mixture prior": "110.90 / 11.37 / 122.28",
    "compound (DBNN heads), mixture prior": "107.77 / 11.80 / 119.56",
    "compound, N(0, 1) prior": "160.37 / 7.19 / 167.56",
}


def compound_run(
    sets: dict[str, str], train: Any, valid: Any, test: Any, epochs: int, seed: int
) -> dict[str, Any]:
    cls = model_class("compound-vae")
    overrides = {"train.batch_size": "32", "train.lr": "1e-3", "train.valid_images": "2000", **sets}
    model = cls(build_sections(dict(cls.config_sections), {}, overrides))
    config = RunnerConfig(max_epochs=epochs, seed=seed, device="cpu", restore_best=False, log_every=100_000)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        model.fit(train, valid, Runner(config, run_dir=Path(tmp)))
    seconds = time.perf_counter() - t0
    elbo = resolve_model_metric("neg-elbo").compute(model, test, seed=0)
    nll = resolve_model_metric("nll-iw-100").compute(model, test, seed=0)
    return {"seed": seed, "rec": elbo.details["rec"], "kl": elbo.details["kl"], "sum": elbo.value,
            "nll100": nll.value, "seconds": seconds, "signature": nll.signature}  # fmt: skip


def k1_runs(seed: int, epochs: tuple[int, ...]) -> list[dict[str, Any]]:
    bundle = load_mnist_labelled()
    cls = model_class("weight-vae")
    out = []
    other = None
    for vae_epochs in epochs:
        model = cls(build_sections(dict(cls.config_sections), {}, {"model.vae_epochs": str(vae_epochs)}))
        config = RunnerConfig(seed=seed, device="cpu", log_every=100_000)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            model.fit(bundle.train, bundle.valid, Runner(config, run_dir=Path(tmp)))
        seconds = time.perf_counter() - t0
        report = model.compression_report(bundle.test)
        if other is None:  # an independently trained FNN (another seed), for the cross-network control
            second = cls(
                build_sections(dict(cls.config_sections), {}, {"model.vae_epochs": "1", "model.copies": "5"})
            )
            with tempfile.TemporaryDirectory() as tmp:
                second.fit(
                    bundle.train,
                    bundle.valid,
                    Runner(RunnerConfig(seed=seed + 100, device="cpu"), run_dir=Path(tmp)),
                )
            other = {n: p.detach().clone() for n, p in second._net().target.named_parameters()}
        out.append({"vae_epochs": vae_epochs, "seconds": seconds, **asdict(report),
                    **cross_network(model, other, bundle.test)})  # fmt: skip
        print("K1", vae_epochs, {k: v for k, v in out[-1].items() if k != "relative_error"}, flush=True)
    return out


def cross_network(model: Any, other: dict[str, torch.Tensor], test: Any) -> dict[str, float]:
    """Push another network's parameters through ``model``'s VAE; its accuracy before and after."""
    net = model._net()
    vector, layout = flatten_parameters(other)
    scale = float(vector.abs().max())
    chunks, pad = to_chunks(vector / scale, model.cfg.chunk)
    with torch.no_grad():
        mu, _ = net.vae.encode(chunks)
        decoded = unflatten_parameters(from_chunks(net.vae.decoder(mu) * scale, pad), layout)
    x, y = torch.from_numpy(test.pixels).float(), torch.from_numpy(test.labels)

    def accuracy(params: dict[str, torch.Tensor]) -> float:
        from textgen_eval.images.compression import target_network

        clone = target_network("fnn")
        clone.load_state_dict(params, strict=False)
        with torch.no_grad():
            return float((clone.eval()(x).argmax(1) == y).float().mean())

    error = float((flatten_parameters(decoded)[0] - vector).norm() / vector.norm())
    return {"cross_accuracy_original": accuracy(other), "cross_accuracy_decoded": accuracy(decoded),
            "cross_relative_error": error}  # fmt: skip


def report(results: dict[str, Any]) -> str:
    lines = []
    for group, title in (
        ("c1", "C1 (i): 10,000 images × 3 epochs"),
        ("c1-long", "C1 (ii): 50,000 images × 10 epochs"),
    ):
        if group not in results:
            continue
        header = "| encoder | L_rec | latent KL | sum | NLL_100 | seconds | paper (L_rec / KL / sum) |"
        lines += [f"### {title}\n", header, "|---|---:|---:|---:|---:|---:|---|"]
        for label, runs in results[group].items():
            lines.append(
                f"| {label} | {mean_sd([r['rec'] for r in runs])} | {mean_sd([r['kl'] for r in runs])} "
                f"| {mean_sd([r['sum'] for r in runs])} | {mean_sd([r['nll100'] for r in runs])} "
                f"| {statistics.mean(r['seconds'] for r in runs):.0f} | {PAPER_C1[label]} |"
            )
        lines.append("")
    if "k1" in results:
        header = (
            "| VAE epochs | ratio (codes) | ratio (codes + decoder) | accuracy original → decoded | drop "
            "| mean-code control | 8-bit (4×) | pruning, same ratio | cross-network: original → decoded |"
        )
        lines += [
            "### K1: FNN 185,300 parameters, VAE 2048-512-64\n",
            header,
            "|---:|---:|---:|---|---:|---:|---:|---:|---|",
        ]
        for r in results["k1"]:
            ratio = r["parameters"] / r["code_floats"]
            total = r["parameters"] / (r["code_floats"] + r["decoder_parameters"])
            lines.append(
                f"| {r['vae_epochs']} | {ratio:.1f}× | {total:.2f}× | {100 * r['accuracy_original']:.2f} → "
                f"{100 * r['accuracy_reconstructed']:.2f} % "
                f"| {100 * (r['accuracy_original'] - r['accuracy_reconstructed']):.2f} "
                f"| {100 * r['accuracy_mean_code']:.1f} % | {100 * r['accuracy_quantised_8bit']:.2f} % "
                f"| {100 * r['accuracy_pruned']:.1f} % | {100 * r['cross_accuracy_original']:.1f} → "
                f"{100 * r['cross_accuracy_decoded']:.1f} % |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="c1,c1-long,k1")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "images2")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "images2_reproductions.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    if not args.report_only:
        only = set(args.only.split(","))
        bundle = load_mnist_binarized()
        test = bundle.test.take(1000, seed=0)
        for group, n_train, epochs, seeds, configs in (
            ("c1", 10_000, 3, args.seeds, C1),
            ("c1-long", 50_000, 10, 1, {k: C1[k] for k in C1}),
        ):
            if group not in only:
                continue
            train = replace(bundle.train, pixels=bundle.train.pixels[:n_train])
            results[group] = {}
            for label, sets in configs.items():
                results[group][label] = []
                for seed in range(seeds):
                    r = compound_run(sets, train, bundle.valid, test, epochs, seed)
                    results[group][label].append(r)
                    path.write_text(json.dumps(results, indent=2) + "\n")
                    print(
                        group,
                        label,
                        seed,
                        {k: round(v, 2) for k, v in r.items() if isinstance(v, float)},
                        flush=True,
                    )
        if "k1" in only:
            results["k1"] = k1_runs(0, (20, 40, 60))
            path.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


if __name__ == "__main__":
    main()
