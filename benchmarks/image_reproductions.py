"""CPU-scale reproductions of the VAE and ladder-VAE claims (IMAGES.md §7: V1, V2, L1).

Statically binarized MNIST (the bundled ``mnist-binarized``): the first ``--train-images`` rows of
the training split, the valid split for validation, and a fixed shuffled subset of
``--eval-images`` test images (seed 0) for every bound and active-unit count.

- **V1** (MLP VAE 784-256-256-32, leaky ReLU, batch 128, Adam 1e-3, 10 epochs): the untrained
  −ELBO, the trained −ELBO and NLL_K for K = 1, 10, 100, 1000. Claims: the IW bound is tighter than
  the ELBO and NLL_K does not increase with K (Burda et al. 2016; Sønderby et al. 2016 eq. 12).
- **V2**: the same with the conv VAE (Conv 1→32→64, k4 s2, dense 256, z = 32).
- **L1** (5 stochastic layers, latents 64-32-16-8-4, widths 256-128-64-32-16, batch 128,
  Adam 1e-3, 6 epochs): VAE, VAE+BN, VAE+BN+WU (β over 3 epochs) and ladder+BN+WU; test −ELBO,
  NLL_100 and active units (KL > 0.01) per layer. Claims (LVAE §4, Table 2): batch norm is needed
  for depth > 2; warm-up adds active units; the ladder activates the most units.

Every configuration runs ``--seeds`` seeds; the JSON has every number (written after each run),
the table mean ± sd. The conv VAE's bounds are on 250 test images (``--v2-eval-images``): a
K = 1000 pass over 1,000 images costs ~10 minutes of conv work on 2 cores.
Usage: ``python benchmarks/image_reproductions.py [--seeds 3] [--only v1,v2,l1]
[--out benchmarks/results/images]`` (≈ 10 min on 2 cores); ``--report-only`` re-renders.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from summary import mean_sd  # noqa: E402  (benchmarks/summary.py)

from textgen_eval.core.config import build_sections  # noqa: E402
from textgen_eval.core.models import model_class  # noqa: E402
from textgen_eval.data.images import load_mnist_binarized  # noqa: E402
from textgen_eval.images.model import LatentImageModel  # noqa: E402
from textgen_eval.metrics.registry import resolve_model_metric  # noqa: E402
from textgen_eval.training import Runner, RunnerConfig  # noqa: E402

KS = (1, 10, 100, 1000)
V1 = {"model.hidden": "256", "model.latents": "32"}
V2 = {"model.arch": "conv", "model.latents": "32", "model.conv_channels": "32,64", "model.conv_hidden": "256"}
L1_BASE = {"model.layers": "5", "model.hidden": "256,128,64,32,16", "model.latents": "64,32,16,8,4"}
L1 = {
    "VAE": {"model.kind": "vae", "model.batch_norm": "false"},
    "VAE+BN": {"model.kind": "vae", "model.batch_norm": "true", "model.bn_eval": "recollect"},
    "VAE+BN+WU": {
        "model.kind": "vae",
        "model.batch_norm": "true",
        "model.bn_eval": "recollect",
        "model.warmup_epochs": "3",
    },
    "ladder+BN+WU": {
        "model.kind": "ladder",
        "model.batch_norm": "true",
        "model.bn_eval": "recollect",
        "model.warmup_epochs": "3",
    },
}
#: The same three batch-norm configurations without batch norm on the latent heads.
L1B = {
    f"{label}, no head BN": {**sets, "model.bn_heads": "false"}
    for label, sets in L1.items()
    if label != "VAE"
}
#: Sønderby et al. 2016, Table 2 (5-layer MNIST, dynamic binarization, 2000 epochs): active units
#: per layer (total).
PAPER_UNITS = {
    "VAE": "20/1/0/0/0 (21)",
    "VAE+BN": "20/9/3/3/2 (37)",
    "VAE+BN+WU": "34/18/6/2/1 (61)",
    "ladder+BN+WU": "46/22/8/3/2 (81)",
}


def make(kind: str, sets: dict[str, str]) -> LatentImageModel:
    cls = model_class(kind)
    model = cls(build_sections(dict(cls.config_sections), {}, sets))
    assert isinstance(model, LatentImageModel)
    return model


def run(
    kind: str, sets: dict[str, str], *, epochs: int, seed: int, data: Any, ks: tuple[int, ...]
) -> dict[str, Any]:
    train, valid, test = data
    model = make(kind, {"train.batch_size": "128", "train.lr": "1e-3", "train.valid_images": "2000", **sets})
    untrained = None
    if kind == "vae":
        model.init_net(train.shape, seed=seed)
        untrained = resolve_model_metric("neg-elbo").compute(model, test, seed=0).value
    config = RunnerConfig(max_epochs=epochs, seed=seed, device="cpu", log_every=10_000, restore_best=False)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        model.fit(train, valid, Runner(config, run_dir=Path(tmp)))
    t1 = time.perf_counter()
    elbo = resolve_model_metric("neg-elbo").compute(model, test, seed=0)
    nll = {k: resolve_model_metric(f"nll-iw-{k}").compute(model, test, seed=0) for k in ks}
    t2 = time.perf_counter()
    units = resolve_model_metric("active-units-kl").compute(model, test, seed=0)
    cov = resolve_model_metric("active-units-cov").compute(model, test)
    return {
        "seed": seed,
        "untrained_neg_elbo": untrained,
        "neg_elbo": elbo.value,
        "rec": elbo.details["rec"],
        "kl_per_layer": elbo.details["kl_per_layer"],
        "nll": {str(k): s.value for k, s in nll.items()},
        "active_units_kl": units.details["per_layer"],
        "active_units_cov": cov.details["per_layer"],
        "signature": nll[ks[-1]].signature,
        "train_seconds": t1 - t0,
        "bound_seconds": t2 - t1,
    }


def report(results: dict[str, Any]) -> str:
    lines = []
    for name in ("v1", "v2"):
        if name not in results:
            continue
        runs = results[name]
        lines.append(
            f"### {name.upper()}: {runs[0]['model']} ({runs[0].get('eval_images', 1000):,} test images)\n"
        )
        lines.append("| quantity | ours (mean ± sd over seeds) |")
        lines.append("|---|---:|")
        if runs[0]["untrained_neg_elbo"] is not None:
            lines.append(f"| untrained −ELBO | {mean_sd([r['untrained_neg_elbo'] for r in runs])} |")
        lines.append(f"| −ELBO | {mean_sd([r['neg_elbo'] for r in runs])} |")
        for k in KS:
            lines.append(f"| NLL_{k} | {mean_sd([r['nll'][str(k)] for r in runs])} |")
        monotone = all(
            r["nll"][str(b)] <= r["nll"][str(a)] + 0.05 for r in runs for a, b in itertools.pairwise(KS)
        )
        gap = min(r["neg_elbo"] - r["nll"]["1000"] for r in runs)
        lines.append(
            f"| NLL_K non-increasing in K (every seed, +0.05 noise) | {'yes' if monotone else 'no'} |"
        )
        lines.append(f"| smallest −ELBO − NLL_1000 over seeds | {gap:.2f} nats |")
        lines.append(
            f"| train / bound seconds (seed 0) | {runs[0]['train_seconds']:.0f} / "
            f"{runs[0]['bound_seconds']:.0f} |\n"
        )
    for group, title in (
        ("l1", "L1: five stochastic layers"),
        ("l1b", "L1b: without batch norm on the latent heads"),
    ):
        if group not in results:
            continue
        lines.append(f"### {title}\n")
        lines.append(
            "| model | −ELBO | NLL_100 | active units (KL > 0.01) per layer, mean | total "
            "| active units (Cov > 0.01) per layer, mean | paper (Table 2, KL) |"
        )
        lines.append("|---|---:|---:|---|---:|---|---|")
        for label, runs in results[group].items():
            per_layer = [statistics.mean(r["active_units_kl"][i] for r in runs) for i in range(5)]
            total = [sum(r["active_units_kl"]) for r in runs]
            cov_layer = [statistics.mean(r["active_units_cov"][i] for r in runs) for i in range(5)]
            lines.append(
                f"| {label} | {mean_sd([r['neg_elbo'] for r in runs])} "
                f"| {mean_sd([r['nll']['100'] for r in runs])} "
                f"| {'/'.join(f'{u:.1f}' for u in per_layer)} | {mean_sd(total)} "
                f"| {'/'.join(f'{u:.1f}' for u in cov_layer)} | {PAPER_UNITS[label.split(',')[0]]} |"
            )
    return "\n".join(lines) + "\n"


def plots(results: dict[str, Any], directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if "v1" in results:
        fig, ax = plt.subplots(figsize=(5, 3.4))
        for name, marker in (("v1", "o"), ("v2", "s")):
            for r in results.get(name, []):
                ax.plot(KS, [r["nll"][str(k)] for k in KS], marker=marker, alpha=0.6,
                        label=f"{name.upper()} seed {r['seed']}")  # fmt: skip
                ax.axhline(r["neg_elbo"], ls=":", lw=0.8, color=ax.lines[-1].get_color())
        ax.set_xscale("log")
        ax.set_xlabel("K (importance samples)")
        ax.set_ylabel("NLL_K, nats (dotted: −ELBO)")
        ax.set_title("IW bound vs K, binarized MNIST (1,000 test images)")
        ax.legend(fontsize=6)
        fig.tight_layout()
        path = directory / "vae-iw-k.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        written.append(path)
    cells = {**results.get("l1", {}), **results.get("l1b", {})}
    if cells:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        labels = list(cells)
        width = 0.8 / len(labels)
        for j, label in enumerate(labels):
            runs = cells[label]
            means = [statistics.mean(r["active_units_kl"][i] for r in runs) for i in range(5)]
            ax.bar([i + j * width for i in range(5)], means, width, label=label)
        ax.set_xticks(
            [i + 0.4 - width / 2 for i in range(5)],
            [f"z{i + 1} ({n})" for i, n in enumerate((64, 32, 16, 8, 4))],
        )
        ax.set_ylabel("active units (KL > 0.01)")
        ax.set_title("Active units per layer, 5-layer models, 6 epochs of 10k images")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = directory / "lvae-active-units.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default="v1,v2,l1,l1b")
    parser.add_argument("--train-images", type=int, default=10_000)
    parser.add_argument("--eval-images", type=int, default=1_000)
    parser.add_argument(
        "--v2-eval-images", type=int, default=250, help="the conv VAE's bounds cost ~15× the MLP's per image"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "images")
    parser.add_argument("--plots", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "image_reproductions.json"
    if args.report_only:
        results = json.loads(path.read_text())
    else:
        bundle = load_mnist_binarized()
        train = replace(
            bundle.train, pixels=bundle.train.pixels[: args.train_images], subset=f"first={args.train_images}"
        )
        data = (train, bundle.valid, bundle.test.take(args.eval_images, seed=0))
        results = json.loads(path.read_text()) if path.is_file() else {}
        only = set(args.only.split(","))
        v2_data = (train, bundle.valid, bundle.test.take(args.v2_eval_images, seed=0))
        for name, sets, subset in (("v1", V1, data), ("v2", V2, v2_data)):
            if name in only:
                results[name] = []
                for seed in range(args.seeds):
                    r = run("vae", sets, epochs=10, seed=seed, data=subset, ks=KS)
                    r["model"] = "MLP 784-256-256-32" if name == "v1" else "conv 32-64, dense 256, z 32"
                    r["eval_images"] = len(subset[2])
                    results[name].append(r)
                    path.write_text(json.dumps(results, indent=2) + "\n")
                    print(
                        name,
                        seed,
                        f"−ELBO {r['neg_elbo']:.2f}",
                        r["nll"],
                        f"{r['train_seconds']:.0f}s",
                        flush=True,
                    )
        for group, configs in (("l1", L1), ("l1b", L1B)):
            if group not in only:
                continue
            results[group] = {}
            for label, sets in configs.items():
                results[group][label] = []
                for seed in range(args.seeds):
                    r = run("ladder-vae", {**L1_BASE, **sets}, epochs=6, seed=seed, data=data, ks=(100,))
                    results[group][label].append(r)
                    path.write_text(json.dumps(results, indent=2) + "\n")
                    print(
                        label,
                        seed,
                        f"−ELBO {r['neg_elbo']:.2f}",
                        r["active_units_kl"],
                        f"{r['train_seconds']:.0f}s",
                        flush=True,
                    )
        path.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    args.plots.mkdir(parents=True, exist_ok=True)
    for written in plots(results, args.plots):
        print("wrote", written)


if __name__ == "__main__":
    main()
