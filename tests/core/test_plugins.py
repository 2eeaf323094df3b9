"""Metric plugins: entry points, --plugin, errors naming the plugin, and the contract suite."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, TINY_RECIPE, run_subprocess
from textgen_eval.metrics import metric_registry
from textgen_eval.metrics.bleu import Bleu
from textgen_eval.metrics.registry import metric_class, resolve_metric
from textgen_eval.testing import CONTRACT_CHECKS, MetricContract
from textgen_eval.testing.metric_contract import DEFAULT_REFERENCES, DEFAULT_SAMPLES

BUILTINS = [
    "bleu",
    "self-bleu",
    "unique-ngrams",
    "fd",
    "lm-score",
    "reverse-lm-score",
    "knn-precision",
    "knn-recall",
    "mauve",
    "copy-rate",
    "novel-ngrams",
    "train-bleu",
    "fd-inf",
    "nll-oracle",
]


@pytest.fixture(scope="module")
def tiny_resources(tiny_bundle: Path, session_cache: Path):
    import os

    from textgen_eval.data.bundles import Bundle
    from textgen_eval.pipelines.evaluate import recipes_with
    from textgen_eval.pipelines.resources import ReferenceResources

    os.environ["TGE_CACHE_DIR"] = str(session_cache)
    return ReferenceResources(Bundle("tinycoco", tiny_bundle), **recipes_with(TINY_RECIPE))


@pytest.mark.parametrize("check", sorted(CONTRACT_CHECKS))
@pytest.mark.parametrize("stem", BUILTINS)
def test_contract_over_every_builtin(stem: str, check: str, tiny_resources) -> None:
    cls = metric_class(stem)
    context = {"resources": tiny_resources} if cls.needs_resources else {}
    samples, references = DEFAULT_SAMPLES, DEFAULT_REFERENCES
    if cls.needs_oracle:  # oracle metrics score token-id sequences of the oracle bundle's format
        from textgen_eval.data.bundle_meta import bundle_oracle

        context = {"oracle": bundle_oracle(ROOT / "data" / "seqgan-oracle", "seqgan-oracle")}
        lines = (ROOT / "data" / "seqgan-oracle" / "valid.txt").read_text(encoding="utf-8").splitlines()
        samples, references = tuple(lines[:7]), tuple(lines[7:14])
    for order in (1, 2, 4) if cls.ordered else (None,):
        CONTRACT_CHECKS[check](lambda cls=cls, order=order: cls(order=order), samples, references, **context)


def test_every_registered_builtin_is_covered() -> None:
    entries = [e for e in metric_registry.entries() if e.origin == "built-in"]
    builtins = [e.name for e in entries if metric_class(e.name).modality == "text"]
    assert sorted(builtins) == sorted(BUILTINS)  # image metrics: tests/images/test_models.py


class TestBleuThroughTheShippedContractClass(MetricContract):
    metric_class = Bleu
    order = 3


def test_contract_catches_a_broken_metric() -> None:
    from textgen_eval.metrics import Metric

    class Random(Metric):
        name = "random-value"
        direction = "higher"
        description = "not deterministic"
        calls = 0

        def compute(self, samples, references=None, **context):
            type(self).calls += 1
            return self.make_score(float(type(self).calls), n=len(samples), settings={})

    with pytest.raises(AssertionError, match="deterministic"):
        CONTRACT_CHECKS["deterministic"](Random, DEFAULT_SAMPLES, DEFAULT_REFERENCES)


def _doc_files() -> dict[str, str]:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", text, flags=re.S)
    return dict(blocks)


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The docs/plugins.md example written out and pip-installed into a private directory."""
    root = tmp_path_factory.mktemp("plugin")
    src, site = root / "tge-novelty", root / "site"
    src.mkdir()
    files = _doc_files()
    assert set(files) == {"pyproject.toml", "tge_novelty.py", "test_tge_novelty.py"}
    for name, content in files.items():
        (src / name).write_text(content, encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return {"src": src, "site": site}


def test_installed_plugin_is_discovered_through_its_entry_point(
    installed_plugin: dict[str, Path], tmp_path: Path
) -> None:
    env = {"PYTHONPATH": str(installed_plugin["site"])}
    listing = run_subprocess("metrics", "list", "--format", "json", env=env)
    assert listing.code == 0, listing.err
    items = {i["name"]: i for i in json.loads(listing.out)}
    assert items["novel-sentences"]["origin"] == "plugin tge-novelty 0.1.0"
    assert items["novel-sentences"]["direction"] == "higher"
    samples = tmp_path / "s.txt"
    samples.write_text("a man riding a horse\nsomething entirely new here\n", encoding="utf-8")
    refs = tmp_path / "r.txt"
    refs.write_text("a man  riding a horse\nanother caption\n", encoding="utf-8")
    run = run_subprocess(
        "evaluate", str(samples), "-r", str(refs), "-m", "novel-sentences,bleu-2", "--format", "json", env=env
    )
    assert run.code == 0, run.err
    scores = {m["name"]: m for m in json.loads(run.out)["metrics"]}
    assert scores["novel-sentences"]["value"] == 0.5
    assert scores["novel-sentences"]["signature"].startswith("novel-sentences|nrefs:2|")
    # the plugin's own version is in its scores' signatures (issue 35, item 8); the package's are not
    assert "|plugin:tge-novelty==0.1.0|v:" in scores["novel-sentences"]["signature"]
    assert "plugin:" not in scores["bleu-2"]["signature"]


def test_plugin_authors_contract_tests_pass(installed_plugin: dict[str, Path]) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(installed_plugin["src"] / "test_tge_novelty.py"),
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(installed_plugin["site"])},
        cwd=installed_plugin["src"].parent,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "9 passed" in proc.stdout


def test_plugin_option_loads_a_module_that_is_not_installed(tmp_path: Path) -> None:
    src = _doc_files()["tge_novelty.py"]
    (tmp_path / "tge_novelty.py").write_text(src, encoding="utf-8")
    samples = tmp_path / "s.txt"
    samples.write_text("a b\nc d\n", encoding="utf-8")
    env = {"PYTHONPATH": str(tmp_path)}
    run = run_subprocess(
        "evaluate",
        str(samples),
        "-r",
        str(samples),
        "--plugin",
        "tge_novelty:NovelSentences",
        "-m",
        "novel-sentences",
        "--format",
        "json",
        env=env,
    )
    assert run.code == 0, run.err
    assert json.loads(run.out)["metrics"][0]["value"] == 0.0
    from textgen_eval.core.hashing import file_digest

    digest = file_digest(str(tmp_path / "tge_novelty.py"), 8)  # an uninstalled module: its source
    assert f"|plugin:tge_novelty:NovelSentences@{digest}|v:" in json.loads(run.out)["metrics"][0]["signature"]
    listed = run_subprocess("metrics", "list", "--plugin", "tge_novelty:NovelSentences", env=env)
    assert "--plugin tge_novelty:NovelSentences" in listed.out


def _fake_distribution(site: Path, dist: str, entry_points: str) -> None:
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


def test_plugin_that_fails_to_import_is_named(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "broken-plugin", "[textgen_eval.metrics]\nbad-metric = broken_mod:Bad\n")
    (tmp_path / "broken_mod.py").write_text("raise ImportError('needs libfoo')\n", encoding="utf-8")
    run = run_subprocess("metrics", "list", env={"PYTHONPATH": str(tmp_path)})
    assert run.code == 2
    assert (
        "plugin 'bad-metric' (plugin broken-plugin 1.0, broken_mod:Bad) failed to import module 'broken_mod'"
        in run.err
    )
    assert "needs libfoo" in run.err and "Traceback" not in run.err


def test_duplicate_metric_names_are_an_error_naming_both(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "copycat", "[textgen_eval.metrics]\nbleu = copycat_mod:Bleu\n")
    run = run_subprocess("metrics", "list", env={"PYTHONPATH": str(tmp_path)})
    assert run.code == 2
    assert "duplicate metric name 'bleu'" in run.err
    assert "built-in" in run.err and "plugin copycat 1.0" in run.err


def test_entry_point_that_is_not_a_metric(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "notametric", "[textgen_eval.metrics]\nthing = json:dumps\n")
    run = run_subprocess(
        "evaluate", str(ROOT / "data" / "coco" / "test.txt"), "-m", "thing", env={"PYTHONPATH": str(tmp_path)}
    )
    assert run.code == 2
    assert "expected a subclass of textgen_eval.metrics.Metric" in run.err and "notametric" in run.err


def test_resolve_metric_orders() -> None:
    assert resolve_metric("bleu-7").name == "bleu-7"
    assert resolve_metric(" self-bleu-2 ").name == "self-bleu-2"


PLUGIN_METRIC = """
from textgen_eval.metrics import Metric


class MeanLength(Metric):
    name = "plugin-mean-length"
    direction = "higher"
    description = "mean words per sample (a test plugin)"

    def compute(self, samples, references=None, **context):
        value = sum(len(s.split()) for s in samples) / len(samples)
        return self.make_score(value, n=len(samples), settings={})
"""

PLUGIN_MODEL = """
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel


class PluginLM(LSTMLanguageModel):
    name = "plugin-lm"
    description = "the LSTM LM under another name (a test plugin)"


def featurizer(arg, resources):
    from textgen_eval.metrics.featurizers import make_featurizer

    return make_featurizer("lsa", resources)
"""

#: Tests that enumerate the registries, the CLI listings and the start-up cost: the ones an
#: installed plugin could break.
REGISTRY_TESTS = [
    "tests/cli/test_cli.py::test_metrics_list",
    "tests/cli/test_platform_cli.py::test_models_list_shows_every_model_with_modality_paper_and_origin",
    "tests/cli/test_image_cli.py::test_metrics_list_shows_the_modality",
    "tests/core/test_plugins.py::test_every_registered_builtin_is_covered",
    "tests/generators/test_generators.py::test_every_registered_generator_has_a_tiny_config",
    "tests/images/test_models.py::test_every_builtin_image_model_and_metric_is_covered",
    "tests/test_imports.py",
]


def test_the_suite_passes_with_plugins_installed(tmp_path: Path) -> None:
    """Issue 19: following docs/plugins.md must not break the project's own tests. A metric, a
    model and a featurizer plugin are installed (entry points in a private site directory) and
    the tests that enumerate registries run against them."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "tge_test_metric_plugin.py").write_text(PLUGIN_METRIC, encoding="utf-8")
    (site / "tge_test_model_plugin.py").write_text(PLUGIN_MODEL, encoding="utf-8")
    _fake_distribution(
        site,
        "tge-test-plugins",
        "[textgen_eval.metrics]\nplugin-mean-length = tge_test_metric_plugin:MeanLength\n"
        "[textgen_eval.models]\nplugin-lm = tge_test_model_plugin:PluginLM\n"
        "[textgen_eval.featurizers]\nplugin-feat = tge_test_model_plugin:featurizer\n",
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = run_subprocess("models", "list", "--format", "json", env={"PYTHONPATH": str(site)})
    assert "plugin-lm" in {r["name"] for r in json.loads(listed.out)}  # the plugins are live
    metrics = run_subprocess("metrics", "list", "--format", "json", env={"PYTHONPATH": str(site)})
    assert "plugin-mean-length" in {r["name"] for r in json.loads(metrics.out)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *REGISTRY_TESTS],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
