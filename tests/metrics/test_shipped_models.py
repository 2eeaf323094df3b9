"""The models that ship with the package (issue 33, item 1): FD's NLI encoder and the reference LMs
of the bundled corpora are loaded, hash-checked, without training; a recipe change without new
shipped files fails here; a damaged shipped file is refused and the model trained instead."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import coco_lines
from textgen_eval.core.verified_cache import read_meta
from textgen_eval.data.bundles import resolve_bundle
from textgen_eval.data.shipped import shipped_entry, shipped_root
from textgen_eval.metrics.nli_encoder import EncoderRecipe, load_or_train, train_encoder
from textgen_eval.pipelines.recipes import REFERENCE_LM
from textgen_eval.pipelines.resources import ReferenceResources

#: The bundled text corpora whose reference LM ships (each trains for minutes on first use).
SHIPPED_BUNDLES = ("coco", "seqgan-oracle", "emnlp-news")
TINY_ENCODER = EncoderRecipe(emb_dim=8, hidden_size=8, mlp_size=16, epochs=1, max_pairs=300)


def _no_training(*args: object, **kwargs: object) -> None:
    raise AssertionError("trained although a shipped model matches the recipe")


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def test_every_current_recipe_has_a_shipped_entry_whose_files_match_their_hashes() -> None:
    """The recipe-id guard: changing the encoder's or the reference LM's recipe, the training data
    of a bundled corpus, or how a key is made, without regenerating the shipped files
    (``python benchmarks/shipped_models.py --ship``), fails here — instead of every user silently
    training on first use again."""
    assert shipped_root() is not None
    expected = {("encoder", EncoderRecipe().id)}
    for bundle in SHIPPED_BUNDLES:
        expected.add(("reference-lm", ReferenceResources(resolve_bundle(bundle)).cache_key()))
    for kind, key in sorted(expected):
        entry = shipped_entry(kind, key)
        assert entry is not None, (
            f"no shipped {kind} for the current key {key}: run benchmarks/shipped_models.py --ship"
        )
        meta = read_meta(entry)  # raises if a file differs from its recorded SHA-256
        assert set(meta["content"]) >= {"weights.pt", "vocab.json"}
    root = shipped_root()
    assert root is not None
    shipped = {(kind.name, p.name) for kind in root.iterdir() if kind.is_dir() for p in kind.iterdir()}
    assert shipped == expected, "a shipped entry no current recipe uses: remove it"


def test_the_encoder_loads_from_the_shipped_files_on_an_empty_cache_without_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "empty"))
    notes: list[str] = []
    encoder = load_or_train(EncoderRecipe(), notes=notes, train=_no_training)
    entry = shipped_entry("encoder", EncoderRecipe().id)
    assert entry is not None and notes == []
    assert encoder.weights_digest == read_meta(entry)["content"]["weights.pt"]
    assert not (tmp_path / "empty" / "encoder").exists() or not any(
        (tmp_path / "empty" / "encoder").iterdir()
    )
    features = encoder.features(coco_lines("test")[:5])
    assert features.shape == (5, 512) and np.isfinite(features).all()


@pytest.mark.parametrize("bundle", SHIPPED_BUNDLES)
def test_a_bundled_reference_lm_loads_from_the_shipped_files_without_training(
    bundle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "empty"))
    resources = ReferenceResources(resolve_bundle(bundle))
    monkeypatch.setattr(resources, "_build", _no_training)
    model = resources.reference_model()
    assert resources.cache_state == "shipped" and resources.notes == []
    assert resources.reference_recipe is REFERENCE_LM
    lines = resources.texts.test[:20]
    scores = model.model.score_texts(lines)
    assert np.isfinite(scores.nll).all() and scores.tokens.sum() > 0


def test_a_flipped_byte_in_a_shipped_encoder_is_refused_and_the_encoder_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shipped entry is trusted only after its hashes: the same training path as for other
    recipes then runs (into the cache), and gives the weights the intact files hold."""
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "a"))
    intact = load_or_train(TINY_ENCODER)  # trained into cache "a"; shipped from there
    shipped = tmp_path / "shipped"
    shutil.copytree(tmp_path / "a" / "encoder" / TINY_ENCODER.id, shipped / "encoder" / TINY_ENCODER.id)
    monkeypatch.setenv("TGE_SHIPPED_DIR", str(shipped))
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "b"))
    notes: list[str] = []
    assert (
        load_or_train(TINY_ENCODER, notes=notes, train=_no_training).weights_digest == intact.weights_digest
    )
    assert notes == []  # the intact shipped entry: loaded, not trained

    _flip_a_byte(shipped / "encoder" / TINY_ENCODER.id / "weights.pt")
    calls: list[int] = []

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return train_encoder(*args, **kwargs)

    rebuilt = load_or_train(TINY_ENCODER, notes=notes, train=counting)
    assert calls == [1] and any("shipped sentence encoder" in n and "failed its check" in n for n in notes)
    assert rebuilt.weights_digest == intact.weights_digest  # retrained to the same bytes
    assert (tmp_path / "b" / "encoder" / TINY_ENCODER.id / "weights.pt").is_file()


def test_a_flipped_byte_in_a_shipped_reference_lm_is_refused_and_the_lm_trained(
    tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import TINY_RECIPE
    from textgen_eval.core.config import replace
    from textgen_eval.pipelines.recipes import Recipe

    recipe = Recipe(
        "reflm1",
        replace(REFERENCE_LM.model, emb_dim=8, hidden_size=16, min_freq=1),
        REFERENCE_LM.train,
        replace(REFERENCE_LM.runner, max_epochs=int(TINY_RECIPE["runner.max_epochs"])),
    )
    bundle = resolve_bundle(str(tiny_bundle))
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "a"))
    first = ReferenceResources(bundle, reference_recipe=recipe)
    first.reference_model()
    key = first.cache_key()
    shipped = tmp_path / "shipped"
    shutil.copytree(tmp_path / "a" / "reference-lm" / key, shipped / "reference-lm" / key)
    monkeypatch.setenv("TGE_SHIPPED_DIR", str(shipped))
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "b"))
    loaded = ReferenceResources(bundle, reference_recipe=recipe)
    loaded.reference_model()
    assert loaded.cache_state == "shipped"

    _flip_a_byte(shipped / "reference-lm" / key / "weights.pt")
    again = ReferenceResources(bundle, reference_recipe=recipe)
    again.reference_model()
    assert again.cache_state == "built"
    assert any(
        "shipped reference LM" in n and "content hash mismatch in weights.pt" in n for n in again.notes
    )
    assert (
        read_meta(tmp_path / "b" / "reference-lm" / key)["content"]
        == read_meta(tmp_path / "a" / "reference-lm" / key)["content"]
    )


def test_deleting_the_shipped_files_falls_back_to_training(
    tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user who deletes ``data/models`` (here: an empty shipped root) gets the training path."""
    monkeypatch.setenv("TGE_SHIPPED_DIR", "")
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path))
    notes: list[str] = []
    load_or_train(TINY_ENCODER, notes=notes)
    assert any("training the NLI" in n for n in notes)
