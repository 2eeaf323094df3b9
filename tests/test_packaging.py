"""A built wheel carries the bundled corpora, so non-editable installs work offline."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_contains_bundled_coco_and_entry_point(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("textgen_eval-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "textgen_eval/_bundled_data/coco/test.txt" in names
        assert "textgen_eval/_bundled_data/coco/train.txt" in names
        assert "textgen_eval/_bundled_data/coco/SOURCE.md" in names
        for name in ("train.txt", "test.txt", "SOURCE.md", "SOURCE.json"):
            assert f"textgen_eval/_bundled_data/emnlp-news/{name}" in names
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "tge = textgen_eval.cli.main:entry_point" in zf.read(entry_points).decode()
        data = zf.read("textgen_eval/_bundled_data/coco/test.txt")
        for name in ("binarized/binarized_mnist_train.amat", "t10k-labels-idx1-ubyte.gz", "SOURCE.md"):
            assert f"textgen_eval/_bundled_data/mnist/{name}" in names
        mnist = zf.read("textgen_eval/_bundled_data/mnist/binarized/binarized_mnist_test.amat")
    assert data == (ROOT / "data" / "coco" / "test.txt").read_bytes()
    assert mnist == (ROOT / "data" / "mnist" / "binarized" / "binarized_mnist_test.amat").read_bytes()
