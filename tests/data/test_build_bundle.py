"""`tge bundle`: a bundle from files or Hugging Face datasets, by SNLI's sentence rule (issue 17)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import ROOT

SNLI_DEV = ROOT / "data" / "nli" / "snli_dev.jsonl"
#: md5 of sentences.dev.txt in ../shared/data/snli/SOURCE.md: SNLI dev's premises and hypotheses,
#: first occurrences, derived there independently of this code (12,982 lines).
SENTENCES_DEV_MD5 = "4bd174e45160a1efd256c0290e8f684f"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_snli_sentences_from_a_file_and_from_a_hugging_face_dataset_match_the_published_derivation(
    tge, tmp_path: Path
) -> None:
    import datasets

    fields = ("--field", "premise", "--field", "hypothesis")
    from_file = tge("bundle", tmp_path / "file", "--train", SNLI_DEV, "--test", SNLI_DEV, *fields)
    assert from_file.code == 0, from_file.err
    assert md5(tmp_path / "file" / "train.txt") == SENTENCES_DEV_MD5
    assert "train: 12982 sentences from 9842 rows (6702 duplicates, 0 empty)" in from_file.err
    assert "train and test: 12982" in from_file.err  # the same source twice: flagged

    dataset = datasets.load_dataset("json", data_files={"train": str(SNLI_DEV), "test": str(SNLI_DEV)})
    dataset.save_to_disk(str(tmp_path / "hf"))
    hub = f"hf:{tmp_path / 'hf'}"
    from_hf = tge("bundle", tmp_path / "viahf", "--train", f"{hub}?split=train", "--test", f"{hub}?split=test",
                  *fields)  # fmt: skip
    assert from_hf.code == 0, from_hf.err
    assert md5(tmp_path / "viahf" / "train.txt") == SENTENCES_DEV_MD5
    report = json.loads((tmp_path / "viahf" / "SOURCE.json").read_text())
    assert report["fields"] == ["premise", "hypothesis"] and report["overlap"]["train&test"] == 12982


def test_disjoint_splits_dedupe_and_refusals(tge, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo\n  two  \n\nthree\nfour\n")
    (tmp_path / "b.txt").write_text("three\nfive\n")
    (tmp_path / "c.txt").write_text("four\nfive\nsix\n")
    args = ("--train", tmp_path / "a.txt", "--valid", tmp_path / "b.txt", "--test", tmp_path / "c.txt")
    kept = tge("bundle", tmp_path / "kept", *args)
    assert kept.code == 0 and "warning: sentences shared between splits" in kept.err
    assert (tmp_path / "kept" / "train.txt").read_text() == "one\ntwo\nthree\nfour\n"
    split = tge("bundle", tmp_path / "split", *args, "--disjoint")
    assert split.code == 0, split.err
    assert (tmp_path / "split" / "train.txt").read_text() == "one\ntwo\n"  # three (valid), four (test)
    assert (tmp_path / "split" / "valid.txt").read_text() == "three\n"  # five is in test
    assert (tmp_path / "split" / "test.txt").read_text() == "four\nfive\nsix\n"
    report = json.loads((tmp_path / "split" / "SOURCE.json").read_text())
    assert report["overlap"] == {"train&valid": 1, "train&test": 1, "valid&test": 1}
    assert report["splits"]["train"]["duplicates"] == 1 and report["splits"]["train"]["empty"] == 1
    again = tge("bundle", tmp_path / "split", *args)
    assert again.code == 2 and "not empty" in again.err
    no_test = tge("bundle", tmp_path / "x", "--train", tmp_path / "a.txt")
    assert no_test.code == 2 and "--test" in no_test.err and not (tmp_path / "x").exists()


def test_the_bundled_emnlp_news_splits_are_disjoint_and_as_documented() -> None:
    """data/emnlp-news: GansFallingShort's valid split as training text, Texygen's test split
    (trailing spaces stripped) as test; no sentence in both, even ignoring case and spacing."""
    from textgen_eval.data.bundles import list_bundles, resolve_bundle

    assert "emnlp-news" in list_bundles()
    bundle = resolve_bundle("emnlp-news")
    train = bundle.split("train").read_text(encoding="utf-8").splitlines()
    test = bundle.split("test").read_text(encoding="utf-8").splitlines()
    assert len(train) == len(set(train)) == 10_000 and len(test) == len(set(test)) == 10_000

    def norm(s: str) -> str:
        return " ".join(s.lower().split())

    assert not {norm(s) for s in train} & {norm(s) for s in test}
    assert all(s == s.strip() and s for s in train + test)
    documented = (ROOT / "data" / "emnlp-news" / "SOURCE.md").read_text(encoding="utf-8")
    for split in ("train", "test"):
        assert md5(bundle.split(split)) in documented
