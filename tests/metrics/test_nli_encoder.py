"""The InferSent-style ``encoder`` featurizer (issue 18): determinism, cache safety, signatures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import coco_lines
from textgen_eval.metrics.featurizers import make_featurizer
from textgen_eval.metrics.nli_encoder import EncoderRecipe, encode, load_or_train, read_pairs, train_encoder

TINY = EncoderRecipe(emb_dim=8, hidden_size=8, mlp_size=16, epochs=1, max_pairs=300)
TINY_SPEC = "encoder:emb_dim=8,hidden_size=8,mlp_size=16,epochs=1,max_pairs=300"
TEXTS = [*coco_lines("test")[:20], ""]


def test_the_bundled_pairs_are_read_with_their_labels() -> None:
    pairs = read_pairs()
    assert len(pairs) == 9_842 + 18_000 + 9_815
    assert {label for _, _, label in pairs} == {0, 1, 2}
    assert pairs[0][2] == 1  # SNLI dev's first pair is "neutral"


def test_training_is_deterministic_under_the_seed() -> None:
    pairs = read_pairs()
    a, vocab_a, report_a = train_encoder(pairs, TINY)
    b, vocab_b, report_b = train_encoder(pairs, TINY)
    assert vocab_a == vocab_b and report_a == report_b
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert np.array_equal(x.numpy(), y.numpy()), name
    c, _, _ = train_encoder(pairs, EncoderRecipe(**{**TINY.__dict__, "seed": 1}))
    assert not np.array_equal(
        a.state_dict()["lstm.weight_hh_l0"].numpy(), c.state_dict()["lstm.weight_hh_l0"].numpy()
    )


def test_featurizer_signature_cache_and_integrity(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path))
    notes: list[str] = []

    class Resources:
        pass

    res = Resources()
    res.notes = notes  # type: ignore[attr-defined]
    first = make_featurizer(TINY_SPEC, res)  # type: ignore[arg-type]
    assert first.signature.startswith(f"encoder-{TINY.id}") and any("training the NLI" in n for n in notes)
    feats = first.features(TEXTS)
    assert feats.shape == (21, 16) and np.isfinite(feats).all()
    assert (
        make_featurizer(TINY_SPEC.replace("hidden_size=8", "hidden_size=9"), res).signature != first.signature
    )
    notes.clear()
    again = make_featurizer(TINY_SPEC, res)  # type: ignore[arg-type]
    assert notes == [] and np.array_equal(again.features(TEXTS), feats)  # from the cache
    weights = tmp_path / "encoder" / TINY.id / "weights.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 1
    weights.write_bytes(bytes(data))
    rebuilt = make_featurizer(TINY_SPEC, res)  # type: ignore[arg-type]
    assert any("failed its check" in n for n in notes)
    assert np.array_equal(rebuilt.features(TEXTS), feats)  # retrained to the same weights


BUILDER = """
import json, sys
from textgen_eval.metrics.nli_encoder import EncoderRecipe, load_or_train
notes = []
recipe = EncoderRecipe(emb_dim=8, hidden_size=8, mlp_size=16, epochs=1, max_pairs=300)
enc = load_or_train(recipe, notes=notes)
trained = any("training" in n for n in notes)
print(json.dumps({"trained": trained, "sum": float(enc.features(["a dog runs"]).sum())}))
"""


def test_concurrent_builders_train_once_and_agree(tmp_path: Path) -> None:
    env = {**os.environ, "TGE_CACHE_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BUILDER],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert sum(o["trained"] for o in outs) == 1
    assert len({o["sum"] for o in outs}) == 1
    leftovers = [
        p.name
        for p in (tmp_path / "encoder").iterdir()
        if p.name.startswith(".") and not p.name.endswith(".lock")
    ]
    assert leftovers == []


def test_load_or_train_reuses_an_entry_written_by_another_recipe_object(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path))
    a = load_or_train(TINY)
    b = load_or_train(
        EncoderRecipe(**TINY.__dict__), train=lambda *x: (_ for _ in ()).throw(AssertionError("retrained"))
    )
    assert np.array_equal(a.features(TEXTS), b.features(TEXTS))


def test_a_sentence_embedding_does_not_depend_on_its_batch() -> None:
    """The BiLSTM runs packed: the backward direction starts at each sentence's own last word.
    Over a padded batch it would read the pads first, and a sentence's embedding would change
    with the length of its batch-mates (by 13 % on the trained default encoder before the fix)."""
    import torch

    from textgen_eval.metrics.nli_encoder import SentenceEncoder, build_vocab, make_encoder

    recipe = EncoderRecipe(emb_dim=8, hidden_size=8, mlp_size=16)
    texts = coco_lines("test")[:50]
    vocab = build_vocab(texts, 1)
    torch.manual_seed(0)
    encoder = SentenceEncoder(make_encoder(len(vocab) + 2, recipe).eval(), vocab, recipe, "t")
    short = texts[0]
    long = " ".join(texts[1:6])
    alone = encoder.features([short])[0]
    for batch in ([short, long], [long, short, "a"], [short] * 3):
        together = encoder.features(batch)[batch.index(short)]
        np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    # and the max over time equals the max over the states of the unpadded sentence run alone
    ids, _ = encode([short], vocab, recipe.max_len)
    with torch.no_grad():
        states, _ = encoder.encoder.lstm(encoder.encoder.embed(ids))  # (1, T, 2H), no padding at all
    np.testing.assert_allclose(states.max(dim=1).values[0].double().numpy(), alone, rtol=0, atol=1e-6)


def test_an_interrupted_encoder_training_resumes_to_the_same_weights(tmp_path: Path, monkeypatch) -> None:
    """Issue 19: Ctrl-C during the encoder's training keeps a checkpoint (every N batches); the
    next training continues from it and ends with the weights of an uninterrupted one."""
    import torch

    from textgen_eval.metrics import nli_encoder

    monkeypatch.setattr(nli_encoder, "CHECKPOINT_EVERY", 4)
    pairs = read_pairs()
    recipe = EncoderRecipe(**{**TINY.__dict__, "epochs": 2, "max_pairs": 600})
    straight, vocab, report = train_encoder(pairs, recipe)

    original = torch.nn.functional.cross_entropy
    calls = {"n": 0}

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 11:  # in the second epoch, after a checkpoint at batch 8
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    checkpoint = tmp_path / "partial" / "checkpoint.pt"
    monkeypatch.setattr(torch.nn.functional, "cross_entropy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_encoder(pairs, recipe, checkpoint=checkpoint)
    assert checkpoint.is_file()
    monkeypatch.setattr(torch.nn.functional, "cross_entropy", original)
    resumed, vocab_2, report_2 = train_encoder(pairs, recipe, checkpoint=checkpoint)
    assert vocab_2 == vocab and report_2 == report
    for (name, x), (_, y) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(x, y), name


def test_training_reports_progress_to_the_last_batch_and_the_note_assumes_an_idle_machine(
    tmp_path, monkeypatch, capsys
) -> None:
    """Issue 35, item 1: the encoder's training shows a bar that reaches its total (stderr), and
    its time estimate says it holds for an idle machine."""
    from textgen_eval.metrics.nli_encoder import read_pairs, train_encoder

    seen: list[tuple[int, int]] = []
    recipe = EncoderRecipe(emb_dim=8, hidden_size=8, mlp_size=16, epochs=2, max_pairs=200)
    train_encoder(read_pairs(), recipe, progress=lambda done, total: seen.append((done, total)))
    total = seen[0][1]
    assert [d for d, _ in seen] == list(range(1, total + 1)) and total == 2 * -(
        -(200 - 10) // recipe.batch_size
    )
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path))
    notes: list[str] = []
    load_or_train(recipe, notes=notes, progress=True)
    assert "2 idle CPU cores, longer on a busy machine" in notes[0]
    err = capsys.readouterr().err
    assert "NLI encoder" in err and f"{total}/{total}" in err


def test_reference_features_are_stored_verified_and_reused(tmp_path, monkeypatch) -> None:
    """Issue 33, item 2: the references' features are computed once per encoder weights and read
    back identical in a later run (no embedding); a flipped byte is recomputed; other weights of the
    same recipe id get their own entry."""
    from textgen_eval.pipelines.resources import MemoFeaturizer

    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path))
    encoder = load_or_train(TINY)
    calls: list[int] = []

    class Counting:
        signature = "x"
        features_cache_key = encoder.features_cache_key

        def features(self, texts, *, role="samples"):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return encoder.features(texts, role=role)

    refs = TEXTS * 3
    first = MemoFeaturizer(Counting()).features(refs, role="references")  # type: ignore[arg-type]
    again = MemoFeaturizer(Counting()).features(refs, role="references")  # type: ignore[arg-type]
    assert calls == [len(refs)] and np.array_equal(first, again) and again.dtype == np.float64
    MemoFeaturizer(Counting()).features(refs, role="samples")  # type: ignore[arg-type]
    assert calls == [len(refs), len(refs)]  # samples are never stored
    (stored,) = (tmp_path / "features").glob("*/features.npy")
    data = bytearray(stored.read_bytes())
    data[-3] ^= 1
    stored.write_bytes(bytes(data))
    rebuilt = MemoFeaturizer(Counting()).features(refs, role="references")  # type: ignore[arg-type]
    assert len(calls) == 3 and np.array_equal(rebuilt, first)
    assert encoder.features_cache_key is not None and encoder.weights_digest is not None
    assert encoder.features_cache_key.endswith(encoder.weights_digest[:16])
