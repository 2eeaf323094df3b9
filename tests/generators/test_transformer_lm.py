"""The transformer LM (issue 32): causality, exact NLL, the key/value cache, persistence, and
fine-tuning from a tiny saved Hugging Face checkpoint (built here: a random GPT-2 and a byte-level
BPE tokenizer trained on COCO lines; nothing downloads). The generator contract (resume in the
stage, optimizer ownership, seeded sampling) runs in tests/generators/test_generators.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import coco_lines
from textgen_eval.core.errors import ConfigError
from textgen_eval.data.batching import encode_corpus, pad
from textgen_eval.data.vocab import EOS_ID, PAD_ID
from textgen_eval.generators import load_generator
from textgen_eval.generators.text.optim import TrainConfig
from textgen_eval.generators.text.sampler import sample_tokens
from textgen_eval.generators.transformer_lm.checkpoint import OFFSET, load_checkpoint
from textgen_eval.generators.transformer_lm.config import TransformerLMConfig
from textgen_eval.generators.transformer_lm.model import TransformerLM, UncachedDecoder
from textgen_eval.training import Runner, RunnerConfig

TINY_CFG = TransformerLMConfig(n_layer=2, n_head=2, n_embd=16, context=48, max_len=40, dropout=0.1)


def tiny(**model: object) -> TransformerLM:
    cfg = TransformerLMConfig(**{**TINY_CFG.__dict__, **model})
    return TransformerLM({"model": cfg, "train": TrainConfig(batch_size=8, lr=3e-3)})


def lines(n: int = 80) -> list[str]:
    return [s for s in coco_lines("train")[:n] if s]


def runner(steps: int, run_dir: Path | None = None, **kw: object) -> Runner:
    config = RunnerConfig(max_epochs=50, device="cpu", seed=0, checkpoint_every=1000, **kw)  # type: ignore[arg-type]
    return Runner(config, run_dir=run_dir, max_steps=steps)


@pytest.fixture(scope="module")
def trained() -> TransformerLM:
    model = tiny()
    model.fit(lines(), lines()[:8], runner(6))
    return model


def test_the_logits_at_t_do_not_change_with_tokens_after_t(trained: TransformerLM) -> None:
    net = trained.decoder()
    torch.manual_seed(0)
    x = torch.randint(OFFSET, len(trained.require_vocab()), (3, 12))
    y = x.clone()
    y[:, 6:] = torch.randint(OFFSET, len(trained.require_vocab()), (3, 6))
    with torch.no_grad():
        a, _ = net(x)
        b, _ = net(y)
    assert torch.equal(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_exact_nll_equals_a_direct_computation_from_the_logits(trained: TransformerLM) -> None:
    texts = lines(10)
    scores = trained.score_texts(texts)
    net, vocab = trained.decoder(), trained.require_vocab()
    for i, text in enumerate(texts):
        ids = [1, *vocab.encode(text), EOS_ID]
        with torch.no_grad():
            logits, _ = net(torch.tensor([ids[:-1]]))
        logp = torch.log_softmax(logits[0].double(), dim=-1)
        direct = -sum(float(logp[t, ids[t + 1]]) for t in range(len(ids) - 1))
        assert scores.tokens[i] == len(ids) - 1
        assert scores.nll[i] == pytest.approx(direct, rel=1e-5)


def test_padding_does_not_change_a_sentence_nll(trained: TransformerLM) -> None:
    texts = lines(6)
    one_by_one = np.concatenate([trained.score_texts([t]).nll for t in texts])
    assert np.allclose(trained.score_texts(texts).nll, one_by_one, rtol=1e-5)


def test_cached_sampling_draws_the_tokens_of_uncached_sampling(trained: TransformerLM) -> None:
    net = trained.decoder()
    draws = []
    for decoder in (net, UncachedDecoder(net)):
        gen = torch.Generator().manual_seed(11)
        with torch.no_grad():
            draws.append(sample_tokens(decoder, 16, max_len=30, generator=gen).tokens)
    assert torch.equal(draws[0], draws[1])
    assert (draws[0] != PAD_ID).sum() > 16  # not all empty


def test_samples_never_exceed_the_context() -> None:
    model = tiny(context=10, max_len=9)
    model.fit(lines(), None, runner(1))
    out = model.sample(4, max_len=50, seed=0)
    assert all(len(s.split()) <= 10 for s in out) and max(len(s.split()) for s in out) >= 9


def test_a_sentence_longer_than_the_context_is_an_error_naming_it(trained: TransformerLM) -> None:
    with pytest.raises(Exception, match="line 2: 60 tokens, more than the maximum length 47"):
        trained.score_texts(["a dog", " ".join(["dog"] * 60)])


def test_save_and_load_give_identical_weights_samples_and_nlls(
    trained: TransformerLM, tmp_path: Path
) -> None:
    trained.save(tmp_path / "m")
    again = load_generator(tmp_path / "m")
    assert isinstance(again, TransformerLM)
    assert again.sample(20, seed=4) == trained.sample(20, seed=4)
    assert np.array_equal(again.score_texts(lines(8)).nll, trained.score_texts(lines(8)).nll)
    for key, value in trained.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])


def test_config_refuses_a_context_shorter_than_the_sentences_and_heads_that_do_not_divide() -> None:
    with pytest.raises(ValueError, match="context"):
        TransformerLMConfig(context=50, max_len=60)
    with pytest.raises(ValueError, match="divisible"):
        TransformerLMConfig(n_embd=30, n_head=4)


# -- a tiny Hugging Face checkpoint ------------------------------------------------------------------


def save_tiny_checkpoint(directory: Path, *, seed: int = 0) -> Path:
    """A random GPT-2 (2 layers, width 16, context 160) and a byte-level BPE tokenizer of 300
    pieces trained on COCO lines, written with ``save_pretrained``."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(lines(400), vocab_size=300, min_frequency=2, special_tokens=["<|endoftext|>"])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=160, n_embd=16, n_layer=2, n_head=2,
        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "gpt2-tiny")


def from_checkpoint(path: Path, lr: float = 1e-3) -> TransformerLM:
    cfg = TransformerLMConfig(init_from=str(path))
    return TransformerLM({"model": cfg, "train": TrainConfig(batch_size=8, lr=lr)})


def test_the_checkpoint_tokenizer_reads_and_writes_the_text(checkpoint: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = from_checkpoint(checkpoint)
    model.load_checkpoint()
    hf_tok = AutoTokenizer.from_pretrained(checkpoint)
    text = lines(3)[2]
    assert model.require_vocab().encode(text) == [OFFSET + i for i in hf_tok.encode(text)]
    # our logits are the checkpoint's, shifted by the specials, with its EOS as ours
    hf = AutoModelForCausalLM.from_pretrained(checkpoint).eval()
    ids = [hf_tok.eos_token_id, *hf_tok.encode(text)]
    with torch.no_grad():
        theirs = torch.log_softmax(hf(torch.tensor([ids])).logits[0], dim=-1)
        ours, _ = model.decoder()(torch.tensor([[1, *(OFFSET + i for i in ids[1:])]]))
        ours = torch.log_softmax(ours[0], dim=-1)
    eos = hf_tok.eos_token_id
    assert torch.allclose(ours[:, OFFSET:].exp().sum(-1) + ours[:, EOS_ID].exp(), torch.ones(len(ids)))
    assert torch.allclose(ours[:, EOS_ID], theirs[:, eos], atol=1e-5)
    keep = [i for i in range(theirs.shape[1]) if i != eos]
    assert torch.allclose(ours[:, [OFFSET + i for i in keep]], theirs[:, keep], atol=1e-5)
    samples = model.sample(10, seed=1)
    assert all("\n" not in s for s in samples) and any(s for s in samples)


def test_fine_tuning_at_learning_rate_zero_samples_what_the_checkpoint_samples(checkpoint: Path) -> None:
    as_is = from_checkpoint(checkpoint)
    as_is.load_checkpoint()
    tuned = from_checkpoint(checkpoint, lr=0.0)
    tuned.fit(lines(), lines()[:8], runner(3))
    assert tuned.sample(12, seed=5) == as_is.sample(12, seed=5)
    moved = from_checkpoint(checkpoint, lr=1e-2)
    moved.fit(lines(), None, runner(3))
    assert moved.sample(12, seed=5) != as_is.sample(12, seed=5)


def test_fine_tuned_model_saves_loads_and_states_its_unit(checkpoint: Path, tmp_path: Path) -> None:
    model = from_checkpoint(checkpoint)
    model.fit(lines(), None, runner(2))
    model.save(tmp_path / "m")
    # the saved model does not need the original checkpoint any more
    again = load_generator(tmp_path / "m")
    assert again.sample(8, seed=2) == model.sample(8, seed=2)
    scores = again.score_texts(lines(5))
    assert scores.unit == "model-token" and scores.words is not None
    assert list(scores.words) == [len(t.split()) + 1 for t in lines(5)]
    assert np.array_equal(scores.nll, model.score_texts(lines(5)).nll)


def _t5_checkpoint(directory: Path) -> Path:
    from transformers import T5Config, T5ForConditionalGeneration

    T5ForConditionalGeneration(
        T5Config(vocab_size=50, d_model=8, d_kv=4, d_ff=8, num_layers=1, num_heads=2)
    ).save_pretrained(directory)
    return directory


def test_checkpoint_errors_name_the_directory(checkpoint: Path, tmp_path: Path) -> None:
    import shutil

    cases: list[tuple[Path, str]] = [(tmp_path / "nope", "no such directory")]
    (tmp_path / "file").write_text("x")
    cases.append((tmp_path / "file", "a file, not a directory"))
    (tmp_path / "empty").mkdir()
    cases.append((tmp_path / "empty", "no config.json"))
    no_tok = tmp_path / "no-tokenizer"
    shutil.copytree(checkpoint, no_tok)
    for f in no_tok.iterdir():
        if "token" in f.name or f.name in ("vocab.json", "merges.txt"):
            f.unlink()
    cases.append((no_tok, "no tokenizer files"))
    corrupt = tmp_path / "corrupt"
    shutil.copytree(checkpoint, corrupt)
    weights = next(corrupt.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:200])
    cases.append((corrupt, "the weights do not load"))
    bad_config = tmp_path / "bad-config"
    shutil.copytree(checkpoint, bad_config)
    (bad_config / "config.json").write_text("{not json")
    cases.append((bad_config, "config does not load"))
    cases.append((_t5_checkpoint(tmp_path / "t5"), "not a causal language model"))
    for path, message in cases:
        with pytest.raises(ConfigError, match=message) as info:
            load_checkpoint(str(path))
        assert str(path) in str(info.value), info.value


def test_a_checkpoint_that_leaves_weights_uninitialised_is_refused(checkpoint: Path, tmp_path: Path) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    partial = tmp_path / "partial"
    shutil.copytree(checkpoint, partial)
    weights = next(partial.glob("*.safetensors"))
    state = load_file(weights)
    dropped = sorted(state)[-1]
    del state[dropped]
    save_file(state, weights, metadata={"format": "pt"})
    with pytest.raises(ConfigError, match="uninitialised"):
        load_checkpoint(str(partial))


def test_a_checkpoint_cannot_read_a_token_id_corpus(checkpoint: Path) -> None:
    from textgen_eval.data.token_ids import TokenIdFormat

    fmt = TokenIdFormat(length=4, vocab_size=10)
    with pytest.raises(ConfigError, match="init_from"):
        from_checkpoint(checkpoint).use_format(fmt)


def test_model_nll_states_its_unit_per_model_token_and_per_word(checkpoint: Path, tmp_path: Path) -> None:
    from textgen_eval.pipelines.evaluate_model import model_likelihood

    model = from_checkpoint(checkpoint)
    model.fit(lines(), None, runner(1))
    score = model_likelihood(model, "coco", "transformer-lm@test")
    assert score is not None
    assert "unit:nats/model-token" in score.signature
    total = score.value * score.details["tokens"]
    assert score.details["nll_per_word"] == pytest.approx(total / score.details["words"])
    assert math.isfinite(score.details["nll_per_word"])
    json.dumps(score.details)


def test_encode_corpus_of_the_checkpoint_vocab_pads_and_batches(checkpoint: Path) -> None:
    model = from_checkpoint(checkpoint)
    model.load_checkpoint()
    corpus = encode_corpus(lines(4), model.require_vocab())
    batch = pad(corpus.sequences)
    assert batch.shape[0] == 4 and (batch[:, 0] == 1).all()
