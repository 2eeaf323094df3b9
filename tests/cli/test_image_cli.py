"""`tge train`, `tge evaluate RUN_DIR`, `tge tune` and `tge report` for the image models, on the
bundled binarized MNIST (tiny nets, a few steps, small evaluation subsets), plus bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

TINY = [
    "model.hidden=16,12,8,8,8",
    "model.latents=8,6,4,4,4",
    "train.batch_size=64",
    "train.valid_images=300",
]


def _sets(assignments: list[str]) -> list[str]:
    return [item for a in assignments for item in ("--set", a)]


@pytest.fixture(scope="module")
def gray_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gray")
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("valid", 16), ("test", 16)):
        np.save(root / f"{split}.npy", rng.integers(0, 256, (n, 8, 8), dtype=np.uint8))
    return root


def test_train_and_evaluate_a_ladder_vae_on_binarized_mnist(tge, tmp_path: Path) -> None:
    out = tmp_path / "lvae"
    run = tge("train", "ladder-vae", "--data", "mnist-binarized", "--out", out, "--max-steps", "6",
              "--no-progress", *_sets([*TINY, "model.layers=3", "model.bn_eval=recollect"]))  # fmt: skip
    assert run.code == 0, run.err
    info = json.loads((out / "run.json").read_text())
    assert info["data"]["bundle"] == "mnist-binarized" and info["data"]["test"].startswith(
        "mnist-binarized/test@"
    )
    assert (out / "model" / "weights.pt").is_file()
    evaluation = tge("evaluate", out, "--n-eval", "200", "-m", "neg-elbo,nll-iw-20", "-m", "active-units-kl",
                     "--samples", "9", "--format", "json")  # fmt: skip
    assert evaluation.code == 0, evaluation.err
    payload = json.loads(evaluation.out)
    scores = {m["name"]: m for m in payload["metrics"]}
    assert set(scores) == {"neg-elbo", "nll-iw-20", "active-units-kl"}
    assert scores["nll-iw-20"]["value"] <= scores["neg-elbo"]["value"] + 1.0
    assert (
        "bn:recollect" in scores["nll-iw-20"]["signature"]
        and "[n=200,seed=0]" in scores["nll-iw-20"]["signature"]
    )
    assert len(scores["active-units-kl"]["details"]["per_layer"]) == 3
    samples = np.load(out / "samples-n9-seed0.npy")
    assert samples.shape == (9, 1, 28, 28) and samples.dtype == np.float16
    assert (out / "samples-n9-seed0.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    drawn = tge("sample", out, "-n", "4", "--seed", "1", "--binary", "--output", tmp_path / "draws.npy")
    assert drawn.code == 0, drawn.err
    draws = np.load(tmp_path / "draws.npy")
    assert draws.shape == (4, 1, 28, 28) and set(np.unique(draws)) <= {0.0, 1.0}
    assert (tmp_path / "draws.png").is_file()
    no_file = tge("sample", out, "-n", "4")
    assert no_file.code == 2 and "need --output FILE.npy" in no_file.err
    # a text metric, a text option, or an unknown one: exit 2 with a message, no traceback
    for args, message in (
        (["-m", "bleu-4"], "scores text samples, not image models"),
        (["--fast"], "--fast: text-metric options"),
        (["-m", "nll-iw-0"], "the order must be an integer from 1 to"),
    ):
        bad = tge("evaluate", out, "--n-eval", "20", *args)
        assert bad.code == 2 and message in bad.err and "Traceback" not in bad.err, bad.err


def test_image_metrics_are_refused_for_text_samples(tge, tmp_path: Path) -> None:
    samples = tmp_path / "s.txt"
    samples.write_text("a man rides a horse\n", encoding="utf-8")
    bad = tge("evaluate", samples, "-m", "nll-iw-10")
    assert bad.code == 2 and "scores image models, not text samples" in bad.err


def test_metrics_list_shows_the_modality(tge) -> None:
    listing = tge("metrics", "list", "--format", "json")
    rows = {m["name"]: m["modality"] for m in json.loads(listing.out)}
    assert rows["nll-iw-N"] == "image" and rows["active-units-kl"] == "image" and rows["bleu-N"] == "text"
    models = tge("models", "list", "--format", "json")
    kinds = {m["name"]: m["modality"] for m in json.loads(models.out)}
    assert kinds["vae"] == "image" and kinds["ladder-vae"] == "image"


def test_grayscale_data_needs_a_binarization(tge, gray_bundle: Path, tmp_path: Path) -> None:
    bad = tge(
        "train", "vae", "--data", gray_bundle, "--out", tmp_path / "a", "--no-progress", *_sets(TINY[:2])
    )
    assert bad.code == 2 and "train.binarize=dynamic" in bad.err and "Traceback" not in bad.err
    sets = _sets([*TINY[:2], "train.binarize=dynamic", "train.batch_size=16"])
    ok = tge(
        "train",
        "vae",
        "--data",
        gray_bundle,
        "--out",
        tmp_path / "b",
        "--max-steps",
        "2",
        "--no-progress",
        *sets,
    )
    assert ok.code == 0, ok.err
    evaluation = tge("evaluate", tmp_path / "b", "-m", "nll-iw-5", "--samples", "4", "--format", "json")
    assert evaluation.code == 0, evaluation.err
    signature = json.loads(evaluation.out)["metrics"][0]["signature"]
    assert "+draw(seed=0)" in signature  # the test images were binarized by one seeded draw
    wrong = tge("evaluate", tmp_path / "b", "--bundle", "mnist-binarized", "-m", "nll-iw-5")
    assert wrong.code == 2 and "shape (1, 28, 28)" in wrong.err and "trained on (1, 8, 8)" in wrong.err


def test_tune_and_report_a_vae(tge, tmp_path: Path) -> None:
    out = tmp_path / "tune"
    run = tge("tune", "vae", "--data", "mnist-binarized", "--budget", "2", "--retrain", "2", "--out", out,
              "--n-eval", "100", "--samples", "4", "--no-progress",
              *_sets(["runner.max_steps=4", "train.valid_images=200"]))  # fmt: skip
    assert run.code == 0, run.err
    spec = json.loads((out / "tune.json").read_text())["spec"]
    assert spec["objective"] == "nll-iw-100" and spec["trial_kind"] == "image"
    search = json.loads((out / "trials" / "search-0000" / "evaluation.json").read_text())
    retrain = json.loads((out / "trials" / "retrain-0000" / "evaluation.json").read_text())
    assert search["split"].startswith("mnist-binarized/valid@") and "[n=100,seed=0]" in search["split"]
    assert retrain["split"].startswith("mnist-binarized/test@")
    assert list((out / "trials" / "retrain-0001").glob("samples-n4-seed*.png"))
    report = tge("report", out, "--format", "json", "--plots", tmp_path / "plots")
    assert report.code == 0, report.err
    summary = json.loads(report.out)
    text = json.dumps(summary)
    assert "nll-iw-100" in text and "active-units-kl" in text
    assert list((tmp_path / "plots").glob("*.png"))


def test_tune_refuses_text_options_and_metrics_for_image_models(tge, tmp_path: Path) -> None:
    bad = tge("tune", "vae", "--data", "mnist-binarized", "--out", tmp_path / "a", "--max-len", "20")
    assert bad.code == 2 and "apply to text models" in bad.err
    bad = tge("tune", "vae", "--data", "mnist-binarized", "--out", tmp_path / "b", "--objective", "fd")
    assert bad.code == 2 and "'fd' scores text models; 'vae' is a model of modality 'image'" in bad.err


def test_train_evaluate_and_tune_a_bnn_on_the_labelled_mnist(tge, tmp_path: Path) -> None:
    out = tmp_path / "bnn"
    sets = _sets(
        [
            "model.inference=sghmc",
            "model.hidden=16",
            "sampler.burn_in=20",
            "sampler.thin=5",
            "sampler.samples=4",
        ]
    )
    run = tge("train", "bnn", "--data", "mnist", "--out", out, "--no-progress", *sets)
    assert run.code == 0, run.err
    evaluation = tge(
        "evaluate", out, "--format", "json", "-m", "accuracy,nll-pred,ece-15,brier,shift-entropy"
    )
    assert evaluation.code == 0, evaluation.err
    scores = {m["name"]: m for m in json.loads(evaluation.out)["metrics"]}
    assert scores["accuracy"]["value"] > 0.5 and scores["accuracy"]["n"] == 2000
    assert (
        "weight_samples:4" in scores["nll-pred"]["signature"]
        and "mnist/test@" in scores["ece-15"]["signature"]
    )
    bad = tge("evaluate", out, "-m", "nll-iw-10")
    assert bad.code == 2 and "scores latent-variable image models" in bad.err
    tuned = tmp_path / "tune"
    space = tmp_path / "space.toml"
    space.write_text(
        'replace = true\n[space]\n"train.lr" = { loguniform = [1e-3, 3e-3] }\n'
        '[fixed]\n"model.inference" = "map"\n"model.hidden" = 16\n"runner.max_steps" = 20\n',
        encoding="utf-8",
    )
    args = [
        "--budget",
        "2",
        "--retrain",
        "2",
        "--out",
        tuned,
        "--n-eval",
        "300",
        "--space",
        space,
        "--no-progress",
    ]
    run = tge("tune", "bnn", "--data", "mnist", *args)
    assert run.code == 0, run.err
    spec = json.loads((tuned / "tune.json").read_text())["spec"]
    assert spec["objective"] == "nll-pred" and "ece-15" in spec["metrics"]
    report = tge("report", tuned, "--format", "json")
    assert report.code == 0 and "nll-pred" in report.out


def test_train_evaluate_and_tune_the_compound_vae_and_the_weight_vae(tge, tmp_path: Path) -> None:
    compound = tmp_path / "compound"
    sets = _sets(["model.encoder=dbnn", "train.valid_images=200", "train.batch_size=32"])
    run = tge("train", "compound-vae", "--data", "mnist-binarized", "--out", compound, "--max-steps", "20",
              "--no-progress", *sets)  # fmt: skip
    assert run.code == 0, run.err
    evaluation = tge("evaluate", compound, "--n-eval", "100", "-m", "neg-elbo,nll-iw-10", "--format", "json")
    assert evaluation.code == 0, evaluation.err
    signature = json.loads(evaluation.out)["metrics"][1]["signature"]
    assert "compound-vae/dbnn" in signature and "weight_samples:1-per-batch+1-per-image" in signature
    tuned_compound = tmp_path / "tune-compound"
    run = tge("tune", "compound-vae", "--data", "mnist-binarized", "--budget", "1", "--retrain", "1",
              "--out", tuned_compound, "--n-eval", "100", "--samples", "4", "--no-progress",
              *_sets(["runner.max_steps=10", "train.valid_images=200"]))  # fmt: skip
    assert run.code == 0, run.err
    spec = json.loads((tuned_compound / "tune.json").read_text())["spec"]
    assert spec["objective"] == "nll-iw-100" and "weight-kl" in spec["metrics"]
    weights = tmp_path / "weights"
    tiny = [
        "model.target_epochs=1",
        "model.vae_epochs=1",
        "model.copies=5",
        "model.hidden=32",
        "model.latent=8",
    ]
    run = tge("train", "weight-vae", "--data", "mnist", "--out", weights, "--no-progress", *_sets(tiny))
    assert run.code == 0, run.err
    evaluation = tge("evaluate", weights, "--format", "json")
    assert evaluation.code == 0, evaluation.err
    names = [m["name"] for m in json.loads(evaluation.out)["metrics"]]
    assert names == ["accuracy-drop", "compression-ratio", "compression-ratio-total"]
    tuned = tmp_path / "tune"
    run = tge(
        "tune",
        "weight-vae",
        "--data",
        "mnist",
        "--budget",
        "1",
        "--retrain",
        "1",
        "--out",
        tuned,
        "--n-eval",
        "200",
        "--no-progress",
        *_sets(tiny[:3]),
    )  # fmt: skip (hidden, latent are searched)
    assert run.code == 0, run.err
    assert json.loads((tuned / "tune.json").read_text())["spec"]["objective"] == "accuracy-drop"


def test_image_samples_stream_to_the_npy_with_the_bytes_of_the_in_memory_path(
    tge, gray_bundle: Path, tmp_path: Path
) -> None:
    """Issue 34, item 2: `tge sample -n N` of an image model writes batch by batch (memory does not
    grow with N); the file is byte for byte what saving the whole array gives, and no temporary
    file is left."""
    import io

    from textgen_eval.core.models import load_model

    out = tmp_path / "vae"
    run = tge("train", "vae", "--data", gray_bundle, "--out", out, "--max-steps", "2", "--no-progress",
              *_sets([*TINY[:2], "train.binarize=dynamic"]))  # fmt: skip
    assert run.code == 0, run.err
    target = tmp_path / "s.npy"
    sampled = tge("sample", out, "-n", "2500", "--seed", "4", "--output", target)
    assert sampled.code == 0, sampled.err
    expected = io.BytesIO()
    np.save(expected, load_model(out).sample(2500, seed=4).astype(np.float16), allow_pickle=False)
    assert target.read_bytes() == expected.getvalue()
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy", "s.png", "vae"]


def test_an_image_size_the_architecture_cannot_take_is_exit_2_naming_the_setting(tge, tmp_path: Path) -> None:
    """Issue 34, item 5: 3×3 images with the conv VAE (sides must be divisible by 4) were a
    ValueError reported as an internal error; now exit 2 naming model.arch, nothing left behind."""
    bundle = tmp_path / "tiny3"
    bundle.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 16), ("valid", 4), ("test", 4)):
        np.save(bundle / f"{split}.npy", rng.integers(0, 256, (n, 3, 3), dtype=np.uint8))
    out = tmp_path / "run"
    run = tge("train", "vae", "--data", bundle, "--out", out, "--max-steps", "1", "--no-progress",
              *_sets(["model.arch=conv", "train.binarize=dynamic"]))  # fmt: skip
    assert run.code == 2 and "model.arch = 'conv' needs image sides divisible by 4" in run.err, run.err
    assert "3×3" in run.err and not out.exists()
