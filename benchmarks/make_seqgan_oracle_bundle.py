"""Regenerate the bundled ``data/seqgan-oracle`` corpus from the published SeqGAN files.

    python benchmarks/make_seqgan_oracle_bundle.py [--shared ../shared/data/oracle] [--out DIR]

Reads SeqGAN's parameters (``seqgan_target_params.npz``, the 15 arrays of ``target_params.pkl``) and
its published oracle sample (``seqgan_real_data.txt``, 9,984 × 20), checks both against the md5s of
``../shared/data/oracle/SOURCE.md``, and builds the bundle with ``build_oracle_bundle``: the
published file is the training split (byte copy), valid and test are 10,000 sequences each drawn
by our port (float64, seeds 1 and 2), and the parameter file is a byte copy. It then compares the
result with the committed ``data/seqgan-oracle`` (file by file) unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

from textgen_eval.data.oracle import OracleParams
from textgen_eval.data.oracle_bundle import ORACLE_FILE, build_oracle_bundle

ROOT = Path(__file__).resolve().parent.parent
PARAMS_MD5 = "c0d5c09efcc8f80108e420b1dd5c528b"
DATA_MD5 = "86e622ae4ebde91177de95f16e4cc9bc"
COMPARED = ("train.txt", "valid.txt", "test.txt", ORACLE_FILE, "bundle.json")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data" / "oracle")
    parser.add_argument("--out", type=Path, default=None, help="write here instead of comparing")
    args = parser.parse_args()
    params_file, data_file = args.shared / "seqgan_target_params.npz", args.shared / "seqgan_real_data.txt"
    for path, expected in ((params_file, PARAMS_MD5), (data_file, DATA_MD5)):
        if md5(path) != expected:
            print(f"{path}: md5 {md5(path)}, expected {expected} (SOURCE.md)", file=sys.stderr)
            return 2
    params = OracleParams.load(params_file, origin="seqgan")
    train = data_file.read_text(encoding="utf-8").splitlines()
    work = Path(tempfile.mkdtemp()) / "seqgan-oracle" if args.out is None else args.out
    build_oracle_bundle(
        work, oracle="seqgan", length=20, n=10_000, seed=0, params=params, train_lines=train,
        command=["python", "benchmarks/make_seqgan_oracle_bundle.py"],
    )  # fmt: skip
    shutil.copyfile(data_file, work / "train.txt")  # the published bytes, not a rewrite
    shutil.copyfile(params_file, work / ORACLE_FILE)
    for name in COMPARED:
        print(f"{name:12s} md5 {md5(work / name)}")
    if args.out is not None:
        return 0
    committed = ROOT / "data" / "seqgan-oracle"
    differ = [name for name in COMPARED if md5(work / name) != md5(committed / name)]
    print("identical to data/seqgan-oracle" if not differ else f"differs from data/seqgan-oracle: {differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
