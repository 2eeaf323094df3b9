"""``tge evaluate RUN_DIR`` for image models: score a trained VAE / ladder VAE on its bundle's
test split with the image metrics, and save seeded samples as ``.npy`` plus a PNG grid.

The bundle defaults to the one the model was trained on (``run.json``); grayscale test data is
binarized the way the model's training data was (a threshold, or one seeded draw).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.hashing import file_digest
from textgen_eval.core.model import WEIGHTS_FILE
from textgen_eval.core.models import load_model, model_directory
from textgen_eval.core.output import Protected, check_output, write_output
from textgen_eval.core.protocols import CompressedModel, LatentVariableModel, ProbabilisticClassifier
from textgen_eval.data.images import ImageSplit, resolve_image_bundle
from textgen_eval.metrics.registry import resolve_model_metric
from textgen_eval.pipelines.evaluate import EvaluationResult, parse_metric_list

#: The image metrics of ``tge evaluate RUN_DIR`` when ``--metrics`` is not given.
DEFAULT_IMAGE_METRICS: tuple[str, ...] = (
    "neg-elbo",
    "nll-iw-1000",
    "active-units-kl",
    "active-units-cov",
    "kl-per-layer",
)
DEFAULT_IMAGE_SAMPLES = 64
#: Seed of the single Bernoulli draw that binarizes grayscale evaluation data.
EVAL_BINARIZE_SEED = 0


def evaluation_split(model: Any, data: ImageSplit, *, n_eval: int | None, seed: int) -> ImageSplit:
    """The images a model is scored on: a seeded subset, binarized like its training data."""
    mode = getattr(getattr(model, "train_cfg", None), "binarize", "none")
    if not data.binary and mode == "none":
        mode = "threshold"
    return data.take(n_eval, seed).binarized(mode, seed=EVAL_BINARIZE_SEED)


def score_image_model(
    model: Any, data: ImageSplit, metrics: Sequence[str], *, seed: int, batch_size: int
) -> list[Any]:
    """Every metric of ``metrics`` on ``data`` (already the evaluation split)."""
    instances = [resolve_model_metric(m) for m in metrics]
    return [m.compute(model, data, seed=seed, batch_size=batch_size) for m in instances]


def save_images(
    images: Any, npy_path: Path, write: Callable[[Path, bytes], None] | None = None
) -> dict[str, str]:
    """``(n, C, H, W)`` images in [0, 1] as float16 ``npy_path`` and a PNG grid beside it.

    ``write`` writes one file (default: atomically; a user's ``--output`` goes through the guarded
    writer of :mod:`textgen_eval.core.output`).
    """
    import io

    import numpy as np

    from textgen_eval.core.files import atomic_write_bytes
    from textgen_eval.images.grid import image_grid, png_bytes

    put = write or atomic_write_bytes
    buffer = io.BytesIO()
    np.save(buffer, images.astype(np.float16), allow_pickle=False)
    png = npy_path.with_suffix(".png")
    grid = png_bytes(image_grid(images))
    put(npy_path, buffer.getvalue())
    put(png, grid)
    return {"npy": str(npy_path), "png": str(png)}


def write_samples(model: Any, directory: Path, *, n: int, seed: int) -> dict[str, str]:
    """``n`` seeded samples (Bernoulli means) as ``samples-nN-seedS.npy`` (float16) and ``.png``."""
    return save_images(model.sample(n, seed=seed), directory / f"samples-n{n}-seed{seed}.npy")


def sample_image_model(
    path: str | Path,
    n: int,
    *,
    seed: int,
    output: Path,
    binary: bool = False,
    protected: Sequence[Protected] = (),
) -> dict[str, str]:
    """``tge sample RUN_DIR -n N --output X.npy`` for an image model (both files guarded)."""
    if output.suffix != ".npy":
        raise ConfigError(f"--output {output}: image samples are written as .npy (a PNG grid goes beside it)")
    kinds = [check_output(target, protected) for target in (output, output.with_suffix(".png"))]
    model = load_model(path)
    if kinds[0] == "through" or not hasattr(model, "sample_batches"):  # a pipe or a device: in memory
        images = model.sample(n, seed=seed, binary=binary)  # type: ignore[attr-defined]
        return save_images(images, output, lambda p, data: write_output(p, data, protected))
    return stream_images(model, n, seed=seed, binary=binary, output=output, protected=protected)


#: The PNG grid beside streamed samples shows at most this many (the first ones).
GRID_IMAGES = 400


def stream_images(
    model: Any, n: int, *, seed: int, binary: bool, output: Path, protected: Sequence[Protected]
) -> dict[str, str]:
    """Write ``n`` samples batch by batch into a float16 ``.npy`` (memory-mapped, in a temporary
    file beside ``output``, renamed into place when complete), so memory does not grow with ``n``
    (issue 34, item 2); the file's bytes are :func:`save_images`'. The grid shows the first
    :data:`GRID_IMAGES`."""
    import os

    import numpy as np

    from textgen_eval.images.grid import image_grid, png_bytes

    tmp = output.with_name(f".{output.name}.{os.getpid()}.partial")
    shape = (n, *model.shape)
    try:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=shape)
        first: list[Any] = []
        position = 0
        for batch in model.sample_batches(n, seed=seed, binary=binary):
            array[position : position + len(batch)] = batch.astype(np.float16)
            position += len(batch)
            kept = sum(len(b) for b in first)
            if kept < GRID_IMAGES:
                first.append(batch[: GRID_IMAGES - kept].copy())
        array.flush()
        del array
        os.replace(tmp, output)
    except OSError as exc:
        raise ConfigError(f"--output {output}: cannot write ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    png = output.with_suffix(".png")
    write_output(png, png_bytes(image_grid(np.concatenate(first))), protected)
    return {"npy": str(output), "png": str(png)}


def evaluate_image_model(
    path: str | Path,
    *,
    metrics: str | Sequence[str] | None = None,
    bundle: str | None = None,
    split: str = "test",
    n_eval: int | None = None,
    seed: int = 0,
    batch_size: int = 500,
    samples: int = DEFAULT_IMAGE_SAMPLES,
    trained_bundle: str | None = None,
) -> EvaluationResult:
    """Score the image model at ``path`` on ``split`` of ``bundle`` (default: its training bundle)."""
    model = load_model(path)
    if not isinstance(model, (LatentVariableModel, ProbabilisticClassifier, CompressedModel)):
        raise ConfigError(f"{path}: model {model.name!r} has no image metrics")
    notes: list[str] = []
    if bundle is None:
        bundle = trained_bundle
        if bundle is None:
            raise ConfigError(
                f"{path}: no record of the training bundle; pass --bundle (e.g. mnist-binarized)"
            )
        notes.append(f"scoring on {bundle!r}/{split}, the bundle the model was trained on")
    chosen = resolve_image_bundle(bundle).split(split)
    trained_shape = getattr(model, "shape", None)
    if trained_shape is not None and tuple(trained_shape) != chosen.shape:
        raise ConfigError(
            f"--bundle {bundle}: {split} images of shape {chosen.shape} (C, H, W); the model was trained "
            f"on {tuple(trained_shape)}"
        )
    data = evaluation_split(model, chosen, n_eval=n_eval, seed=seed)
    defaults = model.default_metrics or DEFAULT_IMAGE_METRICS
    names = parse_metric_list(metrics) if metrics is not None else list(defaults)
    scores = score_image_model(model, data, names, seed=seed, batch_size=batch_size)
    weights = model_directory(path) / WEIGHTS_FILE
    has_samples = samples > 0 and hasattr(model, "sample")
    files = write_samples(model, Path(path), n=samples, seed=seed) if has_samples else {}
    if files:
        notes.append(f"wrote {samples} samples to {files['npy']} and {files['png']}")
    return EvaluationResult(
        scores=scores,
        samples={
            "source": f"model:{model_directory(path)}",
            "model": f"{model.name}@{file_digest(str(weights), 12)}",
            "n": samples,
            "seed": seed,
            "files": files,
        },
        reference={"data": data.describe(), "n": len(data)},
        settings={"metrics": names, "split": split, "n_eval": n_eval, "seed": seed, "batch_size": batch_size},
        notes=notes,
    )
