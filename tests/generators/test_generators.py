"""Generators: the shipped contract over every registered generator, vocabularies, batching."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import coco_lines
from tests.generators.test_discrete_gan import TINY as TINY_DISCRETE
from tests.generators.test_wgan import tiny_deconv, tiny_lstm
from textgen_eval.core.errors import InputError
from textgen_eval.data.batching import batch_order, encode_corpus, pad
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocab
from textgen_eval.generators import generator_class, generator_registry, load_generator
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.jsdgan import JSDGAN, JSDGANConfig
from textgen_eval.generators.lstm_lm.model import LMNet, LSTMLanguageModel, token_nll
from textgen_eval.generators.transformer_lm.config import TransformerLMConfig
from textgen_eval.generators.transformer_lm.model import TransformerLM
from textgen_eval.generators.vae.config import (
    HybridObjectiveConfig,
    HybridVAEConfig,
    LSTMVAEConfig,
    VAEConfig,
)
from textgen_eval.generators.vae.hybrid import HybridVAE
from textgen_eval.generators.vae.lstm_vae import LSTMVAE
from textgen_eval.testing import GENERATOR_CHECKS, GeneratorContract

#: Tiny configs of every built-in generator, by registry name.
TINY = {
    "hybrid-vae": lambda: HybridVAE(
        {
            "model": HybridVAEConfig(
                length=36, emb_dim=8, channels=4, feature_size=6, latent_size=4, head="lstm", head_size=8
            ),
            "train": TrainConfig(batch_size=4),
            "vae": HybridObjectiveConfig(kl_end=4, alpha=0.2, word_dropout=0.2),
        }
    ),
    "lstm-vae": lambda: LSTMVAE(
        {
            "model": LSTMVAEConfig(emb_dim=8, hidden_size=8, latent_size=4),
            "train": TrainConfig(batch_size=4),
            "vae": VAEConfig(kl_end=4, word_dropout=0.3),
        }
    ),
    **TINY_DISCRETE,
    "wgan-conv-deconv": tiny_deconv,
    "wgan-conv-lstm": tiny_lstm,
    "jsdgan": lambda: JSDGAN(
        {
            "model": LSTMLMConfig(emb_dim=8, hidden_size=8),
            "train": TrainConfig(batch_size=4),
            "jsdgan": JSDGANConfig(),
        }
    ),
    "transformer-lm": lambda: TransformerLM(
        {
            "model": TransformerLMConfig(n_layer=1, n_head=2, n_embd=8, context=40, max_len=39),
            "train": TrainConfig(batch_size=4),
        }
    ),
    "lstm-lm": lambda: LSTMLanguageModel(
        {
            "model": LSTMLMConfig(emb_dim=8, hidden_size=8, recurrent_dropout=0.2),
            "train": TrainConfig(batch_size=4),
        }
    ),
}


def test_every_registered_generator_has_a_tiny_config() -> None:
    text = [
        e.name for e in generator_registry.entries() if e.origin == "built-in" and e.load().modality == "text"
    ]
    assert sorted(text) == sorted(TINY)  # image models: tests/images/test_models.py


@pytest.mark.parametrize("check", sorted(GENERATOR_CHECKS))
@pytest.mark.parametrize("name", sorted(TINY))
def test_contract_over_every_builtin_generator(name: str, check: str) -> None:
    assert isinstance(TINY[name](), generator_class(name))
    GENERATOR_CHECKS[check](TINY[name], [s for s in coco_lines("train")[:40] if s])


class TestLayerNormTiedLMThroughTheShippedContractClass(GeneratorContract):
    def make_generator(self) -> LSTMLanguageModel:
        cfg = LSTMLMConfig(
            emb_dim=6,
            hidden_size=10,
            num_layers=2,
            layer_norm=True,
            tie_embeddings=True,
            recurrent_dropout=0.1,
            recurrent_dropout_kind="moon",
            recurrent_dropout_mask="per-sequence",
        )
        return LSTMLanguageModel({"model": cfg, "train": TrainConfig(batch_size=4)})


def test_contract_catches_a_generator_whose_sampling_ignores_the_seed() -> None:
    class Unseeded(LSTMLanguageModel):
        calls = 0

        def sample(self, n, **kw):
            type(self).calls += 1
            return super().sample(n, **{**kw, "seed": type(self).calls})

    with pytest.raises(AssertionError, match="same seed"):
        GENERATOR_CHECKS["seeded_sampling"](
            lambda: Unseeded(TINY["lstm-lm"]().configs), coco_lines("train")[:20]
        )


def test_vocabulary_specials_frequencies_and_round_trip(tmp_path: Path) -> None:
    vocab = Vocab.build(["b a b", "c b a", "d"], min_freq=2)
    assert vocab.tokens == ("<pad>", "<bos>", "<eos>", "<unk>", "b", "a")
    assert vocab.encode("a c b") == [5, UNK_ID, 4]
    assert vocab.decode([BOS_ID, 5, 4, EOS_ID, 5]) == "a b"
    assert Vocab.build(["b a b", "c b a"], max_size=1).tokens[4:] == ("b",)
    vocab.save(tmp_path)
    assert Vocab.load(tmp_path).tokens == vocab.tokens
    chars = Vocab.build(["ab ba"], tokenizer="char")
    assert chars.decode(chars.encode("ab ba")) == "ab ba"
    with pytest.raises(InputError, match="vocabulary would be empty"):
        Vocab.build(["a"], min_freq=2)


def test_sentencepiece_vocabulary_survives_save_and_load(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "cache"))
    lines = [s for s in coco_lines("train")[:300] if s]
    vocab = Vocab.build(lines, tokenizer="spm:200")
    vocab.save(tmp_path / "m")
    again = Vocab.load(tmp_path / "m")
    assert again.encode(lines[0]) == vocab.encode(lines[0])
    assert again.decode(again.encode(lines[0])) == lines[0]


def test_padding_is_never_counted_in_the_loss() -> None:
    torch.manual_seed(0)
    vocab = Vocab.build(["a b c d e"])
    net = LMNet(LSTMLMConfig(emb_dim=4, hidden_size=4), len(vocab)).eval()
    corpus = encode_corpus(["a b c d e", "a", "b c"], vocab)
    with torch.no_grad():
        nll, count = token_nll(net, torch.from_numpy(pad(corpus.sequences)))
    for i, seq in enumerate(corpus.sequences):
        with torch.no_grad():
            alone, n = token_nll(net, torch.from_numpy(seq[None]))
        assert int(count[i]) == int(n[0]) == len(seq) - 1
        assert math.isclose(float(nll[i]), float(alone[0]), rel_tol=1e-6)
    assert corpus.n_tokens == 6 + 2 + 3


def test_long_sentences_are_dropped_cut_or_rejected() -> None:
    vocab = Vocab.build(["a b c"])
    assert len(encode_corpus(["a b c", "a"], vocab, max_len=2)) == 1
    assert encode_corpus(["a b c"], vocab, max_len=2, long="truncate").sequences[0].tolist() == [
        BOS_ID,
        4,
        5,
        EOS_ID,
    ]
    with pytest.raises(InputError, match="line 2: 3 tokens, more than the maximum length 2"):
        encode_corpus(["a", "a b c"], vocab, max_len=2, long="error", source="samples.txt")


def test_batch_order_depends_only_on_seed_and_epoch() -> None:
    lengths = np.random.default_rng(0).integers(1, 30, size=500)
    a = batch_order(lengths, 16, seed=1, epoch=2)
    b = batch_order(lengths, 16, seed=1, epoch=2)
    c = batch_order(lengths, 16, seed=1, epoch=3)
    assert all((x == y).all() for x, y in zip(a, b))
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))
    assert sorted(np.concatenate(a).tolist()) == list(range(500))
    assert PAD_ID == 0


def test_load_rejects_a_damaged_model_directory(tmp_path: Path) -> None:
    model = TINY["lstm-lm"]()
    from textgen_eval.training import Runner, RunnerConfig

    model.fit(coco_lines("train")[:20], None, Runner(RunnerConfig(max_steps=1, device="cpu")))
    model.save(tmp_path / "m")
    (tmp_path / "m" / "weights.pt").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"weights.pt: not a weights file \(a state_dict\) \(damaged"):
        load_generator(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text('{"generator": "lstm-lm", "config": {"model": {"hiden": 3}}}')
    with pytest.raises(Exception, match="unknown key 'hiden'"):
        load_generator(tmp_path / "m")
