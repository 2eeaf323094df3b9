"""The ``lsa`` featurizer and ``fd-inf`` (issue 18, first part)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import coco_lines
from textgen_eval.metrics import featurizers
from textgen_eval.metrics.frechet import fd_infinity, frechet_distance
from textgen_eval.metrics.lsa import fit_lsa

TRAIN = coco_lines("train")[:400]
TEST = coco_lines("test")[:50]


def _dense_lsa(train: list[str], texts: list[str], dim: int, min_df: int) -> np.ndarray:
    """A straightforward dense implementation of the documented definition."""
    docs = [t.lower().split() for t in train]
    df: dict[str, int] = {}
    for d in docs:
        for w in set(d):
            df[w] = df.get(w, 0) + 1
    words = sorted(w for w, c in df.items() if c >= min_df)
    index = {w: i for i, w in enumerate(words)}
    idf = np.array([math.log((1 + len(docs)) / (1 + df[w])) + 1 for w in words])

    def matrix(sentences: list[str]) -> np.ndarray:
        out = np.zeros((len(sentences), len(words)))
        for r, s in enumerate(sentences):
            for w in set(s.lower().split()):
                if w in index:
                    out[r, index[w]] = (1 + math.log(s.lower().split().count(w))) * idf[index[w]]
            norm = np.linalg.norm(out[r])
            if norm > 0:
                out[r] /= norm
        return out

    _, _, vt = np.linalg.svd(matrix(train), full_matrices=False)
    v = vt[:dim].T
    v = v * np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(dim)])
    return matrix(texts) @ v


def test_lsa_features_equal_a_dense_implementation() -> None:
    ours = fit_lsa(TRAIN, dim=8, min_df=2).features([*TEST, "", "zzz unknown words"])
    dense = _dense_lsa(TRAIN, [*TEST, "", "zzz unknown words"], 8, 2)
    assert np.abs(ours - dense).max() < 1e-9
    assert not ours[-2:].any()  # no known word: the zero vector


class _Resources:
    def __init__(self, train: list[str], label: str) -> None:
        self.train, self.label = train, label

    def training_texts(self) -> list[str]:
        return self.train

    def training_label(self) -> str:
        return self.label


def test_lsa_signature_names_every_setting_and_the_cache_is_checked(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path))
    res = _Resources(TRAIN, "tiny/train@abc")
    a = featurizers.make_featurizer("lsa:dim=8", res)
    signatures = {
        a.signature,
        featurizers.make_featurizer("lsa:dim=9", res).signature,
        featurizers.make_featurizer("lsa:dim=8,min_df=3", res).signature,
        featurizers.make_featurizer("lsa:dim=8", _Resources(TRAIN, "other/train@def")).signature,
    }
    assert len(signatures) == 4
    first = a.features(TEST)
    calls = []
    real_fit = featurizers.fit_lsa
    monkeypatch.setattr(featurizers, "fit_lsa", lambda *x, **k: calls.append(1) or real_fit(*x, **k))
    again = featurizers.make_featurizer("lsa:dim=8", res).features(TEST)
    assert calls == [] and np.array_equal(first, again)  # loaded from the cache
    (entry,) = (tmp_path / "featurizers").glob("*/lsa.npz")
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 1
    entry.write_bytes(bytes(data))
    rebuilt = featurizers.make_featurizer("lsa:dim=8", res).features(TEST)
    assert calls == [1] and np.abs(rebuilt - first).max() < 1e-12  # the flipped byte was refitted
    with pytest.raises(Exception, match="lsa"):
        featurizers.make_featurizer("lsa:dim=x", res)


def test_fd_inf_recovers_a_known_fd_better_than_plain_fd() -> None:
    """N(0, I) samples against N(mu, diag(sigma^2)) references: plain FD at n = 400 is biased up by
    about 0.7 here; the extrapolation removes the bias and halves the error."""
    d, n = 32, 400
    mu = np.full(d, 0.25)
    sigma = np.linspace(0.5, 1.5, d)
    true = float(mu @ mu + np.sum(1 + sigma**2 - 2 * sigma))  # the closed form
    plain_err, inf_err = [], []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        samples = rng.normal(size=(n, d))
        references = mu + sigma * rng.normal(size=(20_000, d))
        plain_err.append(frechet_distance(samples, references) - true)
        value, slope, sizes, _ = fd_infinity(samples, references, seed=seed)
        inf_err.append(value - true)
        assert sizes[0] == 80 and sizes[-1] == n and slope > 0
    assert np.mean(plain_err) > 0.5  # the bias being removed
    assert abs(np.mean(inf_err)) < 0.2 * np.mean(plain_err)
    assert np.mean(np.abs(inf_err)) < 0.5 * np.mean(np.abs(plain_err))


def test_fd_bootstrap_standard_error_matches_the_spread_over_independent_draws() -> None:
    from textgen_eval.metrics.bootstrap import TwoSets, bootstrap_interval

    d, n = 8, 300
    mu, sigma = np.full(d, 0.3), np.linspace(0.7, 1.3, d)

    def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(size=(n, d)), mu + sigma * rng.normal(size=(n, d))

    spread = np.std([frechet_distance(*draw(np.random.default_rng(100 + i))) for i in range(60)], ddof=1)
    a, b = draw(np.random.default_rng(7))
    se = bootstrap_interval(TwoSets(a, b, frechet_distance), level=0.95, resamples=200, seed=0).se
    assert 0.5 * spread < se < 2.0 * spread, (se, spread)


def test_every_fd_score_reports_its_standard_error(tge, tmp_path) -> None:
    import json

    rng = np.random.default_rng(0)
    np.save(tmp_path / "s.npy", rng.normal(size=(40, 4)))
    np.save(tmp_path / "r.npy", rng.normal(0.5, 1.0, size=(50, 4)))
    (tmp_path / "s.txt").write_text("\n".join(f"s{i}" for i in range(40)) + "\n")
    (tmp_path / "r.txt").write_text("\n".join(f"r{i}" for i in range(50)) + "\n")
    base = ("evaluate", tmp_path / "s.txt", "-r", tmp_path / "r.txt", "-m", "fd", "--format", "json")
    feats = ("--featurizer", f"npy:{tmp_path / 's.npy'},{tmp_path / 'r.npy'}")
    (fd,) = json.loads(tge(*base, *feats).out)["metrics"]
    assert fd["details"]["se"] > 0 and fd["details"]["se_resamples"] == 50
    (off,) = json.loads(tge(*base, *feats, "--fd-se-resamples", "0").out)["metrics"]
    assert "se" not in off["details"] and off["value"] == fd["value"] and off["signature"] == fd["signature"]
