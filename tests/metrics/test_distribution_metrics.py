"""k-NN precision/recall, MAUVE, memorization metrics and bootstrap intervals (issue 16)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tests.conftest import coco_lines
from textgen_eval.data.tokenizers import WhitespaceTokenizer
from textgen_eval.metrics.bleu import bleu_scores
from textgen_eval.metrics.bootstrap import RatioOfSums, TwoSets, bootstrap_interval
from textgen_eval.metrics.frechet import frechet_distance
from textgen_eval.metrics.knn import coverage, knn_precision_recall, knn_radii
from textgen_eval.metrics.mauve_math import (
    auto_clusters,
    divergence_curve,
    kmeans,
    mauve_from_histograms,
    quantize,
)
from textgen_eval.metrics.memorization import copy_flags, novel_counts
from textgen_eval.metrics.tables import NgramTables

# -- k-NN precision and recall ---------------------------------------------------------------------


def _brute_radii(x: np.ndarray, k: int) -> np.ndarray:
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def test_knn_radii_and_coverage_equal_a_brute_force_float64_computation() -> None:
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 16)), rng.normal(0.3, 1.0, size=(250, 16))
    radii = knn_radii(real, 3)
    assert np.array_equal(radii, _brute_radii(real, 3))
    d = np.sqrt(((fake[:, None, :] - real[None, :, :]) ** 2).sum(axis=2))
    assert np.array_equal(coverage(fake, real, radii), (d <= radii[None, :]).any(axis=1))


def test_knn_precision_recall_on_gaussian_clouds_with_known_overlap() -> None:
    rng = np.random.default_rng(1)
    real = rng.normal(size=(400, 8))
    assert knn_precision_recall(real, real.copy(), 3) == (1.0, 1.0)  # identical sets
    far = rng.normal(size=(400, 8)) + 100.0
    assert knn_precision_recall(real, far, 3) == (0.0, 0.0)  # disjoint
    # a tight subset of the real cloud: every fake point is inside the real manifold, but the
    # fakes' small balls cover few real points
    subset = real[np.linalg.norm(real, axis=1) < 2.0][:100]
    precision, recall = knn_precision_recall(real, subset, 3)
    assert precision == 1.0 and recall < 0.6


def test_points_on_a_ball_boundary_are_decided_in_float64() -> None:
    centres = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [10.0, 0.0]])
    radii = knn_radii(centres, 1)  # 1, 1, 2, 7
    queries = np.array([[0.0, 1.0], [1.0 + 1e-9, 0.0], [17.0, 0.0], [17.0 + 1e-6, 0.0]])
    assert coverage(queries, centres, radii).tolist() == [True, True, True, False]


# -- MAUVE -------------------------------------------------------------------------------------------


def test_mauve_of_identical_histograms_is_one_and_of_disjoint_ones_near_zero() -> None:
    p = np.array([0.2, 0.3, 0.5])
    assert mauve_from_histograms(p, p) == pytest.approx(1.0, abs=1e-6)
    disjoint = mauve_from_histograms(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert disjoint < 0.01


def test_mauve_decreases_as_one_feature_set_shifts() -> None:
    rng = np.random.default_rng(2)
    q = rng.normal(size=(600, 8))
    values = []
    for shift in (0.0, 0.5, 1.0, 2.0):
        p = q + np.array([shift] + [0.0] * 7)  # identical points, then shifted
        hp, hq = quantize(p, q, clusters=20, seed=0)
        values.append(mauve_from_histograms(hp, hq))
    assert values[0] == pytest.approx(1.0, abs=1e-9)
    assert all(b < a for a, b in itertools.pairwise(values)), values


def test_divergence_curve_end_points_and_kmeans_determinism() -> None:
    curve = divergence_curve(np.array([0.5, 0.5]), np.array([0.9, 0.1]))
    assert curve[0].tolist() == [1.0, 0.0] and curve[-1].tolist() == [0.0, 1.0]
    x = np.random.default_rng(3).normal(size=(200, 4))
    a, b = kmeans(x, 7, seed=5), kmeans(x, 7, seed=5)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert auto_clusters(1234, 5000) == 123 and auto_clusters(5, 5) == 2


def test_mauve_equals_the_mauve_text_package_on_its_own_histograms() -> None:
    """Parity on identical quantization: the divergence frontier and its area are the same to
    1e-12; the k-means differ (faiss vs ours), see docs/metrics.md."""
    import mauve  # the test extra installs mauve-text (with faiss-cpu and scikit-learn)

    rng = np.random.default_rng(4)
    p_feats, q_feats = rng.normal(size=(300, 16)), rng.normal(0.4, 1.0, size=(300, 16))
    out = mauve.compute_mauve(p_features=p_feats, q_features=q_feats, num_buckets=12, verbose=False, seed=7)
    ours = mauve_from_histograms(out.p_hist, out.q_hist)
    assert abs(ours - out.mauve) <= 1e-6, (ours, out.mauve)
    assert out.mauve < 0.99


# -- memorization ------------------------------------------------------------------------------------

TRAIN = ["a dog runs on the beach", "a cat sleeps", "two men ride horses"]


def test_copy_rate_and_novel_ngrams_by_hand() -> None:
    tables = NgramTables(WhitespaceTokenizer())
    samples = ["a cat sleeps", "a dog runs home", "a cat  sleeps", "zebras"]
    assert copy_flags(tables, samples, TRAIN).tolist() == [True, False, True, False]
    novel, total, distinct_novel, distinct = novel_counts(tables, samples, TRAIN, 2)
    # bigrams: [a cat, cat sleeps] known; [a dog, dog runs] known, [runs home] new; same as 1st; none
    assert total.tolist() == [2, 3, 2, 0] and novel.tolist() == [0, 1, 0, 0]
    assert (distinct_novel, distinct) == (1, 5)


def test_memorization_against_brute_force_on_real_data() -> None:
    train = coco_lines("train")[:2000]
    samples = coco_lines("test")[:300] + train[:40:4]  # ten copies
    tables = NgramTables(WhitespaceTokenizer())
    flags = copy_flags(tables, samples, train)
    assert flags.tolist() == [s.split() in [t.split() for t in train] for s in samples]
    novel, total, _, _ = novel_counts(tables, samples, train, 4)
    grams = {tuple(t.split()[i : i + 4]) for t in train for i in range(len(t.split()) - 3)}
    for s, nv, tt in zip(samples, novel, total):
        words = s.split()
        mine = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
        assert (nv, tt) == (sum(g not in grams for g in mine), len(mine))


def test_train_bleu_is_bleu_against_the_training_set(tge, tiny_bundle, tmp_path) -> None:
    import json

    from tests.conftest import tiny_recipe_args

    train = (tiny_bundle / "train.txt").read_text().splitlines()
    samples = tmp_path / "s.txt"
    samples.write_text("\n".join(train[:5] + coco_lines("test")[:20]) + "\n")
    run = tge(
        "evaluate",
        samples,
        "--bundle",
        tiny_bundle,
        "-m",
        "train-bleu-4,copy-rate",
        "--format",
        "json",
        *tiny_recipe_args(),
    )
    assert run.code == 0, run.err
    scores = {m["name"]: m for m in json.loads(run.out)["metrics"]}
    from textgen_eval.pipelines.recipes import split_train_valid

    used, _ = split_train_valid(train)  # the carved validation lines are not training data
    expected = bleu_scores(samples.read_text().splitlines(), used, 4)
    assert scores["train-bleu-4"]["value"] == pytest.approx(math.fsum(expected) / len(expected), abs=1e-12)
    copied = sum(s in used for s in samples.read_text().splitlines())
    assert scores["copy-rate"]["value"] == copied / 25 and copied >= 4


# -- bootstrap ---------------------------------------------------------------------------------------


def test_bootstrap_interval_covers_the_true_mean_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(5)
    hits = 0
    trials = 200
    for t in range(trials):
        x = rng.exponential(size=200)  # true mean 1, skewed
        interval = bootstrap_interval(RatioOfSums(x), level=0.9, resamples=400, seed=t)
        hits += interval.low <= 1.0 <= interval.high
    assert 0.83 <= hits / trials <= 0.96, hits / trials


def test_ratio_of_sums_resamples_numerator_and_denominator_together() -> None:
    nll, tokens = np.array([10.0, 2.0, 30.0]), np.array([5.0, 1.0, 10.0])
    stat = RatioOfSums(nll, tokens).statistics([np.array([[0, 0, 2], [1, 1, 1]])])
    assert stat.tolist() == [50.0 / 20.0, 2.0]
    interval = bootstrap_interval(RatioOfSums(nll, tokens), level=0.95, resamples=50, seed=0)
    assert interval.to_dict()["signature"] == "boot:percentile|level:0.95|B:50|seed:0"


def test_fd_bootstrap_resamples_both_sets() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(80, 3)), rng.normal(0.5, 1.0, size=(90, 3))
    resample = TwoSets(a, b, frechet_distance)
    assert resample.sizes == (80, 90)
    interval = bootstrap_interval(resample, level=0.95, resamples=60, seed=1)
    assert interval.low < frechet_distance(a, b) < interval.high


def test_evaluate_ci_adds_intervals_and_keeps_the_value(tge, tmp_path) -> None:
    import json

    samples = tmp_path / "s.txt"
    samples.write_text("\n".join(coco_lines("test")[:60]) + "\n")
    refs = tmp_path / "r.txt"
    refs.write_text("\n".join(coco_lines("test")[100:300]) + "\n")
    base = ("evaluate", samples, "-r", refs, "-m", "bleu-3,self-bleu-3,unique-ngrams-2", "--format", "json")
    plain = json.loads(tge(*base).out)["metrics"]
    run = tge(*base, "--ci", "0.9", "--ci-resamples", "200", "--seed", "3")
    assert run.code == 0, run.err
    with_ci = json.loads(run.out)["metrics"]
    assert [m["value"] for m in with_ci] == [m["value"] for m in plain]
    assert [m["signature"] for m in with_ci] == [m["signature"] for m in plain]
    for m in with_ci[:2]:
        ci = m["details"]["ci"]
        assert ci["low"] <= m["value"] <= ci["high"] and ci["resamples"] == 200 and ci["seed"] == 3
    assert "ci" not in with_ci[2]["details"] and "unique-ngrams-2 is not a mean" in run.err
    table = tge(*base[:-2], "--ci", "0.9", "--ci-resamples", "50").out
    assert "±" in table
