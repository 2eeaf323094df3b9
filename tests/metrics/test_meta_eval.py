"""Controlled degradations and ``tge meta-eval`` (issue 16)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import coco_lines, tiny_recipe_args
from textgen_eval.core.errors import ConfigError
from textgen_eval.data.degrade import base_sample, degrade, drop_words, duplicate, remove_topics, swap_words
from textgen_eval.pipelines.meta_eval import Point, analyse, signed_rho

POOL = coco_lines("test")[:400]


def test_word_dropout_removes_words_at_the_rate_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    out = drop_words(POOL, 0.3, rng)
    kept = sum(len(o.split()) for o in out)
    total = sum(len(t.split()) for t in POOL)
    assert abs(1 - kept / total - 0.3) < 0.02
    for original, dropped in zip(POOL, out):  # an order-preserving subsequence
        it = iter(original.split())
        assert all(word in it for word in dropped.split())
    assert drop_words(POOL, 0.0, rng) == [" ".join(t.split()) for t in POOL]


def test_adjacent_swaps_keep_the_words_and_move_each_at_most_once() -> None:
    out = swap_words(["a b c d e"], 1.0, np.random.default_rng(0))
    assert out == ["b a d c e"]  # every position swaps; a moved word is not moved again
    many = swap_words(POOL, 0.2, np.random.default_rng(1))
    changed = 0
    for original, swapped in zip(POOL, many):
        o, s = original.split(), swapped.split()
        assert Counter(o) == Counter(s)
        assert all(abs(o.index(w) - i) <= 1 for i, w in enumerate(s) if o.count(w) == 1)
        changed += o != s
    assert changed > len(POOL) / 2


def test_duplication_replaces_exactly_the_fraction_with_copies_of_the_rest() -> None:
    texts = [f"sentence {i}" for i in range(50)]
    out = duplicate(texts, 0.3, np.random.default_rng(0))
    replaced = [i for i, (a, b) in enumerate(zip(texts, out)) if a != b]
    assert len(replaced) == 15
    kept = {out[i] for i in range(50) if i not in replaced}
    assert all(out[i] in kept for i in replaced)
    with pytest.raises(ConfigError, match="at least one original"):
        duplicate(texts, 1.0, np.random.default_rng(0))


def test_topic_removal_removes_exactly_the_drawn_labels() -> None:
    labels = [f"t{i % 4}" for i in range(len(POOL))]
    for removed in range(4):
        out = remove_topics(POOL, labels, removed, 60, seed=3, level_index=removed)
        assert len(out.removed) == removed and len(out.texts) == 60 and out.redrawn == 0
        allowed = {t for t, label in zip(POOL, labels) if label not in out.removed}
        assert set(out.texts) <= allowed
    small = remove_topics(POOL, labels, 3, 150, seed=3, level_index=3)
    assert small.redrawn == 50 and len(small.texts) == 150  # 100 sentences per topic
    with pytest.raises(ConfigError, match="at least one must remain"):
        remove_topics(POOL, labels, 4, 10, seed=0, level_index=4)


def test_degradations_are_pure_functions_of_their_seed() -> None:
    a = degrade("dropout", POOL, 0.2, n=50, seed=4, level_index=2)
    b = degrade("dropout", POOL, 0.2, n=50, seed=4, level_index=2)
    c = degrade("dropout", POOL, 0.2, n=50, seed=5, level_index=2)
    assert a == b and a != c
    assert degrade("swap", POOL, 0.0, n=50, seed=4, level_index=0).texts == base_sample(POOL, 50, 4)


def test_signed_rho_and_verdicts() -> None:
    assert signed_rho([0, 1, 2], [0.9, 0.5, 0.1], "higher") == pytest.approx(1.0)
    assert signed_rho([0, 1, 2], [0.9, 0.5, 0.1], "lower") == pytest.approx(-1.0)
    assert signed_rho([0, 1, 2], [0.5, 0.5, 0.5], "lower") == 0.0
    points = [
        Point("dropout", lv, i, s, {"m": s * 0.01 - lv}, {"m": "sig"})
        for i, lv in enumerate((0.0, 0.5))
        for s in range(3)
    ]
    (verdict,) = analyse(points, {"m": "higher"})
    assert verdict.verdict == "detects" and verdict.monotone_seeds == 3


PLUGIN = """
from textgen_eval.metrics import Metric


class MeanLength(Metric):
    name = "mean-length"
    direction = "higher"
    description = "mean words per sample"

    def compute(self, samples, references=None, **context):
        value = sum(len(s.split()) for s in samples) / len(samples)
        return self.make_score(value, n=len(samples), settings={})
"""


@pytest.fixture
def labelled_bundle(tmp_path: Path) -> tuple[Path, Path]:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "train.txt").write_text("\n".join(coco_lines("train")[:300]) + "\n")
    test = coco_lines("test")[:240]
    (bundle / "test.txt").write_text("\n".join(test) + "\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"topic{(i // 2) % 3}" for i in range(240)) + "\n")
    return bundle, labels


@pytest.fixture
def clean_registry():
    from textgen_eval.metrics import metric_registry

    yield
    metric_registry.unregister("mean-length")  # the --plugin of the test is loaded in-process


def test_meta_eval_cli_verdicts_resume_and_a_plugin_metric(
    tge, labelled_bundle, tmp_path, monkeypatch, clean_registry
) -> None:
    bundle, labels = labelled_bundle
    (tmp_path / "length_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "meta"
    args = (
        "meta-eval",
        "--bundle",
        bundle,
        "--labels",
        labels,
        "-m",
        "bleu-2,self-bleu-2,fd,mean-length",
        "--plugin",
        "length_plugin:MeanLength",
        "--n",
        "30",
        "--seeds",
        "2",
        "--rates",
        "0,0.5",
        "--out",
        out,
        "--no-progress",
        "--format",
        "json",
        *tiny_recipe_args(),
    )
    first = tge(*args)
    assert first.code == 0, first.err
    summary = json.loads(first.out)
    verdicts = {(v["metric"], v["degradation"]): v for v in summary["verdicts"]}
    assert len(summary["points"]) == 2 * (3 + 2 + 2 + 2)  # seeds × (3 topics + 2 rates × 3)
    assert verdicts[("mean-length", "dropout")]["verdict"] == "detects"  # a plugin gets verdicts
    assert verdicts[("bleu-2", "duplicate")]["verdict"] == "blind"
    assert verdicts[("self-bleu-2", "duplicate")]["verdict"] == "detects"
    topic_points = [p for p in summary["points"] if p["degradation"] == "topics"]
    assert {len(p["removed"]) for p in topic_points} == {0, 1, 2}
    for name in ("meta-eval.json", "meta-eval.csv", "plots/fd.png", "plots/mean-length.pdf"):
        assert (out / name).is_file(), name

    # an interrupted run: keep half of the points, rerun the same command → identical summary
    lines = (out / "points.jsonl").read_text().splitlines()
    (out / "points.jsonl").write_text("\n".join(lines[:7]) + "\n" + lines[7][:20])
    again = tge(*args)
    assert again.code == 0 and "7 of 18 points already scored" in again.err
    assert json.loads(again.out)["verdicts"] == summary["verdicts"]
    assert len((out / "points.jsonl").read_text().splitlines()) == 18  # the cut fragment is gone
    third = tge(*args)  # and the repaired file reads back whole
    assert third.code == 0 and "18 of 18 points already scored" in third.err

    changed = tge(*[("3" if a == "2" else a) for a in args])  # --seeds 3: other settings
    assert changed.code == 2 and "other settings (seeds)" in changed.err


def test_meta_eval_refuses_bad_options_before_work(tge, tmp_path) -> None:
    out = tmp_path / "m"
    for args, message in (
        (["--degradations", "melt"], "--degradations melt"),
        (["--rates", "0,1.5"], "--rates"),
        (["-m", "nll-iw-10"], "nll-iw-10"),
        (["--labels", str(tmp_path / "none.txt")], "none.txt"),
        (["--featurizer", "glove"], "--featurizer glove"),
        (["--topic-featurizer", "bert:large"], "--topic-featurizer bert:large"),
    ):
        run = tge("meta-eval", "--out", out, *args)
        assert run.code == 2 and message in run.err, run.err
        assert not (out / "points.jsonl").exists()


def test_meta_eval_is_registered_and_its_help_needs_no_torch() -> None:
    import subprocess

    code = "import sys; from textgen_eval.cli.main import main; main(['meta-eval', '--help']); "
    code += "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().endswith("False") and "Semeniuta" in out.stdout


def test_topic_clusters_do_not_depend_on_the_featurizer_under_test(tiny_bundle) -> None:
    """Without --labels the topics are k-means clusters of a fixed featurizer (lsa), so the same
    topics are removed whichever featurizer FD is tested with; clusters drawn in the tested
    featurizer's own space would favour it."""
    from textgen_eval.pipelines.meta_eval import MetaEvaluation, build_spec

    def spec(featurizer: str | None, topic_featurizer: str | None = None):
        recipe = dict(a.split("=", 1) for a in tiny_recipe_args()[1::2])
        return build_spec(
            str(tiny_bundle), metrics=["fd"], degradations=["topics"], rates=None, seeds=1, n=20,
            topics=3, labels=None, featurizer=featurizer, seed=0, recipe=recipe,
            topic_featurizer=topic_featurizer,
        )  # fmt: skip

    assert spec("lm").topic_featurizer == "lsa" and spec("lm").to_dict()["topic_featurizer"] == "lsa"
    by_lm = MetaEvaluation(spec("lm"), Path("unused")).topic_labels()
    by_lsa = MetaEvaluation(spec("lsa:dim=16"), Path("unused")).topic_labels()
    assert by_lm == by_lsa and len(set(by_lm)) == 3
    own = MetaEvaluation(spec("lm", topic_featurizer="lm"), Path("unused")).topic_labels()
    assert own != by_lm  # the option is used: clusters of the reference LM's states differ


def test_topic_featurizer_with_labels_is_refused_and_a_failed_start_can_be_retried(
    tge, labelled_bundle, tmp_path
) -> None:
    bundle, labels = labelled_bundle
    out = tmp_path / "m"
    both = tge("meta-eval", "--bundle", bundle, "--labels", labels, "--topic-featurizer", "lm", "--out", out)
    assert both.code == 2 and "--topic-featurizer" in both.err and not out.exists()

    # a run that fails before its first point leaves only its spec: other settings may follow
    common = ("meta-eval", "--bundle", bundle, "-m", "fd", "--degradations", "dropout", "--rates", "0,0.5",
              "--n", "30", "--seeds", "1", "--no-progress", "--no-plots", "--out", out,
              *tiny_recipe_args())  # fmt: skip
    failed = tge(*common, "--featurizer", "lsa:dim=0")
    assert failed.code == 2 and "dim and min_df" in failed.err
    assert (out / "meta-eval-spec.json").is_file() and not (out / "points.jsonl").exists()
    fixed = tge(*common, "--featurizer", "lsa:dim=8")
    assert fixed.code == 0, fixed.err
    assert json.loads((out / "meta-eval-spec.json").read_text())["featurizer"] == "lsa:dim=8"

    # resumed after the featurizer changed (here: its recorded signature) → refused, nothing appended
    first = json.loads((out / "points.jsonl").read_text().splitlines()[0])
    assert first["signatures"]["fd"].count("|feat:lsa-") == 1
    first["signatures"]["fd"] = first["signatures"]["fd"].replace("|feat:lsa-", "|feat:lsa-retrained-")
    (out / "points.jsonl").write_text(json.dumps(first) + "\n")
    changed = tge(*common, "--featurizer", "lsa:dim=8")
    assert changed.code == 2 and "a featurizer or reference model changed" in changed.err, changed.err
    assert len((out / "points.jsonl").read_text().splitlines()) == 1
    first["signatures"]["fd"] = first["signatures"]["fd"].replace("|feat:lsa-retrained-", "|feat:lsa-")
    (out / "points.jsonl").write_text(json.dumps(first) + "\n")
    assert tge(*common, "--featurizer", "lsa:dim=8").code == 0  # seed fields alone may differ


def test_a_resumed_run_with_other_topics_is_refused(tge, tiny_bundle, tmp_path) -> None:
    out = tmp_path / "m"
    args = ("meta-eval", "--bundle", tiny_bundle, "-m", "bleu-2", "--degradations", "topics", "--topics", "2",
            "--n", "20", "--seeds", "1", "--no-progress", "--no-plots", "--out", out,
            *tiny_recipe_args())  # fmt: skip
    first = tge(*args)
    assert first.code == 0, first.err
    record = json.loads((out / "topics.json").read_text())
    assert record["topic_featurizer"].startswith("lsa-") and len(record["labels_digest"]) == 12
    assert tge(*args).code == 0  # the same topics: resumed
    (out / "topics.json").write_text(json.dumps({**record, "topic_featurizer": "lsa-retrained"}))
    changed = tge(*args)
    assert changed.code == 2 and "other topics" in changed.err
