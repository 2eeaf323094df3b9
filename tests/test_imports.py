"""Start-up cost and the dependency direction of the package."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

HEAVY = ("torch", "transformers", "datasets", "sentencepiece", "sacrebleu", "optuna", "matplotlib")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["evaluate", "--help"],
        ["metrics", "list"],
        ["--version"],
        ["train", "lm", "--help"],
        ["train", "--help"],
        ["models", "--help"],
        ["sample", "--help"],
        ["tune", "--help"],
        ["report", "--help"],
        ["compare", "--help"],
        ["bundle", "--help"],
        ["meta-eval", "--help"],
    ],
)
def test_cli_fast_paths_do_not_import_heavy_libraries(argv: list[str]) -> None:
    code = (
        "import sys, json\n"
        "from textgen_eval.cli.main import main\n"
        f"rc = main({argv!r})\n"
        f"print(json.dumps({{'rc': rc, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"rc": 0, "heavy": []}


def test_import_textgen_eval_is_light() -> None:
    code = f"import sys, textgen_eval; print(sorted(m for m in ('numpy',) + {HEAVY!r} if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip() == "[]"


# Layers, lowest first. A module may import its own subpackage and strictly lower layers only;
# subpackages of the same layer never import each other (composition happens in pipelines).
LAYERS = {
    "core": 0,
    "data": 1,
    "metrics": 2,
    "generators": 2,
    "training": 2,
    "tuning": 2,
    "images": 2,
    "testing": 3,
    "pipelines": 3,
    "cli": 4,
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "textgen_eval" and node.level == 0:
            found.extend((node.lineno, f"textgen_eval.{a.name}") for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "textgen_eval"]


def layering_violations(package: Path) -> list[str]:
    problems = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).parts
        if len(parts) < 2:
            continue  # textgen_eval/__init__.py and __main__.py are the public face
        layer_name = parts[0]
        if layer_name not in LAYERS:
            problems.append(f"{path}: subpackage {layer_name!r} has no layer; add it to LAYERS")
            continue
        for line, name in _imports(path):
            target = name.split(".")[1] if name.count(".") else None
            if target is None or target == "__version__" or target == layer_name or target not in LAYERS:
                continue
            if LAYERS[target] >= LAYERS[layer_name]:
                problems.append(
                    f"{path}:{line}: {layer_name} (layer {LAYERS[layer_name]}) "
                    f"imports {name} (layer {LAYERS[target]})"
                )
    return problems


def test_dependency_direction() -> None:
    assert layering_violations(ROOT / "textgen_eval") == []


def test_layering_check_catches_an_upward_import(tmp_path: Path) -> None:
    pkg = tmp_path / "textgen_eval"
    (pkg / "data").mkdir(parents=True)
    (pkg / "data" / "bad.py").write_text("from textgen_eval.metrics.bleu import Bleu\n", encoding="utf-8")
    (pkg / "metrics").mkdir()
    (pkg / "metrics" / "sibling.py").write_text("import textgen_eval.generators.lstm\n", encoding="utf-8")
    problems = layering_violations(pkg)
    assert len(problems) == 2, problems
    assert "data (layer 1) imports textgen_eval.metrics.bleu (layer 2)" in problems[0]
    assert "metrics (layer 2) imports textgen_eval.generators.lstm (layer 2)" in problems[1]
