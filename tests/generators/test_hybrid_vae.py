"""The hybrid convolutional-deconvolutional VAE: deconvolution length, the length check, the
historyless and auxiliary logits ignoring input tokens, the ByteNet head's receptive field of
exactly N + 1 symbols, causality of the heads, sampling, the labelled bound, and the contract."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import coco_lines
from textgen_eval.core.config import build_sections
from textgen_eval.core.errors import ConfigError
from textgen_eval.generators.vae.config import HybridObjectiveConfig, HybridVAEConfig, TrainConfig
from textgen_eval.generators.vae.hybrid import HybridVAE, HybridVAENet
from textgen_eval.testing import GeneratorContract
from textgen_eval.training import Runner, RunnerConfig

TEXTS = [s for s in coco_lines("train")[:64] if s]
V = 11


def net(head: str = "lstm", layers: int = 3, length: int = 16) -> HybridVAENet:
    torch.manual_seed(0)
    cfg = HybridVAEConfig(
        length=length, emb_dim=6, channels=8, feature_size=10, latent_size=4, head=head,  # type: ignore[arg-type]
        head_size=12, bytenet_layers=layers,
    )  # fmt: skip
    return HybridVAENet(cfg, V, word_dropout=0.0).eval()


def tiny(head: str = "lstm", **vae: object) -> HybridVAE:
    return HybridVAE(
        {
            "model": HybridVAEConfig(
                length=36,
                emb_dim=8,
                channels=8,
                feature_size=8,
                latent_size=4,
                head=head,  # type: ignore[arg-type]
                head_size=8,
                bytenet_layers=2,
            ),
            "train": TrainConfig(batch_size=8, lr=3e-3),
            "vae": HybridObjectiveConfig(**vae),  # type: ignore[arg-type]
        }
    )


def test_deconvolution_gives_exactly_length_positions() -> None:
    # 30, 20 and 5 are not divisible by 2^layers: ⌈L/2⌉ per convolution, the deconvolution cropped
    for length, layers in ((16, 2), (24, 3), (36, 2), (30, 3), (20, 3), (5, 2)):
        n = HybridVAENet(HybridVAEConfig(length=length, conv_layers=layers, channels=4, feature_size=5,
                                         latent_size=3, emb_dim=4), V, 0.0)  # fmt: skip
        assert n.features(torch.randn(2, 3)).shape == (2, length, 5)
        mu, logvar = n.eval().encode(torch.randint(1, V, (2, length + 1)))
        assert mu.shape == logvar.shape == (2, 3)


def test_a_bad_length_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"length must be ≥ 1, got 0"):
        build_sections({"model": HybridVAEConfig}, None, {"model.length": "0"})


def _inputs(seed: int, length: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, V, (2, length), generator=g)


def test_historyless_and_auxiliary_logits_ignore_input_tokens() -> None:
    historyless = net("none")
    features = historyless.features(torch.randn(2, 4))
    assert torch.equal(
        historyless.head_logits(features, _inputs(1)), historyless.head_logits(features, _inputs(2))
    )
    with_head = net("lstm")
    z = torch.randn(2, 4)
    targets = torch.cat([torch.ones(2, 1, dtype=torch.long), _inputs(3)], dim=1)  # [BOS] + 16 positions
    assert torch.equal(with_head.auxiliary_nll(z, targets), with_head.auxiliary_nll(z, targets.clone()))
    features = with_head.features(z)
    assert not torch.equal(
        with_head.head_logits(features, _inputs(1)), with_head.head_logits(features, _inputs(2))
    )


@pytest.mark.parametrize("layers", [1, 2, 4])
def test_bytenet_head_sees_exactly_the_previous_n_plus_one_symbols(layers: int) -> None:
    """Input position s holds the symbol x_{s−1}; the logits at t must change with the input at
    t − N (symbol x_{t−N−1}) and not with the input at t − N − 1 (symbol x_{t−N−2}) or later
    than t (causality)."""
    head = net("bytenet", layers=layers)
    features = head.features(torch.randn(2, 4))
    base = _inputs(5)
    t = 10
    logits = head.head_logits(features, base)[:, t]

    def changed(position: int) -> bool:
        other = base.clone()
        other[:, position] = (other[:, position] + 1 - 3) % (V - 3) + 3
        return not torch.equal(head.head_logits(features, other)[:, t], logits)

    assert changed(t) and changed(t - layers)
    assert not changed(t - layers - 1)
    assert not changed(t + 1)


def test_lstm_head_is_causal() -> None:
    head = net("lstm")
    features = head.features(torch.randn(2, 4))
    base = _inputs(6)
    later = base.clone()
    later[:, 9:] = 3
    a, b = head.head_logits(features, base), head.head_logits(features, later)
    assert torch.equal(a[:, :9], b[:, :9]) and not torch.equal(a[:, 9:], b[:, 9:])


@pytest.mark.parametrize("head", ["none", "lstm", "bytenet"])
def test_every_head_trains_samples_and_scores(head: str) -> None:
    model = tiny(head, alpha=0.3, iw_samples=4)
    runner = Runner(RunnerConfig(device="cpu", max_steps=3, eval_every=3))
    result = model.fit(TEXTS, TEXTS[:8], runner)
    assert result.steps == 3
    first = model.sample(5, seed=1, max_len=100)
    assert first == model.sample(5, seed=1, max_len=100) and all(len(s.split()) <= 36 for s in first)
    scores = model.score_texts(TEXTS[:4])
    assert scores.bound == "iw-4" and (scores.nll > 0).all()
    last = result.evaluations[-1]
    assert {"valid_loss", "valid_rec", "valid_kl"} <= set(last)
    assert ("valid_aux" in last) == (head != "none")  # the aux term exists only with a head


def test_the_logged_terms_and_alpha(tmp_path) -> None:
    import json

    model = tiny("lstm", alpha=0.5, kl_schedule="constant", kl_weight=1.0)
    model.fit(
        TEXTS, TEXTS[:8], Runner(RunnerConfig(device="cpu", max_steps=2, log_every=1), run_dir=tmp_path)
    )
    train = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    record = next(r for r in train if r["event"] == "train")
    assert record["loss"] == pytest.approx(record["rec"] + record["kl"] + 0.5 * record["aux"], rel=1e-5)


def test_sentences_longer_than_the_model_are_a_clear_error() -> None:
    from textgen_eval.core.errors import InputError

    model = tiny("none")
    model.fit(TEXTS, None, Runner(RunnerConfig(device="cpu", max_steps=1)))
    with pytest.raises(InputError, match="more than the maximum length 35"):
        model.score_texts([" ".join(["a"] * 40)])


class TestHybridVAEWithAByteNetHeadThroughTheContract(GeneratorContract):
    texts = TEXTS

    def make_generator(self) -> HybridVAE:
        return tiny("bytenet", alpha=0.2, kl_end=4)
