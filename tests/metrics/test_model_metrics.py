"""LM score, reverse LM score, featurizers, the reference-LM cache and the CLI around them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import TINY_RECIPE, coco_lines, run_subprocess, tiny_recipe_args
from textgen_eval import evaluate
from textgen_eval.core.errors import MetricError
from textgen_eval.core.protocols import TokenScores, TrainedScore
from textgen_eval.data.vocab import Vocab
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel
from textgen_eval.metrics.model_based import FrechetDistance, LMScore, ReverseLMScore
from textgen_eval.training.callbacks import Callback

SAMPLES = coco_lines("test")[200:260]


def _uniform_lm(words: list[str]) -> LSTMLanguageModel:
    """An LM whose output layer is all zeros: every next token has probability 1/|V|."""
    vocab = Vocab.build(words)
    model = LSTMLanguageModel(
        {"model": LSTMLMConfig(emb_dim=4, hidden_size=4), "train": TrainConfig()}, vocab=vocab
    )
    net = model.build_net()
    with torch.no_grad():
        net.decoder.weight.zero_()
        net.decoder.bias.zero_()
    model.net = net.eval()
    return model


def test_lm_score_of_a_uniform_model_is_log_vocabulary_size_per_token() -> None:
    model = _uniform_lm(["a cat sat", "on the mat"])
    scores = model.score_texts(["a cat", "the dog sat", ""])
    v = len(model.vocab)  # 6 words + 4 specials
    assert v == 10
    # tokens: 2+EOS, 3+EOS, EOS; "dog" is OOV (scored as UNK); BOS never scored
    assert scores.tokens.tolist() == [3, 4, 1]
    assert scores.oov.tolist() == [0, 1, 0]
    np.testing.assert_allclose(scores.nll, np.array([3, 4, 1]) * math.log(v), rtol=1e-6)
    assert model.nll(["a cat"]).tolist() == scores.nll[:1].tolist()


class FakeResources:
    def __init__(self, scores: TokenScores) -> None:
        self.scores = scores

    def reference_model(self):
        return self

    signature = "fake-lm"

    def score_texts(self, texts):
        return self.scores

    def features(self, texts, *, role="samples"):
        rng = np.random.default_rng(len(texts) + (role == "references"))
        return rng.normal(size=(len(texts), 3))

    def scorer(self, spec=None):
        return self

    def featurizer(self, spec=None):
        return self

    def reverse_lm(self, samples, *, seed):
        return TrainedScore(1.5 + seed, {"recipe": "fake"}, {"perplexity": math.exp(1.5 + seed)})


def test_lm_score_arithmetic_oov_rate_and_signature() -> None:
    scores = TokenScores(nll=np.array([3.0, 5.0]), tokens=np.array([3, 5]), oov=np.array([1, 0]))
    score = LMScore().compute(["x y", "a b c d"], resources=FakeResources(scores))
    assert score.value == 1.0 and score.details["perplexity"] == pytest.approx(math.e)
    assert score.details["oov_rate"] == 1 / 6 and score.details["tokens"] == 8
    assert score.signature.startswith("lm-score|lm:fake-lm|unit:nats/token|bos:no|eos:yes|v:")


def test_lm_score_scores_samples_with_no_known_token_and_says_so() -> None:
    """The metric scores them (a collapsed generator's "<unk> <unk>" is a result); refusing a
    user's file is the evaluate pipeline's decision (next test)."""
    scores = TokenScores(nll=np.array([3.0]), tokens=np.array([3]), oov=np.array([2]))
    score = LMScore().compute(["ZZ QQ"], resources=FakeResources(scores))
    assert score.value == 1.0 and score.details["oov_rate"] == 1.0
    assert any("100% OOV" in note for note in score.details["notes"])


def test_unreadable_samples_are_refused_from_a_file_and_scored_from_a_trial(tiny_bundle: Path) -> None:
    """`tge evaluate FILE` refuses samples without one word the reference LM knows, before any
    scoring; a tuning trial (refuse_unreadable=False) scores them: a wgan-conv-deconv trial of the
    CPU-preset comparison collapsed to all-<unk> samples and failed on this before the change."""
    from textgen_eval.core.errors import InputError
    from textgen_eval.pipelines.evaluate import evaluate

    collapsed = ["<unk>"] * 20
    kw = {"bundle": str(tiny_bundle), "metrics": "lm-score", "recipe_overrides": TINY_RECIPE}
    with pytest.raises(InputError, match="100% OOV"):
        evaluate(collapsed, **kw)
    result = evaluate(collapsed, refuse_unreadable=False, **kw)
    assert math.isfinite(result["lm-score"].value)
    assert any("100% OOV" in note for note in result.notes)
    assert [w.code for w in result.warnings] == ["oov"]


def test_model_based_metrics_need_resources() -> None:
    with pytest.raises(MetricError, match="needs evaluation resources"):
        LMScore().compute(["a"])


def test_fd_warns_on_unequal_sizes_and_subsamples_with_fd_n() -> None:
    res = FakeResources(TokenScores(np.zeros(1), np.ones(1), np.zeros(1)))
    refs = [f"r{i}" for i in range(50)]
    unequal = FrechetDistance().compute([f"s{i}" for i in range(40)], refs, resources=res)
    assert "biased by set size" in unequal.details["notes"][0]
    equal = FrechetDistance().compute([f"s{i}" for i in range(40)], refs, resources=res, fd_n=30, seed=1)
    assert equal.n == 30 and "|n:30|nrefs:30|" in equal.signature and not equal.details["notes"]
    with pytest.raises(Exception, match="--fd-n 45"):
        FrechetDistance().compute([f"s{i}" for i in range(40)], refs, resources=res, fd_n=45)


def test_reverse_lm_score_passes_the_seed() -> None:
    res = FakeResources(TokenScores(np.zeros(1), np.ones(1), np.zeros(1)))
    assert ReverseLMScore().compute(["a"], resources=res, seed=2).value == 3.5


# -- with real (tiny) models -------------------------------------------------------------------


def test_all_six_metrics_offline_through_the_cli(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    samples = tmp_path / "s.txt"
    samples.write_text("\n".join(SAMPLES) + "\n")
    run = tge(
        "evaluate", samples, "--bundle", tiny_bundle, "--format", "json", "--no-progress", *tiny_recipe_args()
    )
    assert run.code == 0, run.err
    data = json.loads(run.out)
    names = [m["name"] for m in data["metrics"]]
    assert names == ["bleu-4", "self-bleu-4", "unique-ngrams-4", "fd", "lm-score", "reverse-lm-score"]
    by = {m["name"]: m for m in data["metrics"]}
    assert by["fd"]["signature"].startswith("fd|feat:encoder-nli2-")  # the default featurizer
    assert "|n:60|nrefs:120|" in by["fd"]["signature"]
    assert "biased by set size" in run.err
    assert by["lm-score"]["details"]["perplexity"] == pytest.approx(math.exp(by["lm-score"]["value"]))
    assert (
        "recipe:revlm1-" in by["reverse-lm-score"]["signature"]
        and "|seed:0|" in by["reverse-lm-score"]["signature"]
    )
    fast = tge(
        "evaluate", samples, "--bundle", tiny_bundle, "--fast", "--format", "json", *tiny_recipe_args()
    )
    fast_names = [m["name"] for m in json.loads(fast.out)["metrics"]]
    assert fast_names == names[:-1]
    again = {m["name"]: m for m in json.loads(fast.out)["metrics"]}
    # --fast leaves out FD's standard error (a detail); everything else is the same
    without_se = {
        **by["fd"],
        "details": {k: v for k, v in by["fd"]["details"].items() if "se" not in k.split("_")},
    }
    assert again["lm-score"] == by["lm-score"] and again["fd"] == without_se, (
        "the cached reference LM and encoder are reused"
    )


def test_reverse_lm_score_is_deterministic_under_a_seed(tiny_bundle: Path, tmp_path: Path) -> None:
    kw = {"bundle": str(tiny_bundle), "metrics": "reverse-lm-score", "recipe_overrides": TINY_RECIPE}
    a = evaluate(SAMPLES, **kw, seed=3)["reverse-lm-score"]
    b = evaluate(SAMPLES, **kw, seed=3)["reverse-lm-score"]
    c = evaluate(SAMPLES, **kw, seed=4)["reverse-lm-score"]
    assert a.value == b.value and a.signature == b.signature
    assert c.value != a.value and c.signature != a.signature


def test_recipe_changes_change_the_signature(tiny_bundle: Path) -> None:
    small = evaluate(SAMPLES, bundle=str(tiny_bundle), metrics="lm-score", recipe_overrides=TINY_RECIPE)
    wider = evaluate(
        SAMPLES,
        bundle=str(tiny_bundle),
        metrics="lm-score",
        recipe_overrides={**TINY_RECIPE, "model.hidden_size": "20"},
    )
    assert small["lm-score"].signature != wider["lm-score"].signature


def _bundle_cache_entries(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "reference-lm").iterdir() if not p.name.startswith("."))


def test_concurrent_builders_produce_one_valid_entry(tiny_bundle: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    samples = tmp_path / "s.txt"
    samples.write_text("\n".join(SAMPLES) + "\n")
    args = [
        "evaluate",
        str(samples),
        "--bundle",
        str(tiny_bundle),
        "-m",
        "lm-score",
        "--format",
        "json",
        "--no-progress",
        *tiny_recipe_args(),
    ]
    env = {"TGE_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    import os

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "textgen_eval", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    values = {json.loads(o[0])["metrics"][0]["value"] for o in outs}
    assert len(values) == 1
    states = [json.loads(o[0])["settings"]["reference_lm_cache"] for o in outs]
    assert sorted(states) == ["built", "warm", "warm"], states
    entries = _bundle_cache_entries(cache)
    assert len(entries) == 1 and (entries[0] / "meta.json").is_file()
    leftovers = [
        p.name
        for p in (cache / "reference-lm").iterdir()
        if p.name.startswith(".") and not p.name.endswith(".lock")
    ]
    assert leftovers == []


def test_corrupted_cache_entry_is_rebuilt_with_a_note(tiny_bundle: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "cache"))
    kw = {"bundle": str(tiny_bundle), "metrics": "lm-score", "recipe_overrides": TINY_RECIPE}
    first = evaluate(SAMPLES, **kw)
    (entry,) = _bundle_cache_entries(tmp_path / "cache")
    (entry / "weights.pt").write_bytes(b"garbage")
    second = evaluate(SAMPLES, **kw)
    assert any("failed its check and is rebuilt" in note for note in second.notes)
    assert second["lm-score"].value == first["lm-score"].value, "the rebuilt model is the same model"


def test_cache_entry_with_flipped_bytes_is_caught_by_its_content_hash(
    tiny_bundle: Path, tmp_path: Path, monkeypatch
) -> None:
    """One flipped byte inside the weights still loads; the recorded hash catches it."""
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "cache"))
    kw = {"bundle": str(tiny_bundle), "metrics": "lm-score", "recipe_overrides": TINY_RECIPE}
    first = evaluate(SAMPLES, **kw)
    (entry,) = _bundle_cache_entries(tmp_path / "cache")
    weights = entry / "weights.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x40
    weights.write_bytes(bytes(data))
    second = evaluate(SAMPLES, **kw)
    assert any("content hash mismatch in weights.pt" in note for note in second.notes), second.notes
    assert second.settings["reference_lm_cache"] == "built"
    assert second["lm-score"].value == first["lm-score"].value
    third = evaluate(SAMPLES, **kw)
    assert third.settings["reference_lm_cache"] == "warm" and not any("rebuilt" in n for n in third.notes)


def test_bad_inputs_exit_2_with_clear_messages(tge, tiny_bundle: Path, tmp_path: Path) -> None:
    oov = tmp_path / "oov.txt"
    oov.write_text("zzzqx qqqzz\nxxyyzz\n")
    run = tge("evaluate", oov, "--bundle", tiny_bundle, "-m", "lm-score", *tiny_recipe_args())
    assert run.code == 2 and "100% OOV" in run.err and "Traceback" not in run.err
    empty = tmp_path / "emptybundle"
    empty.mkdir()
    (empty / "train.txt").write_text("")
    (empty / "test.txt").write_text("a b\n")
    run = tge("evaluate", oov, "--bundle", empty, "-m", "lm-score")
    assert run.code == 2 and "train.txt" in run.err
    run = tge("evaluate", oov, "--bundle", tiny_bundle, "-m", "fd", "--featurizer", "npy:only_one.npy")
    assert run.code == 2 and "npy:SAMPLES.npy,REFERENCES.npy" in run.err
    run = tge("evaluate", oov, "--bundle", tiny_bundle, "-m", "fd", "--featurizer", "word2vec")
    assert run.code == 2 and "unknown featurizer 'word2vec'" in run.err
    run = tge("evaluate", oov, "--bundle", tiny_bundle, "-m", "lm-score", "--lm-recipe-set", "model.hidden=3")
    assert run.code == 2 and "valid keys" in run.err


def test_npy_featurizer(tmp_path: Path, tiny_bundle: Path) -> None:
    rng = np.random.default_rng(0)
    refs = coco_lines("test")[:120]
    np.save(tmp_path / "s.npy", rng.normal(size=(60, 5)))
    np.save(tmp_path / "r.npy", rng.normal(size=(120, 5)) + 1.0)
    res = evaluate(
        SAMPLES,
        refs,
        bundle=str(tiny_bundle),
        metrics="fd",
        featurizer=f"npy:{tmp_path / 's.npy'},{tmp_path / 'r.npy'}",
    )
    from textgen_eval.metrics import frechet_distance

    assert res["fd"].value == frechet_distance(np.load(tmp_path / "s.npy"), np.load(tmp_path / "r.npy"))
    np.save(tmp_path / "short.npy", rng.normal(size=(10, 5)))
    with pytest.raises(Exception, match="10 feature rows but 60 samples"):
        evaluate(
            SAMPLES,
            refs,
            bundle=str(tiny_bundle),
            metrics="fd",
            featurizer=f"npy:{tmp_path / 'short.npy'},{tmp_path / 'r.npy'}",
        )


# -- Hugging Face models, built locally (nothing downloads) ------------------------------------


def _word_tokenizer(path: Path, words: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {
        w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<|endoftext|>", *sorted(set(words))])
    }
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
    )


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    path = tmp_path_factory.mktemp("gpt2")
    words = " ".join(SAMPLES).split()
    tok = _word_tokenizer(path, words)
    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=len(tok),
        n_positions=40,
        n_embd=16,
        n_layer=1,
        n_head=2,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    GPT2LMHeadModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_hf_causal_lm_score_matches_the_model_own_loss(tiny_gpt2: Path, tiny_bundle: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    texts = SAMPLES[:5]
    res = evaluate(texts, bundle=str(tiny_bundle), metrics="lm-score", lm=f"hf:{tiny_gpt2}")
    tok = AutoTokenizer.from_pretrained(tiny_gpt2)
    model = AutoModelForCausalLM.from_pretrained(tiny_gpt2).eval()
    total, count = 0.0, 0
    for text in texts:
        ids = torch.tensor(
            [[tok.bos_token_id, *tok(text, add_special_tokens=False)["input_ids"], tok.eos_token_id]]
        )
        with torch.no_grad():
            loss = model(input_ids=ids, labels=ids).loss  # mean over positions after the first
        total += float(loss) * (ids.shape[1] - 1)
        count += ids.shape[1] - 1
    assert res["lm-score"].value == pytest.approx(total / count, rel=1e-5)
    assert "lm:hf-" in res["lm-score"].signature


def test_hf_scorer_rejects_samples_longer_than_the_model(tiny_gpt2: Path, tiny_bundle: Path) -> None:
    long = " ".join(["a"] * 60)
    with pytest.raises(MetricError, match=r"sample line 2 has 62 tokens .* at most 40"):
        evaluate(["a man", long], bundle=str(tiny_bundle), metrics="lm-score", lm=f"hf:{tiny_gpt2}")


def test_hf_encoder_featurizer_mean_pools(tmp_path: Path, tiny_bundle: Path) -> None:
    from transformers import BertConfig, BertModel

    path = tmp_path / "bert"
    refs = coco_lines("test")[:120]
    tok = _word_tokenizer(path, " ".join(SAMPLES + refs).split())
    torch.manual_seed(0)
    BertModel(
        BertConfig(
            vocab_size=len(tok),
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        )
    ).save_pretrained(path)
    tok.save_pretrained(path)
    from textgen_eval.metrics.featurizers import HFEncoderFeaturizer

    feats = HFEncoderFeaturizer(str(path)).features(SAMPLES[:3])
    model = BertModel.from_pretrained(path).eval()
    with torch.no_grad():
        manual = [
            model(**tok(s, return_tensors="pt")).last_hidden_state[0].mean(0).double().numpy()
            for s in SAMPLES[:3]
        ]
    np.testing.assert_allclose(feats, np.stack(manual), rtol=1e-5, atol=1e-6)
    res = evaluate(SAMPLES, refs, bundle=str(tiny_bundle), metrics="fd", featurizer=f"hf:{path}")
    assert res["fd"].value > 0 and "feat:hf-bert-BertModel-meanpool" in res["fd"].signature


def test_missing_optional_dependency_names_the_package(tge, tmp_path: Path, tiny_bundle: Path) -> None:
    code = (
        "import sys; sys.modules['transformers'] = None\n"
        "from textgen_eval.cli.main import main\n"
        f"sys.exit(main(['evaluate', {str(tiny_bundle / 'test.txt')!r}, '--bundle', {str(tiny_bundle)!r}, "
        "'-m', 'lm-score', '--lm', 'hf:gpt2']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert (
        "needs the Python package 'transformers'" in proc.stderr and "pip install transformers" in proc.stderr
    )


def test_train_and_sample_cli(tmp_path: Path) -> None:
    train = tmp_path / "train.txt"
    train.write_text("\n".join(coco_lines("train")[:200]) + "\n")
    config = tmp_path / "lm.toml"
    config.write_text(
        "[model]\nhidden_size = 12\nemb_dim = 8\nrecurrent_dropout = 0.25\n[runner]\nmax_epochs = 1\n"
    )
    out = tmp_path / "run"
    run = run_subprocess(
        "train",
        "lm",
        "--train",
        str(train),
        "--valid",
        str(train),
        "--config",
        str(config),
        "--set",
        "model.recurrent_dropout_kind=gal",
        "--out",
        str(out),
        "--device",
        "cpu",
    )
    assert run.code == 0, run.err
    assert "model saved to" in run.out
    info = json.loads((out / "run.json").read_text())
    assert info["config"]["model"]["model"]["recurrent_dropout_kind"] == "gal"
    assert info["command"][:3] == ["tge", "train", "lm"]
    first = run_subprocess("sample", str(out), "-n", "7", "--seed", "3", "--no-progress")
    second = run_subprocess(
        "sample", str(out / "model"), "-n", "7", "--seed", "3", "-o", str(tmp_path / "s.txt")
    )
    assert first.code == 0 and second.code == 0
    assert first.out.splitlines() == (tmp_path / "s.txt").read_text().splitlines()
    assert len(first.out.splitlines()) == 7
    again = run_subprocess("train", "lm", "--train", str(train), "--out", str(out))
    assert again.code == 2 and "holds a finished run" in again.err and "--resume" not in again.err
    bad = run_subprocess("sample", str(tmp_path), "-n", "2")
    assert bad.code == 2 and "config.json" in bad.err


def test_hf_directory_without_a_model_is_a_clear_error(tge, tmp_path: Path, tiny_bundle: Path) -> None:
    (tmp_path / "empty_model").mkdir()
    run = tge(
        "evaluate",
        tiny_bundle / "test.txt",
        "--bundle",
        tiny_bundle,
        "-m",
        "lm-score",
        "--lm",
        f"hf:{tmp_path / 'empty_model'}",
    )
    assert run.code == 2 and "cannot load the model or tokenizer" in run.err and "Traceback" not in run.err


def test_the_training_note_comes_before_the_training(tiny_bundle: Path, tmp_path: Path, monkeypatch) -> None:
    """Issue 19: `tge evaluate` says it trains the reference LM, where it caches and about how
    long, before it starts — not after the results."""
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "cache"))
    seen: list[tuple[str, bool]] = []

    def notify(note: str) -> None:  # records whether a cache entry existed when the note came
        root = tmp_path / "cache" / "reference-lm"
        seen.append((note, root.is_dir() and bool(_bundle_cache_entries(tmp_path / "cache"))))

    result = evaluate(SAMPLES, bundle=str(tiny_bundle), metrics="lm-score", recipe_overrides=TINY_RECIPE,
                      notify=notify)  # fmt: skip
    (training,) = [(n, existed) for n, existed in seen if n.startswith("training the reference LM")]
    assert training[1] is False  # told before the model existed
    assert "about 1 min on 2 idle CPU cores" in training[0] and "cached in" in training[0]
    assert "Ctrl-C keeps its progress" in training[0]
    assert [n for n, _ in seen] == [n for n in result.notes if n in {m for m, _ in seen}]


class _Interrupt(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_step(self, runner, state, losses) -> None:  # type: ignore[no-untyped-def]
        if state.step == self.at:  # Ctrl-C, as the terminal sends it
            import os
            import signal

            os.kill(os.getpid(), signal.SIGINT)


def test_an_interrupted_reference_lm_resumes_to_the_same_model(
    tiny_bundle: Path, tmp_path: Path, monkeypatch
) -> None:
    """Ctrl-C during the reference LM's training keeps a checkpoint beside the cache entry; the next
    build resumes from it and caches the weights an uninterrupted build gives."""
    import torch

    from textgen_eval.core.errors import TrainingInterrupted
    from textgen_eval.pipelines.resources import ReferenceResources

    recipe = {**TINY_RECIPE, "runner.max_epochs": "4"}
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "straight"))
    kw = {"bundle": str(tiny_bundle), "metrics": "lm-score", "recipe_overrides": recipe}
    straight = evaluate(SAMPLES, **kw)
    (reference,) = _bundle_cache_entries(tmp_path / "straight")

    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "interrupted"))
    monkeypatch.setattr(ReferenceResources, "_callbacks", lambda self, desc: [_Interrupt(at=7)])
    with pytest.raises(TrainingInterrupted, match="the same command resumes"):
        evaluate(SAMPLES, **kw)
    assert not _bundle_cache_entries(tmp_path / "interrupted")  # no entry, a checkpoint
    (partial,) = (tmp_path / "interrupted" / "reference-lm").glob(".partial-*")
    assert (partial / "checkpoint.pt").is_file()

    monkeypatch.setattr(ReferenceResources, "_callbacks", lambda self, desc: [])
    resumed = evaluate(SAMPLES, **kw)
    assert any(n.startswith("resuming the reference LM's training") for n in resumed.notes)
    (entry,) = _bundle_cache_entries(tmp_path / "interrupted")
    assert not partial.exists()
    a = torch.load(reference / "weights.pt", weights_only=True)
    b = torch.load(entry / "weights.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["lm-score"].value == straight["lm-score"].value


def test_vocab_oov_rate_counts_the_literal_unknown_word_as_scoring_does() -> None:
    """A generator's "<unk>" is read as the unknown word by the LM's scoring (id UNK_ID), so the
    oov sanity warning counts it too; it counted only tokens missing from the index before."""
    from textgen_eval.data.vocab import UNK, Vocab

    vocab = Vocab.build(["a b", "b c"])
    assert vocab.oov_rate(["a zz", f"{UNK} b"]) == 0.5
    assert vocab.oov_rate([f"{UNK} {UNK}"]) == 1.0 and vocab.oov_rate([""]) == 0.0


def test_fast_leaves_out_fds_standard_error_but_not_its_value_or_signature() -> None:
    """Issue 33, item 2: --fast skips FD's bootstrap standard error (more than half of a warm
    --fast run); FD's value and signature are those of the full run; --fd-se-resamples restores it."""
    from tests.conftest import coco_lines
    from textgen_eval.pipelines.evaluate import evaluate

    samples = [s for s in coco_lines("train")[:300] if s]
    refs = [s for s in coco_lines("test")[:300] if s]
    full = evaluate(samples, refs, metrics=["fd"], seed=3)["fd"]
    fast = evaluate(samples, refs, metrics=["fd"], seed=3, fast=True)["fd"]
    asked = evaluate(samples, refs, metrics=["fd"], seed=3, fast=True, fd_se_resamples=50)["fd"]
    assert fast.value == full.value and fast.signature == full.signature
    assert "se" in full.details and "se" not in fast.details
    assert asked.details["se"] == full.details["se"]
