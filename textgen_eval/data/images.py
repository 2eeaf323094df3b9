"""Image bundles: the bundled statically binarized MNIST and users' own ``.npy`` splits.

An image bundle has a ``train``, an optional ``valid`` and a ``test`` split (:class:`ImageSplit`),
each a ``(N, C·H·W)`` array: ``uint8`` in {0, 1} for binary data, ``float32`` in [0, 1] for
grayscale. Every split carries a digest of its bytes *in the order the loader returns them*, so a
signature names exactly the images scored.

Named bundles:

- ``mnist-binarized``: Larochelle & Murray's static split (50,000 / 10,000 / 10,000), read from the
  bundled MATLAB v5 files, md5-checked. Its test rows are sorted by class, so the loader shuffles
  the test split with a fixed permutation (``default_rng(0)``; ``data/mnist/SOURCE.md``).

A directory with ``train.npy``, optional ``valid.npy`` and ``test.npy`` (``(N, H, W)``,
``(N, C, H, W)`` or ``(N, D)`` arrays; ``uint8`` 0..255, or values in [0, 1]) is a bundle too.
Grayscale data can be binarized for a Bernoulli model: ``threshold`` (> 0.5), or one Bernoulli
draw per pixel seeded by ``(seed, epoch)`` (dynamic binarization, so a resumed run redraws the
same images).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from textgen_eval.core.safe_load import load_array
from textgen_eval.core.errors import InputError
from textgen_eval.data.bundles import bundled_data_dir

if TYPE_CHECKING:
    import numpy as np

IMAGE_SPLITS = ("train", "valid", "test")
Binarization = Literal["none", "dynamic", "threshold"]
BINARIZATIONS: tuple[str, ...] = ("none", "dynamic", "threshold")

#: md5 of every bundled MNIST file (data/mnist/SOURCE.md).
MNIST_MD5 = {
    "binarized/binarized_mnist_train.amat": "4e26f7a5b466cfcde0fa4876fa4b60a6",
    "binarized/binarized_mnist_valid.amat": "3c8c0bae400a11eda4c6caf6642d7d34",
    "binarized/binarized_mnist_test.amat": "3478bd31ef84368bf30234a011d886fa",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_SHAPE = (1, 28, 28)
#: The permutation seed that un-sorts the class-ordered binarized test split.
TEST_SHUFFLE_SEED = 0


def array_digest(pixels: np.ndarray, length: int = 12) -> str:
    """sha256 of an array's shape, dtype and bytes (C order)."""
    import numpy as np

    h = hashlib.sha256(f"{pixels.shape}|{pixels.dtype}|".encode())
    h.update(np.ascontiguousarray(pixels).tobytes())
    return h.hexdigest()[:length]


@dataclass(frozen=True)
class ImageSplit:
    """One split of an image bundle.

    Attributes:
        bundle / split: where the images come from (``mnist-binarized`` / ``test``).
        pixels: ``(N, C·H·W)``; ``uint8`` {0, 1} when ``binary``, else ``float32`` in [0, 1].
        shape: ``(C, H, W)`` of one image.
        binary: every pixel is 0 or 1.
        digest: of ``pixels`` as held (order included).
        binarization: how grayscale became binary (``none``: it did not, or it was binary).
        subset: ``n=…,seed=…`` when this is a seeded subset of the split.
        labels: class labels where the bundle has them.
    """

    bundle: str
    split: str
    pixels: np.ndarray = field(repr=False)
    shape: tuple[int, int, int]
    binary: bool
    digest: str
    binarization: str = "none"
    subset: str | None = None
    labels: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def dim(self) -> int:
        return int(self.pixels.shape[1])

    def describe(self) -> str:
        """``bundle/split@digest`` plus the subset and binarization: the signature's data field."""
        text = f"{self.bundle}/{self.split}@{self.digest}"
        if self.subset:
            text += f"[{self.subset}]"
        if self.binarization != "none":
            text += f"+{self.binarization}"
        return text

    def take(self, n: int | None, seed: int) -> ImageSplit:
        """The first ``n`` images of a seeded permutation (``n=None`` or ``n ≥ N``: all, unpermuted)."""
        import numpy as np

        if n is None or n >= len(self):
            return self
        if n < 1:
            raise InputError(f"an evaluation subset needs ≥ 1 image, got {n}")
        index = np.sort(np.random.default_rng(seed).permutation(len(self))[:n])
        pixels = self.pixels[index]
        labels = self.labels[index] if self.labels is not None else None
        return replace(self, pixels=pixels, labels=labels, subset=f"n={n},seed={seed}")

    def binarized(self, mode: str, seed: int = 0) -> ImageSplit:
        """Binary images for a Bernoulli likelihood: ``threshold`` (> 0.5) or one seeded draw
        (``dynamic``); binary data and ``none`` come back unchanged."""
        if self.binary or mode == "none":
            return self
        pixels = binarize(self.pixels, mode, seed=seed, epoch=0)
        tag = "threshold" if mode == "threshold" else f"draw(seed={seed})"
        return replace(self, pixels=pixels, binary=True, digest=array_digest(pixels), binarization=tag)


def binarize(pixels: np.ndarray, mode: str, *, seed: int, epoch: int) -> np.ndarray:
    """``(N, D)`` grayscale in [0, 1] → ``uint8`` {0, 1}: ``threshold`` (> 0.5) or ``dynamic``
    (x ~ Bernoulli(p), drawn from ``SeedSequence([seed, epoch])``)."""
    import numpy as np

    if mode == "threshold":
        return (pixels > 0.5).astype(np.uint8)
    if mode == "dynamic":
        rng = np.random.default_rng(np.random.SeedSequence([seed, epoch]))
        return (rng.random(pixels.shape, dtype=np.float32) < pixels).astype(np.uint8)
    raise InputError(f"unknown binarization {mode!r}; expected one of {', '.join(BINARIZATIONS)}")


@dataclass(frozen=True)
class ImageBundle:
    """``train``, optional ``valid`` and ``test`` splits, and how runs find the bundle again."""

    name: str
    reference: str
    train: ImageSplit
    valid: ImageSplit | None
    test: ImageSplit

    def split(self, name: str) -> ImageSplit:
        if name not in IMAGE_SPLITS:
            raise InputError(f"image bundle {self.name!r}: unknown split {name!r}; expected train, valid or test")
        found = getattr(self, name)
        if found is None:
            raise InputError(f"image bundle {self.name!r} has no {name} split")
        return found

    @property
    def digest(self) -> str:
        """One digest of the three splits (what tuning workers check)."""
        parts = [s.digest if s is not None else "-" for s in (self.train, self.valid, self.test)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]

    def source(self) -> dict[str, Any]:
        """The JSON-able record of ``run.json``'s ``data``."""
        return {
            "bundle": self.reference,
            "modality": "image",
            "train": self.train.describe(),
            "valid": self.valid.describe() if self.valid is not None else None,
            "test": self.test.describe(),
        }


# -- readers -----------------------------------------------------------------------------------


def checked_file(root: Path, relative: str, md5: str) -> Path:
    """``root/relative`` after checking its md5 (an altered or truncated copy is refused)."""
    path = root / relative
    if not path.is_file():
        raise InputError(f"{path}: bundled file missing (a partial checkout? see data/mnist/SOURCE.md)")
    digest = hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 (a checksum, not security)
    if digest != md5:
        raise InputError(f"{path}: md5 {digest} differs from the published {md5}; the file is damaged")
    return path


def read_mat_images(path: Path) -> np.ndarray:
    """The ``X`` array of a MATLAB v5 file (the binarized-MNIST ``.amat`` files), as uint8."""
    import numpy as np
    from scipy.io import loadmat

    try:
        array = loadmat(str(path))["X"]
    except Exception as exc:  # scipy raises several types for foreign files
        raise InputError(f"{path}: not a MATLAB file with an 'X' array ({type(exc).__name__}: {exc})") from None
    return np.ascontiguousarray(array, dtype=np.uint8)


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (MNIST's format) from a gzip file: magic, dims, then uint8 data."""
    import numpy as np

    raw = gzip.open(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise InputError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise InputError(f"{path}: {data.size} values for dimensions {dims}; the file is truncated")
    return data.reshape(dims)


def mnist_dir() -> Path:
    return bundled_data_dir() / "mnist"


def load_mnist_t10k() -> tuple[np.ndarray, np.ndarray]:
    """The canonical MNIST test images ``(10000, 28, 28)`` uint8 0..255 and labels ``(10000,)``."""
    root = mnist_dir()
    images = read_idx(checked_file(root, "t10k-images-idx3-ubyte.gz", MNIST_MD5["t10k-images-idx3-ubyte.gz"]))
    labels = read_idx(checked_file(root, "t10k-labels-idx1-ubyte.gz", MNIST_MD5["t10k-labels-idx1-ubyte.gz"]))
    return images, labels


def binarized_test_labels() -> np.ndarray:
    """Labels of the binarized test rows *in file order*: ``np.sort(t10k_labels)`` (the rows are
    the t10k images sorted by class; data/mnist/SOURCE.md)."""
    import numpy as np

    _, labels = load_mnist_t10k()
    return np.sort(labels, kind="stable")


def load_mnist_binarized(*, shuffle_test: bool = True) -> ImageBundle:
    """The ``mnist-binarized`` bundle (md5-checked; test split shuffled with a fixed permutation)."""
    import numpy as np

    root = mnist_dir()
    splits: dict[str, ImageSplit] = {}
    for split in IMAGE_SPLITS:
        relative = f"binarized/binarized_mnist_{split}.amat"
        pixels = read_mat_images(checked_file(root, relative, MNIST_MD5[relative]))
        labels = None
        if split == "test":
            labels = binarized_test_labels() if (root / "t10k-labels-idx1-ubyte.gz").is_file() else None
            if shuffle_test:
                order = np.random.default_rng(TEST_SHUFFLE_SEED).permutation(len(pixels))
                pixels = np.ascontiguousarray(pixels[order])
                labels = labels[order] if labels is not None else None
        splits[split] = ImageSplit(
            "mnist-binarized", split, pixels, MNIST_SHAPE, True, array_digest(pixels), labels=labels
        )
    return ImageBundle("mnist-binarized", "mnist-binarized", splits["train"], splits["valid"], splits["test"])


# -- user bundles: a directory of .npy splits ---------------------------------------------------


def _as_images(array: np.ndarray, path: Path) -> tuple[np.ndarray, tuple[int, int, int], bool]:
    """``(N, D)`` pixels, the image shape and whether they are binary, from a user array."""
    import numpy as np

    if array.ndim == 2:
        side = int(round(array.shape[1] ** 0.5))
        shape = (1, side, side) if side * side == array.shape[1] else (1, 1, int(array.shape[1]))
    elif array.ndim == 3:
        shape = (1, int(array.shape[1]), int(array.shape[2]))
    elif array.ndim == 4:
        shape = (int(array.shape[1]), int(array.shape[2]), int(array.shape[3]))
    else:
        raise InputError(f"{path}: array of shape {array.shape}; expected (N, H, W), (N, C, H, W) or (N, D)")
    if array.shape[0] < 1:
        raise InputError(f"{path}: no images")
    if 0 in shape:
        raise InputError(f"{path}: images of shape {shape} have no pixels; expected every side ≥ 1")
    flat = array.reshape(array.shape[0], -1)  # (N, C·H·W)
    if flat.dtype == np.uint8:
        if flat.max() <= 1:
            return np.ascontiguousarray(flat), shape, True
        return (flat.astype(np.float32) / 255.0), shape, False
    if not np.issubdtype(flat.dtype, np.floating) and not np.issubdtype(flat.dtype, np.integer):
        raise InputError(f"{path}: dtype {flat.dtype}; expected uint8 or floating-point pixels")
    flat = flat.astype(np.float32)
    if not np.isfinite(flat).all() or flat.min() < 0 or flat.max() > 1:
        raise InputError(f"{path}: pixel values outside [0, 1] (or not finite); expected uint8 0..255 or [0, 1]")
    if np.isin(flat, (0.0, 1.0)).all():
        return flat.astype(np.uint8), shape, True
    return np.ascontiguousarray(flat), shape, False


def load_npy_bundle(directory: Path) -> ImageBundle:
    """A directory with ``train.npy``, optional ``valid.npy`` and ``test.npy``."""
    splits: dict[str, ImageSplit | None] = {}
    for split in IMAGE_SPLITS:
        path = directory / f"{split}.npy"
        if not path.is_file():
            if split == "valid":
                splits[split] = None
                continue
            raise InputError(f"{directory}: image bundle without {split}.npy (needs train.npy and test.npy)")
        splits[split] = replace(load_npy_split(path, split), bundle=directory.name)
    shapes = {s.shape for s in splits.values() if s is not None}
    if len(shapes) != 1:
        raise InputError(f"{directory}: the splits have different image shapes {sorted(shapes)}")
    train, test = splits["train"], splits["test"]
    assert train is not None and test is not None
    return ImageBundle(directory.name, str(directory.resolve()), train, splits["valid"], test)


def load_npy_split(path: Path, split: str) -> ImageSplit:
    """One ``.npy`` file as a split (``tge train vae --train X.npy --valid Y.npy``)."""
    import numpy as np

    if not path.is_file():
        raise InputError(f"{path}: no such file (expected a .npy array of images)")
    array = load_array(path, what="a NumPy .npy array of images")
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path}: not a NumPy .npy array of images (an .npz archive)")
    pixels, shape, binary = _as_images(array, path)
    return ImageSplit(path.stem, split, pixels, shape, binary, array_digest(pixels))


#: The labelled split of the t10k images for classifiers (IMAGES.md §0): stratified, seed 0.
LABELLED_SPLIT = {"train": 7_000, "valid": 1_000, "test": 2_000}
LABELLED_SEED = 0


def stratified_split(labels: np.ndarray, sizes: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """Row indices per split, each class divided in proportion to ``sizes`` (largest-remainder
    rounding per class, then a seeded shuffle within each split)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    names = list(sizes)
    total = sum(sizes.values())
    if total != len(labels):
        raise ValueError(f"split sizes add up to {total}, not the {len(labels)} rows")
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    counts = {n: 0 for n in names}
    classes = np.unique(labels)
    for k, cls in enumerate(classes):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        if k == len(classes) - 1:  # the last class takes what each split still needs
            quota = [sizes[n] - counts[n] for n in names]
        else:
            exact = [len(rows) * sizes[n] / total for n in names]
            quota = [int(e) for e in exact]
            for i in sorted(range(len(names)), key=lambda i: exact[i] - quota[i], reverse=True)[
                : len(rows) - sum(quota)
            ]:
                quota[i] += 1
        start = 0
        for n, q in zip(names, quota, strict=True):
            parts[n].append(rows[start : start + q])
            counts[n] += q
            start += q
    return {n: rng.permutation(np.concatenate(parts[n])) for n in names}


def load_mnist_labelled() -> ImageBundle:
    """The ``mnist`` bundle for classifiers: MNIST's 10,000 labelled test images binarized at 0.5,
    split stratified 7,000 / 1,000 / 2,000 with seed 0 (the only labelled images bundled; the
    binarized test split holds the same digits, so a classifier trained here has seen them)."""
    import numpy as np

    images, labels = load_mnist_t10k()
    pixels = (images.reshape(len(images), -1) > 127).astype(np.uint8)  # (N, 28, 28) → (N, 784), > 0.5
    index = stratified_split(labels, LABELLED_SPLIT, LABELLED_SEED)
    splits = {
        name: ImageSplit(
            "mnist",
            name,
            np.ascontiguousarray(pixels[rows]),
            MNIST_SHAPE,
            True,
            array_digest(pixels[rows]),
            binarization="threshold",
            labels=labels[rows].astype(np.int64),
        )
        for name, rows in index.items()
    }
    return ImageBundle("mnist", "mnist", splits["train"], splits["valid"], splits["test"])


#: Named image bundles.
IMAGE_BUNDLES: dict[str, Callable[[], ImageBundle]] = {
    "mnist-binarized": load_mnist_binarized,
    "mnist": load_mnist_labelled,
}


def resolve_image_bundle(name: str) -> ImageBundle:
    """A named image bundle or a directory of ``.npy`` splits."""
    if name in IMAGE_BUNDLES:
        return IMAGE_BUNDLES[name]()
    path = Path(name)
    if path.is_dir():
        return load_npy_bundle(path)
    raise InputError(
        f"no image bundle called {name!r}; expected one of {', '.join(sorted(IMAGE_BUNDLES))} "
        "or a directory with train.npy, [valid.npy] and test.npy"
    )
