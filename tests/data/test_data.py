"""Readers, validation messages, bundles and tokenizers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import COCO, coco_lines
from textgen_eval.core.errors import ConfigError, InputError, UnknownNameError
from textgen_eval.data import TextSet, make_tokenizer, read_texts, resolve_bundle


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_txt_keeps_empty_lines_and_ignores_final_newline(tmp_path: Path) -> None:
    path = write(tmp_path / "s.txt", "a b\n\nc d\n")
    texts = read_texts(path)
    assert list(texts) == ["a b", "", "c d"]
    assert texts.n_empty == 1
    skipped = read_texts(path, skip_empty=True)
    assert list(skipped) == ["a b", "c d"]
    assert skipped.n_skipped_empty == 1


def test_txt_without_final_newline_crlf_and_bom(tmp_path: Path) -> None:
    assert list(read_texts(write(tmp_path / "a.txt", "x\r\ny"))) == ["x", "y"]
    assert list(read_texts(write(tmp_path / "b.txt", "\ufeffx\ny\n"))) == ["x", "y"]


def test_coco_bundle_has_10000_sentences_each() -> None:
    bundle = resolve_bundle("coco")
    assert len(read_texts(bundle.test)) == 10_000
    assert len(read_texts(bundle.train)) == 10_000
    refs = read_texts("coco", allow_bundle=True)
    assert refs.label == "bundled:coco/test"
    assert list(refs) == coco_lines("test")
    assert read_texts("coco:train", allow_bundle=True).label == "bundled:coco/train"


def test_jsonl_field_selection_and_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", '{"text": "a b", "id": 1}\n\n{"text": "", "id": 2}\n')
    assert list(read_texts(path)) == ["a b", ""]
    other = write(tmp_path / "o.jsonl", '{"sent": "x", "id": 1}\n{"sent": "y", "id": 2}\n')
    assert list(read_texts(other, field="sent")) == ["x", "y"]
    with pytest.raises(InputError, match=r"o\.jsonl: several fields .*--field"):
        read_texts(other)
    with pytest.raises(InputError, match=r"line 2: no field 'nope'"):
        read_texts(write(tmp_path / "m.jsonl", '{"nope": "a"}\n{"x": 1}\n'), field="nope")
    with pytest.raises(InputError, match=r"bad\.jsonl: line 2: invalid JSON"):
        read_texts(write(tmp_path / "bad.jsonl", '{"text": "a"}\n{"text": \n'))
    with pytest.raises(InputError, match=r"line 1: field 'text' is int, expected a string"):
        read_texts(write(tmp_path / "int.jsonl", '{"text": 3}\n'))
    with pytest.raises(InputError, match="expected a JSON object"):
        read_texts(write(tmp_path / "list.jsonl", "[1, 2]\n"))


def test_csv_and_tsv_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", 'id,caption\n1,"a, b"\n2,\n3,c d\n')
    assert list(read_texts(path, field="caption")) == ["a, b", "", "c d"]
    tsv = write(tmp_path / "s.tsv", "text\tscore\nx y\t1\nz\t2\n")
    assert list(read_texts(tsv)) == ["x y", "z"]
    with pytest.raises(InputError, match=r"s\.csv: no column 'text' \(columns: 'id', 'caption'\)"):
        read_texts(path, field="text")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"contains no sentences \(it is empty\)"),
        (b"\n\n  \n", r"contains no sentences \(3 lines, all empty\)"),
        (b"ok\n\x00\x01\x02", r"looks like a binary file \(NUL byte at line 2, byte offset 3\)"),
        (
            b"fine\ncaf\xe9 au lait\n",
            r"not valid UTF-8 at line 2, byte offset 8 \(byte 3 of the line, value 0xe9\)",
        ),
    ],
)
def test_bad_files_name_file_line_and_offset(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path / "bad.txt", content)
    with pytest.raises(InputError, match=message) as info:
        read_texts(path)
    assert str(path) in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.txt: file not found"):
        read_texts(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        read_texts(tmp_path)
    with pytest.raises(InputError, match="not a bundled corpus"):
        read_texts("no-such-corpus", allow_bundle=True)


def test_huggingface_dataset_saved_to_disk(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"sentence": ["a b", "c d"], "label": [0, 1]}),
            "test": datasets.Dataset.from_dict({"sentence": ["e f", ""], "label": [1, 0]}),
        }
    )
    dd.save_to_disk(str(tmp_path / "dd"))
    texts = read_texts(f"hf:{tmp_path / 'dd'}?split=test")
    assert list(texts) == ["e f", ""]
    with pytest.raises(InputError, match=r"several splits \(train, test\)"):
        read_texts(f"hf:{tmp_path / 'dd'}")
    with pytest.raises(InputError, match="no split 'valid'"):
        read_texts(f"hf:{tmp_path / 'dd'}?split=valid")
    with pytest.raises(InputError, match="unknown parameter 'splt'"):
        read_texts(f"hf:{tmp_path / 'dd'}?splt=test")


def test_huggingface_load_dataset_from_local_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "local_ds"
    root.mkdir()
    rows = [{"text": f"sentence {i}", "n": i} for i in range(5)]
    (root / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    texts = read_texts(f"hf:{root}?split=train&field=text")
    assert list(texts) == [f"sentence {i}" for i in range(5)]
    with pytest.raises(InputError, match="could not load the dataset"):
        read_texts(f"hf:{tmp_path / 'missing'}")


def test_textset_digest_tracks_content() -> None:
    a = TextSet(["x", "y"])
    assert a.digest == TextSet(["x", "y"], source="elsewhere").digest
    assert a.digest != TextSet(["x", "y "]).digest
    assert a.head(1) == ("x",)


def test_whitespace_char_and_13a_tokenizers() -> None:
    assert make_tokenizer("whitespace").tokenize("  a  man .\t") == ["a", "man", "."]
    assert make_tokenizer("char").tokenize(" ab  c ") == ["a", "b", " ", "c"]
    assert make_tokenizer("13a").tokenize("a man, riding.") == ["a", "man", ",", "riding", "."]
    with pytest.raises(UnknownNameError, match="did you mean 'char'"):
        make_tokenizer("chr")
    with pytest.raises(ConfigError, match="takes no argument"):
        make_tokenizer("whitespace:3")


def test_sentencepiece_train_cache_and_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "cache"))
    corpus = coco_lines("train")[:2000]
    tok = make_tokenizer("spm:300", training_texts=corpus)
    pieces = tok.tokenize("a man riding a horse")
    assert "".join(pieces).replace("▁", " ").strip() == "a man riding a horse"
    assert tok.signature.startswith("spm-300-")
    models = list((tmp_path / "cache" / "sentencepiece").glob("*.model"))
    assert len(models) == 1
    again = make_tokenizer("spm:300", training_texts=corpus)  # served from the cache
    assert again.signature == tok.signature
    loaded = make_tokenizer(f"spm:{models[0]}")
    assert loaded.tokenize("a man riding a horse") == pieces
    assert loaded.signature == tok.signature
    with pytest.raises(InputError, match="SentencePiece model not found"):
        make_tokenizer(f"spm:{tmp_path / 'none.model'}")
    with pytest.raises(InputError, match="not a valid SentencePiece model"):
        make_tokenizer(f"spm:{COCO / 'test.txt'}")
