"""SeqGAN's synthetic oracle: the port against the published check values and an independent
numpy implementation, the sampler against exact enumeration, and the bundle files.

Check values: ``data/seqgan-oracle/SOURCE.md`` and PEERS.md §1.7 (computed there with a numpy
re-implementation of SeqGAN's ``target_lstm.py``).
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from textgen_eval.core.errors import InputError
from textgen_eval.data.bundle_meta import bundle_oracle, read_meta
from textgen_eval.data.bundles import resolve_bundle
from textgen_eval.data.oracle import (
    ARRAY_NAMES,
    LSTMOracle,
    OracleParams,
    blocked_inverse_cdf,
    nll_oracle,
    random_params,
)
from textgen_eval.data.token_ids import TokenIdFormat

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "data" / "seqgan-oracle"
FORMAT = TokenIdFormat(20, 5000)


@pytest.fixture(scope="module")
def params() -> OracleParams:
    return OracleParams.load(BUNDLE / "oracle.npz", origin="seqgan")


@pytest.fixture(scope="module")
def oracle(params: OracleParams) -> LSTMOracle:
    return LSTMOracle(params)


@pytest.fixture(scope="module")
def published() -> np.ndarray:
    lines = (BUNDLE / "train.txt").read_text(encoding="utf-8").splitlines()
    return FORMAT.parse(lines, source="train.txt")


def numpy_token_nll(arrays: dict[str, np.ndarray], ids: np.ndarray, start: int = 0) -> np.ndarray:
    """SeqGAN's target_lstm.py written out in float64 numpy, row-vector convention (the reference
    the torch port is checked against; nothing shared with it)."""
    a = {k: v.astype(np.float64) for k, v in arrays.items()}

    def sigmoid(x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-x))

    n, t = ids.shape
    h = np.zeros((n, a["Ui"].shape[0]))
    c = np.zeros_like(h)
    x = np.repeat(a["embeddings"][start][None, :], n, axis=0)
    out = np.zeros((n, t))
    for step in range(t):
        i = sigmoid(x @ a["Wi"] + h @ a["Ui"] + a["bi"])
        f = sigmoid(x @ a["Wf"] + h @ a["Uf"] + a["bf"])
        o = sigmoid(x @ a["Wog"] + h @ a["Uog"] + a["bog"])
        c_hat = np.tanh(x @ a["Wc"] + h @ a["Uc"] + a["bc"])
        c = f * c + i * c_hat
        h = o * np.tanh(c)
        logits = h @ a["Wo"] + a["bo"]
        top = logits.max(axis=1, keepdims=True)
        log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        out[:, step] = log_z - logits[np.arange(n), ids[:, step]]
        x = a["embeddings"][ids[:, step]]
    return out


# -- the published check values --------------------------------------------------------------


def test_published_sample_scores_the_check_value(oracle: LSTMOracle, published: np.ndarray) -> None:
    assert published.shape == (9984, 20)
    assert nll_oracle(oracle, published) == pytest.approx(5.760948, abs=1e-4)
    assert nll_oracle(oracle, published[:64]) == pytest.approx(5.678638, abs=1e-4)
    sums = oracle.token_nll(published[:3]).sum(axis=1)
    np.testing.assert_allclose(sums, [110.8190, 106.3636, 126.8546], atol=2e-3)
    per_position = oracle.token_nll(published).mean(axis=0)
    assert per_position[0] == pytest.approx(6.55, abs=0.01)
    assert 5.68 <= per_position[1:].min() and per_position[1:].max() <= 5.77


def test_uniform_random_ids_score_near_log_vocabulary(oracle: LSTMOracle) -> None:
    ids = np.random.default_rng(0).integers(0, 5000, size=(5000, 20))
    assert nll_oracle(oracle, ids) == pytest.approx(11.435, abs=0.02)


def _mutant(params: OracleParams, *, transpose: bool = True, start: int = 0) -> LSTMOracle:
    """A port with one of the bugs the field has: W/U copied without transposing (GansFallingShort's
    get_oracle, as read), or the wrong start token."""
    mutant = LSTMOracle(OracleParams(params.arrays, "mutant", start_token=start))
    if not transpose:
        a = {k: torch.from_numpy(v) for k, v in params.arrays.items()}
        with torch.no_grad():
            mutant.rnn.weight_ih_l0.copy_(torch.cat([a["Wi"], a["Wf"], a["Wc"], a["Wog"]]))
            mutant.rnn.weight_hh_l0.copy_(torch.cat([a["Ui"], a["Uf"], a["Uc"], a["Uog"]]))
    return mutant


@pytest.mark.parametrize(
    ("bug", "kwargs", "wrong_value"),
    [("W/U not transposed", {"transpose": False}, 10.342), ("start token 1", {"start": 1}, 6.401)],
)
def test_a_wrong_port_misses_the_check_value(
    params: OracleParams, published: np.ndarray, bug: str, kwargs: dict[str, object], wrong_value: float
) -> None:
    """The check value separates the correct port from the known wrong ones (PEERS.md §1.7)."""
    value = nll_oracle(_mutant(params, **kwargs), published)  # type: ignore[arg-type]
    assert value == pytest.approx(wrong_value, abs=2e-3), bug
    assert abs(value - 5.760948) > 0.5, f"{bug}: the check value would not catch it"


def test_torch_port_agrees_with_the_numpy_reference(params: OracleParams, oracle: LSTMOracle) -> None:
    """In float64 the fused-LSTM port equals the written-out numpy cell to 1e-9 nats; the float32
    port used for scoring agrees to 1e-5 relative (about 1e-4 nats on a 12-nat token)."""
    exact = LSTMOracle(params, dtype=torch.float64)
    uniform = np.random.default_rng(1).integers(0, 5000, size=(300, 20))
    likely = oracle.sample(200, 20, seed=3)  # sequences the oracle favours, not only uniform ones
    for ids in (uniform, likely):
        expected = numpy_token_nll(dict(params.arrays), ids)
        np.testing.assert_allclose(exact.token_nll(ids), expected, atol=1e-9, rtol=0)
        np.testing.assert_allclose(oracle.token_nll(ids), expected, rtol=1e-5, atol=1e-5)


def test_entropy_rate_from_fresh_samples(oracle: LSTMOracle) -> None:
    ids = oracle.sample(10_000, 20, seed=11)
    assert ids.shape == (10_000, 20) and ids.min() >= 0 and ids.max() < 5000
    assert nll_oracle(oracle, ids) == pytest.approx(5.752, abs=0.02)


def test_sampling_is_seeded_and_independent_of_chunking(oracle: LSTMOracle) -> None:
    a = oracle.sample(300, 20, seed=5, chunk=64)
    np.testing.assert_array_equal(a, oracle.sample(300, 20, seed=5, chunk=256))
    assert not np.array_equal(a, oracle.sample(300, 20, seed=6))


# -- exact enumeration on a tiny oracle ------------------------------------------------------


def test_tiny_oracle_exact_distribution_entropy_and_sampler() -> None:
    """Vocabulary 3, length 2: the 9 sequences' probabilities from the oracle's conditionals sum to
    1; NLL-oracle of the oracle's own exact distribution equals its entropy per token; the sampler's
    frequencies match the exact probabilities (χ² over 90,000 draws)."""
    tiny = LSTMOracle(random_params(4, vocab_size=3, emb_dim=2, hidden_size=2))
    seqs = np.array(list(itertools.product(range(3), repeat=2)))  # (9, 2)
    nll = tiny.token_nll(seqs)  # (9, 2)
    p = np.exp(-nll.sum(axis=1))
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    entropy_per_token = float(-(p * np.log(p)).sum()) / 2
    expected_nll_oracle = float((p * nll.mean(axis=1)).sum())  # NLL-oracle of samples ~ the oracle itself
    assert expected_nll_oracle == pytest.approx(entropy_per_token, abs=1e-9)
    draws = tiny.sample(90_000, 2, seed=0)
    counts = np.bincount(draws[:, 0] * 3 + draws[:, 1], minlength=9)
    expected = p * len(draws)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 26.1, chi2  # 8 degrees of freedom, p = 0.001
    assert nll_oracle(tiny, draws) == pytest.approx(entropy_per_token, abs=0.01)


def test_blocked_inverse_cdf_matches_softmax_with_a_ragged_last_block() -> None:
    torch.manual_seed(0)
    logits = torch.randn(1, 257) * 2  # 3 blocks of 100, the last one 57 wide (padded)
    u = torch.rand(100_000, dtype=torch.float64)
    tokens = blocked_inverse_cdf(logits.expand(100_000, 257).contiguous(), u)
    assert tokens.max() < 257
    freq = np.bincount(tokens.numpy(), minlength=257) / len(u)
    np.testing.assert_allclose(freq, torch.softmax(logits[0].double(), 0).numpy(), atol=4e-3)


# -- parameters and bundle files -------------------------------------------------------------


def test_bundle_files_match_their_records(params: OracleParams) -> None:
    meta = read_meta(BUNDLE)
    assert meta.format == FORMAT and meta.oracle is not None
    assert meta.oracle.digest == params.digest == "0c2f88e8d7f7"
    assert meta.oracle.entropy_rate == pytest.approx(5.752, abs=0.02)
    source = json.loads((BUNDLE / "SOURCE.json").read_text(encoding="utf-8"))
    from textgen_eval.core.hashing import file_digest

    for split in ("train", "valid", "test"):
        assert file_digest(str(BUNDLE / f"{split}.txt")) == source["sha256_12"][split]
    assert [len((BUNDLE / f"{s}.txt").read_text().splitlines()) for s in ("train", "valid", "test")] == [
        9984,
        10000,
        10000,
    ]


def test_bundled_splits_are_what_the_port_draws(params: OracleParams) -> None:
    """valid.txt and test.txt were drawn by LSTMOracle in float64 with seeds 1 and 2: the first
    rows drawn again are byte-identical (the whole files: benchmarks/make_seqgan_oracle_bundle.py)."""
    exact = LSTMOracle(params, dtype=torch.float64)
    for split, seed in (("valid", 1), ("test", 2)):
        first = (BUNDLE / f"{split}.txt").read_text(encoding="utf-8").splitlines()[:40]
        assert FORMAT.format_lines(exact.sample(40, 20, seed=seed)) == first


def test_parameter_files_never_unpickle(tmp_path: Path, params: OracleParams) -> None:
    import pickle

    planted = tmp_path / "oracle.npz"
    with open(planted, "wb") as handle:
        np.savez(handle, **{**params.arrays, "Wi": np.array([object()], dtype=object)})
    with pytest.raises(InputError, match="not an oracle parameter file"):
        OracleParams.load(planted, origin="x")
    planted.write_bytes(pickle.dumps(list(params.arrays.values())))
    with pytest.raises(InputError, match="not an oracle parameter file"):
        OracleParams.load(planted, origin="x")


def test_shapes_and_dtypes_are_checked(params: OracleParams) -> None:
    with pytest.raises(InputError, match="Wo has shape"):
        OracleParams({**params.arrays, "Wo": params.arrays["Wo"][:, :10]}, "x")
    with pytest.raises(InputError, match="float32"):
        OracleParams({**params.arrays, "bi": params.arrays["bi"].astype(np.float64)}, "x")
    assert set(ARRAY_NAMES) == set(params.arrays)


def test_a_replaced_parameter_file_is_refused(tmp_path: Path, params: OracleParams) -> None:
    copy = tmp_path / "b"
    shutil.copytree(BUNDLE, copy)
    random_params(0).save(copy / "oracle.npz")
    with pytest.raises(InputError, match="changed or replaced"):
        bundle_oracle(copy, "b")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid UTF-8 JSON"),
        ('{"format": {"kind": "token-ids", "length": 0, "vocab_size": 5}}', "length must be"),
        ('{"oracle": {"file": "o.npz", "origin": "x", "digest": "d"}}', "needs a 'format'"),
        ('{"format": {"kind": "token-ids", "length": 2, "vocab_size": 5}, "x": 1}', "unknown keys"),
        (
            '{"format": {"kind": "token-ids", "length": 2, "vocab_size": 5}, '
            '"oracle": {"file": "../o.npz", "origin": "x", "digest": "d"}}',
            "inside the bundle",
        ),
    ],
)
def test_damaged_bundle_json_is_refused_by_name(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "bundle.json").write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        read_meta(tmp_path)
    assert "bundle.json" in str(info.value)


def test_plain_bundles_have_no_format() -> None:
    assert resolve_bundle("coco").meta.format is None


def test_token_id_format_parse_names_the_line() -> None:
    fmt = TokenIdFormat(3, 10)
    np.testing.assert_array_equal(fmt.parse(["1 2 3", "0 0 9"], source="f"), [[1, 2, 3], [0, 0, 9]])
    for lines, message in (
        (["1 2"], "line 1: 2 tokens; expected exactly 3"),
        (["1 2 3", "1 2 x"], "line 2: token 3 is 'x'"),
        (["1 2 -3"], "token 3 is '-3'"),
        (["1 2 10"], "token id 10 is outside"),
        (["1 2 ３"], "token 3"),
    ):
        with pytest.raises(InputError, match=message):
            fmt.parse(lines, source="f")
    assert math.isclose(len(fmt.tokens), 10) and fmt.tokens[:2] == ("0", "1")
