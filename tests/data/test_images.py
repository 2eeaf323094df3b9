"""Image bundles: the bundled MNIST files (shapes, values, checksums, the label rule of the sorted
binarized test rows), users' .npy bundles, seeded subsets and binarization (IMAGES.md §7 test 12)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from textgen_eval.core.errors import InputError
from textgen_eval.data import images
from textgen_eval.data.images import (
    binarize,
    binarized_test_labels,
    load_mnist_binarized,
    load_mnist_t10k,
    load_npy_bundle,
    resolve_image_bundle,
)

T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist() -> images.ImageBundle:
    return load_mnist_binarized()


def test_binarized_mnist_shapes_values_and_order(mnist: images.ImageBundle) -> None:
    for split, n in (("train", 50_000), ("valid", 10_000), ("test", 10_000)):
        data = mnist.split(split)
        assert data.pixels.shape == (n, 784) and data.pixels.dtype == np.uint8
        assert set(np.unique(data.pixels)) == {0, 1} and data.binary and data.shape == (1, 28, 28)
    assert abs(mnist.train.pixels.mean() - 0.1306) < 1e-3
    # the file's test rows are sorted by class; the loader shuffles them with a fixed permutation
    raw = load_mnist_binarized(shuffle_test=False).test
    order = np.random.default_rng(images.TEST_SHUFFLE_SEED).permutation(10_000)
    assert np.array_equal(mnist.test.pixels, raw.pixels[order])
    assert np.array_equal(mnist.test.labels, raw.labels[order])
    assert mnist.test.digest != raw.digest  # the order is part of the digest


def test_the_sorted_label_rule_reproduces_the_t10k_class_counts() -> None:
    labels = binarized_test_labels()
    assert np.bincount(labels).tolist() == T10K_COUNTS
    assert np.all(np.diff(labels.astype(int)) >= 0)


def test_sorted_test_rows_match_their_t10k_images(mnist: images.ImageBundle) -> None:
    """The label rule is only useful if row i is the i-th t10k image in class order: check the
    binarized rows against thresholded grayscale images on a sample."""
    t10k, labels = load_mnist_t10k()
    raw = load_mnist_binarized(shuffle_test=False).test.pixels
    order = np.argsort(labels, kind="stable")
    rows = np.arange(0, 10_000, 97)
    gray = (t10k[order[rows]].reshape(len(rows), 784) > 127).astype(np.uint8)
    agreement = (gray == raw[rows]).mean(axis=1)
    assert np.median(agreement) > 0.9  # static binarization draws pixels, so not identical


def test_t10k_loader(mnist: images.ImageBundle) -> None:
    t10k, labels = load_mnist_t10k()
    assert t10k.shape == (10_000, 28, 28) and t10k.dtype == np.uint8 and t10k.max() == 255
    assert np.bincount(labels).tolist() == T10K_COUNTS


def test_a_damaged_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "mnist"
    shutil.copytree(images.mnist_dir(), root)
    path = root / "binarized" / "binarized_mnist_valid.amat"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    monkeypatch.setenv("TGE_DATA_DIR", str(tmp_path))
    with pytest.raises(InputError, match=r"binarized_mnist_valid.amat: md5 .* differs"):
        load_mnist_binarized()


def test_subsets_are_seeded_and_recorded(mnist: images.ImageBundle) -> None:
    a, b = mnist.test.take(100, seed=3), mnist.test.take(100, seed=3)
    assert np.array_equal(a.pixels, b.pixels) and len(a) == 100
    assert not np.array_equal(a.pixels, mnist.test.take(100, seed=4).pixels)
    assert a.describe() == f"mnist-binarized/test@{mnist.test.digest}[n=100,seed=3]"
    assert mnist.test.take(None, seed=0) is mnist.test


def test_dynamic_binarization_is_seeded_by_seed_and_epoch() -> None:
    gray = np.random.default_rng(0).random((50, 16), dtype=np.float32)
    a = binarize(gray, "dynamic", seed=1, epoch=2)
    assert np.array_equal(a, binarize(gray, "dynamic", seed=1, epoch=2))
    assert not np.array_equal(a, binarize(gray, "dynamic", seed=1, epoch=3))
    assert set(np.unique(a)) == {0, 1} and abs(a.mean() - gray.mean()) < 0.05
    assert np.array_equal(binarize(gray, "threshold", seed=0, epoch=0), (gray > 0.5).astype(np.uint8))


def test_npy_bundles(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "train.npy", rng.integers(0, 256, (20, 12, 12), dtype=np.uint8))
    np.save(tmp_path / "test.npy", rng.integers(0, 256, (8, 12, 12), dtype=np.uint8))
    bundle = resolve_image_bundle(str(tmp_path))
    assert bundle.valid is None and bundle.train.shape == (1, 12, 12) and not bundle.train.binary
    assert bundle.train.pixels.dtype == np.float32 and bundle.train.pixels.max() <= 1.0
    binary = bundle.test.binarized("threshold")
    assert binary.binary and binary.binarization == "threshold" and binary.describe().endswith("+threshold")
    np.save(tmp_path / "valid.npy", np.zeros((4, 10, 10)))
    with pytest.raises(InputError, match="different image shapes"):
        load_npy_bundle(tmp_path)
    np.save(tmp_path / "valid.npy", np.full((4, 12, 12), 3.0))
    with pytest.raises(InputError, match=r"valid.npy: pixel values outside \[0, 1\]"):
        load_npy_bundle(tmp_path)
    (tmp_path / "valid.npy").unlink()
    (tmp_path / "test.npy").unlink()
    with pytest.raises(InputError, match="without test.npy"):
        load_npy_bundle(tmp_path)


def test_unknown_bundle_names_the_choices() -> None:
    with pytest.raises(InputError, match="mnist-binarized"):
        resolve_image_bundle("mnist-typo")


def test_the_checked_md5s_are_the_published_ones() -> None:
    """The loader's table, SOURCE.md and the bytes on disk agree."""
    import hashlib

    source = (images.mnist_dir() / "SOURCE.md").read_text(encoding="utf-8")
    for relative, md5 in images.MNIST_MD5.items():
        assert md5 in source
        assert hashlib.md5((images.mnist_dir() / relative).read_bytes()).hexdigest() == md5


def test_the_labelled_mnist_split_is_stratified_disjoint_and_fixed() -> None:
    bundle = images.load_mnist_labelled()
    sizes = {s: len(bundle.split(s)) for s in ("train", "valid", "test")}
    assert sizes == {"train": 7000, "valid": 1000, "test": 2000}
    t10k, labels = load_mnist_t10k()
    rows = [bundle.split(s).pixels for s in ("train", "valid", "test")]
    assert sum(len(r) for r in rows) == 10_000
    for split in ("train", "valid", "test"):
        part = bundle.split(split)
        counts = np.bincount(part.labels, minlength=10) / len(part)
        assert np.abs(counts - np.array(T10K_COUNTS) / 10_000).max() < 0.002  # stratified
        assert part.binary and part.binarization == "threshold"
    assert images.load_mnist_labelled().test.digest == bundle.test.digest  # fixed by seed 0
    # every t10k image lands in exactly one split (compare as multisets of rows)
    everything = np.sort(np.concatenate(rows).view(np.dtype((np.void, 784))).ravel())
    expected = np.sort(((t10k.reshape(-1, 784) > 127).astype(np.uint8)).view(np.dtype((np.void, 784))).ravel())
    assert np.array_equal(everything, expected)
