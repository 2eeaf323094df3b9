"""No file the project reads can run code (issue 34, item 1).

A guard walks the package's source: every ``torch.load`` must pass ``weights_only=True``, every
``numpy.load`` ``allow_pickle=False``, both only inside ``textgen_eval/core/safe_load.py``, and no
module may import an unpickler (``pickle``, ``dill``, ``joblib`` …) or call ``torch.jit.load`` /
``pandas.read_pickle``. Then a planted pickle — an object whose unpickling touches a marker file —
is put in every kind of binary file the project reads: each is refused (or discarded, for a cache
entry) naming the file, the marker never appears, and no message suggests enabling pickling.
"""

from __future__ import annotations

import ast
import io
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from textgen_eval.core.errors import InputError

PACKAGE = Path(__file__).resolve().parents[2] / "textgen_eval"
SAFE_MODULE = PACKAGE / "core" / "safe_load.py"
UNPICKLERS = {"pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve", "_pickle"}
ADVICE = ("weights_only=False", "allow_pickle=True", "trust the source", "weights_only", "allow_pickle")


def _keyword(call: ast.Call, name: str) -> object:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def unsafe_loads(source: str, *, safe_module: bool = False) -> list[str]:
    """Every way ``source`` could unpickle: a finding per line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top in UNPICKLERS and not (safe_module and top == "pickle"):  # for its exception type
                    found.append(f"line {node.lineno}: imports {name}")
            torch_or_numpy = isinstance(node, ast.ImportFrom) and node.module in ("torch", "numpy")
            if torch_or_numpy and any(a.name == "load" for a in node.names):
                found.append(f"line {node.lineno}: imports load from {node.module}")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name in ("torch.load", "np.load", "numpy.load"):
            if not safe_module:
                found.append(f"line {node.lineno}: {name} outside core/safe_load.py")
            elif name == "torch.load" and _keyword(node, "weights_only") is not True:
                found.append(f"line {node.lineno}: torch.load without weights_only=True")
            elif name != "torch.load" and _keyword(node, "allow_pickle") is not False:
                found.append(f"line {node.lineno}: {name} without allow_pickle=False")
        if name.endswith(("jit.load", "read_pickle", "pickle.load", "pickle.loads")):
            found.append(f"line {node.lineno}: {name}")
    return found


def test_no_module_of_the_package_can_unpickle() -> None:
    findings = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found = unsafe_loads(path.read_text(encoding="utf-8"), safe_module=path == SAFE_MODULE)
        if found:
            findings[str(path.relative_to(PACKAGE))] = found
    assert findings == {}


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.load(p, weights_only=False)",
        "import torch\ntorch.load(p)",
        "import numpy as np\nnp.load(p)",
        "import pickle\n",
        "from torch import load\n",
        "import joblib\n",
        "import torch\ntorch.jit.load(p)",
    ],
)
def test_the_guard_finds_every_way_to_unpickle(source: str) -> None:
    assert unsafe_loads(source), source
    if "import pickle" not in source:  # the safe module may import pickle (for its exception type)
        assert unsafe_loads(source, safe_module=True), source


def test_the_guard_lets_the_safe_module_load_tensors_and_arrays() -> None:
    ok = "import torch, numpy as np\ntorch.load(p, weights_only=True)\nnp.load(p, allow_pickle=False)"
    assert unsafe_loads(ok, safe_module=True) == []
    assert unsafe_loads(ok) != []  # but nowhere else


# -- planted pickles ---------------------------------------------------------------------------


class Planted:
    """Unpickling it touches ``marker`` (what an attacker's payload would do, harmlessly)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.marker,))


def _torch_file(path: Path, marker: Path, wrap: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"module": Planted(marker), "config": {}} if wrap else Planted(marker)
    torch.save(payload, path)
    # the test's premise: the payload does run when unpickled by a loader that allows it
    probe = path.with_suffix(".probe")
    pickle.loads(pickle.dumps(Planted(probe)))
    assert probe.exists()
    probe.unlink()


def _npy_file(path: Path, marker: Path) -> None:
    array = np.empty(2, dtype=object)
    array[0] = Planted(marker)
    np.save(path, array, allow_pickle=True)


def _no_advice(message: str) -> None:
    assert not any(a in message for a in ADVICE), message


def test_weights_of_a_saved_model_are_never_unpickled(tmp_path: Path, tge, tiny_bundle: Path) -> None:
    out, marker = tmp_path / "lm", tmp_path / "ran"
    sets = ["--set", "model.emb_dim=4", "--set", "model.hidden_size=4", "--set", "runner.max_epochs=1"]
    assert tge("train", "lstm-lm", "--data", tiny_bundle, "--out", out, "--no-progress", *sets).code == 0
    weights = out / "model" / "weights.pt"
    _torch_file(weights, marker, wrap=False)
    run = tge("sample", out, "-n", "3", "--no-progress")
    assert run.code == 2 and str(weights) in run.err and "pickled Python objects" in run.err
    assert "Traceback" not in run.err and not marker.exists()
    _no_advice(run.err)
    # and a resume reads the planted training checkpoint no further than its tensors
    checkpoint = out / "checkpoint.pt"
    _torch_file(checkpoint, marker)
    (out / "result.json").unlink()
    run = tge("train", "lstm-lm", "--data", tiny_bundle, "--out", out, "--resume", "--no-progress", *sets)
    assert run.code == 2 and str(checkpoint) in run.err and not marker.exists()
    _no_advice(run.err)


def test_loaders_refuse_planted_tensors_and_arrays(tmp_path: Path) -> None:
    from textgen_eval.core.safe_load import load_array, load_tensors

    marker = tmp_path / "ran"
    pt, npy = tmp_path / "x.pt", tmp_path / "x.npy"
    _torch_file(pt, marker)
    _npy_file(npy, marker)
    for load, path in ((load_tensors, pt), (load_array, npy), (load_tensors, pt.read_bytes())):
        with pytest.raises(InputError) as info:
            load(path, what="a test file")
        _no_advice(str(info.value))
        assert "pickled Python objects" in str(info.value)
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")  # a zero-byte file is damaged, not an interrupt (EOFError is not Ctrl-D)
    with pytest.raises(InputError, match=re.escape("empty.npy: not a test file")):
        load_array(empty, what="a test file")
    assert not marker.exists()


def test_planted_feature_and_image_arrays_are_refused(tmp_path: Path) -> None:
    from textgen_eval.data.images import load_npy_split
    from textgen_eval.metrics.featurizers import NpyFeaturizer

    marker = tmp_path / "ran"
    npy = tmp_path / "planted.npy"
    _npy_file(npy, marker)
    with pytest.raises(InputError, match=re.escape("planted.npy: not a NumPy .npy array of images")) as info:
        load_npy_split(npy, "train")
    _no_advice(str(info.value))
    with pytest.raises(
        InputError, match=re.escape("planted.npy: not a NumPy .npy array of features")
    ) as info:
        NpyFeaturizer._load(npy)
    _no_advice(str(info.value))
    assert not marker.exists()


def test_a_planted_oracle_parameter_file_is_refused(tmp_path: Path) -> None:
    from textgen_eval.data.oracle import OracleParams

    marker = tmp_path / "ran"
    path = tmp_path / "oracle.npz"
    array = np.empty(1, dtype=object)
    array[0] = Planted(marker)
    np.savez(path, embeddings=array)
    with pytest.raises(InputError, match=re.escape("oracle.npz: not an oracle parameter file")) as info:
        OracleParams.load(path, origin="planted")
    _no_advice(str(info.value))
    assert not marker.exists()


def test_a_planted_nli_encoder_checkpoint_is_discarded_not_run(tmp_path: Path, monkeypatch) -> None:
    """The cache's partial-training checkpoint of the FD encoder (the file issue 34 found loaded
    with pickling enabled): discarded with a note, the encoder trained from the start."""
    from textgen_eval.metrics.nli_encoder import EncoderRecipe, load_or_train

    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "cache"))
    recipe = EncoderRecipe(emb_dim=4, hidden_size=4, mlp_size=8, epochs=1, max_pairs=100)
    marker = tmp_path / "ran"
    _torch_file(tmp_path / "cache" / "encoder" / f".partial-{recipe.id}" / "checkpoint.pt", marker)
    notes: list[str] = []
    encoder = load_or_train(recipe, notes=notes)
    assert not marker.exists()
    assert any("pickled Python objects" in n and "trained from the start" in n for n in notes), notes
    for note in notes:
        _no_advice(note)
    assert encoder.features(["a dog runs"]).shape == (1, 8)


def test_a_planted_lsa_cache_entry_is_rebuilt_not_run(tmp_path: Path, monkeypatch) -> None:
    import hashlib
    import json

    from textgen_eval.metrics.featurizers import load_or_fit_lsa

    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "ran"
    root = tmp_path / "cache" / "featurizers"
    root.mkdir(parents=True)
    buffer = io.BytesIO()
    words = np.empty(1, dtype=object)
    words[0] = Planted(marker)
    np.savez(buffer, words=words, idf=np.ones(1), components=np.ones((1, 1)))
    (root / "k").mkdir()
    (root / "k" / "lsa.npz").write_bytes(
        buffer.getvalue()
    )  # with a matching digest: only the loader stands guard
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    (root / "k" / "meta.json").write_text(json.dumps({"content": {"lsa.npz": digest}}))
    fitted = []

    def fit() -> object:
        from textgen_eval.metrics.lsa import LsaModel

        fitted.append(1)
        return LsaModel({"a": 0}, np.ones(1), np.ones((1, 1)))

    load_or_fit_lsa("k", fit)
    assert fitted == [1] and not marker.exists()


def test_damaged_or_mislabelled_arrays_are_refused_by_name(tmp_path: Path) -> None:
    """A zero-byte .npy (numpy's EOFError, once taken for Ctrl-D: exit 130), an .npz named .npy, and
    an .npy whose header claims more rows than the file holds: each an InputError naming the file."""
    from textgen_eval.data.images import load_npy_split
    from textgen_eval.metrics.featurizers import NpyFeaturizer

    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    archive = tmp_path / "archive.npy"
    with open(archive, "wb") as handle:
        np.savez(handle, x=np.zeros((2, 3)))
    short = tmp_path / "short.npy"
    np.save(short, np.zeros((100, 4), dtype=np.float32))
    short.write_bytes(short.read_bytes()[:-800])  # the header still says 100 rows
    for path in (empty, archive, short):
        for load in (lambda p: load_npy_split(p, "train"), NpyFeaturizer._load):
            with pytest.raises(InputError, match=re.escape(str(path))):
                load(path)


def test_zero_width_images_are_refused_naming_the_file(tmp_path: Path) -> None:
    """Issue 34, item 5: (N, 0, W) images were a zero-size reduction inside numpy, reported as an
    internal error; now an input error naming the file and the shape."""
    from textgen_eval.data.images import load_npy_split

    path = tmp_path / "train.npy"
    np.save(path, np.zeros((4, 0, 5), dtype=np.uint8))
    with pytest.raises(InputError, match=re.escape(f"{path}: images of shape (1, 0, 5) have no pixels")):
        load_npy_split(path, "train")
