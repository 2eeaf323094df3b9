"""The hostile-input corpus (docs/reliability.md): every class of hole, through the CLI.

Each case runs one ``tge`` command on inputs built here (FIFOs and symlinks stand in for devices,
so a regression replaces a link in a temporary directory, never a node in /dev) and asserts the
exit code, that the message names the file or option, that no traceback is shown, and that every
input file, model and run directory is byte-identical afterwards.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import COCO, coco_lines, run_subprocess
from textgen_eval.cli.main import main
from textgen_eval.core import files as files_module
from textgen_eval.core import output as output_module

TINY_LM = ["--set", "model.emb_dim=8", "--set", "model.hidden_size=8", "--set", "model.min_freq=1"]


# -- the world: inputs every case may touch and none may change ----------------------------------


@dataclass
class World:
    root: Path
    samples: Path
    refs: Path
    bundle: Path
    data_dir: Path
    run: Path
    npy_samples: Path
    npy_refs: Path

    def p(self, name: str) -> Path:
        return self.root / name


def _snapshot(paths: list[Path]) -> dict[str, tuple[str, bytes]]:
    """Kind and bytes of every file under ``paths`` (links recorded as their target)."""
    out: dict[str, tuple[str, bytes]] = {}
    for top in paths:
        items = [top] if not top.is_dir() else [top, *sorted(top.rglob("*"))]
        for item in items:
            if item.name.endswith(".lock"):
                continue  # the lock's content is the holder's pid
            mode = os.lstat(item).st_mode
            if stat.S_ISLNK(mode):
                out[str(item)] = ("link", os.readlink(item).encode())
            elif stat.S_ISREG(mode):
                out[str(item)] = ("file", item.read_bytes())
            elif stat.S_ISDIR(mode):
                out[str(item)] = ("dir", b"")
            else:
                out[str(item)] = ("other", b"")
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("hostile")
    samples = root / "samples.txt"
    samples.write_text("a man rides a horse\na dog runs on the beach\ntwo cats sleep\n", encoding="utf-8")
    refs = root / "refs.txt"
    refs.write_text("\n".join(coco_lines("test")[:40]) + "\n", encoding="utf-8")
    bundle = root / "bundle"
    bundle.mkdir()
    (bundle / "train.txt").write_text("\n".join(coco_lines("train")[:200]) + "\n", encoding="utf-8")
    (bundle / "test.txt").write_text("\n".join(coco_lines("test")[:40]) + "\n", encoding="utf-8")
    data_dir = root / "bundled"
    (data_dir / "coco").mkdir(parents=True)
    for split in ("train", "test"):
        (data_dir / "coco" / f"{split}.txt").write_bytes((COCO / f"{split}.txt").read_bytes()[:20_000])
    rng = np.random.default_rng(0)
    np.save(root / "fs.npy", rng.normal(size=(3, 4)))
    np.save(root / "fr.npy", rng.normal(size=(40, 4)))
    run = root / "run"
    code = main(
        [
            "train",
            "lm",
            "--data",
            str(bundle),
            "--out",
            str(run),
            "--max-steps",
            "2",
            "--no-progress",
            *TINY_LM,
        ]
    )
    assert code == 0
    return World(root, samples, refs, bundle, data_dir, run, root / "fs.npy", root / "fr.npy")


@pytest.fixture
def env(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("TGE_DATA_DIR", str(world.data_dir))
    monkeypatch.chdir(world.root)
    return world


# -- the corpus ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile input: ``argv`` built from the world, the exit code, what stderr must say."""

    name: str
    argv: Callable[[World], list[str]]
    code: int
    says: tuple[str, ...] = ()
    prepare: Callable[[World], None] | None = None
    check: Callable[[World, str, str], None] | None = None
    extra_inputs: Callable[[World], list[Path]] = field(default=lambda w: [])


def _write(name: str, content: str | bytes) -> Callable[[World], None]:
    def prepare(w: World) -> None:
        path = w.p(name)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return prepare


def _link(name: str, target: str) -> Callable[[World], None]:
    def prepare(w: World) -> None:
        path = w.p(name)
        if os.path.lexists(path):
            path.unlink()
        os.symlink(target, path)

    return prepare


def _ev(*args: str) -> Callable[[World], list[str]]:
    """``tge evaluate`` of the samples against the references with BLEU-2 unless overridden."""

    def argv(w: World) -> list[str]:
        out = ["evaluate", str(w.samples), "-r", str(w.refs), "-m", "bleu-2", "--no-progress"]
        return out + [a.format(root=w.root, run=w.run, bundle=w.bundle, data=w.data_dir) for a in args]

    return argv


def _cmd(*args: str) -> Callable[[World], list[str]]:
    def argv(w: World) -> list[str]:
        return [
            a.format(root=w.root, run=w.run, bundle=w.bundle, data=w.data_dir, samples=w.samples, refs=w.refs)
            for a in args
        ]

    return argv


def _is_link_to(name: str, target: str) -> Callable[[World, str, str], None]:
    def check(w: World, out: str, err: str) -> None:
        assert os.path.islink(w.p(name)) and os.readlink(w.p(name)) == target

    return check


OUTPUT_CASES = [
    Case(
        "output onto the reference file", _ev("-o", "{root}/refs.txt"), 2, ("--output", "the reference file")
    ),
    Case("output onto the samples file", _ev("-o", "{root}/samples.txt"), 2, ("the samples file",)),
    Case(
        "output through a symlink to the references",
        _ev("-o", "{root}/to_refs.txt"),
        2,
        ("the reference file",),
        prepare=_link("to_refs.txt", "refs.txt"),
    ),
    Case(
        "output onto a hard link of the references",
        _ev("-o", "{root}/hard_refs.txt"),
        2,
        ("the reference file",),
        prepare=lambda w: None if w.p("hard_refs.txt").exists() else os.link(w.refs, w.p("hard_refs.txt")),
    ),
    Case(
        "output onto the bundle's default reference file",
        _cmd("evaluate", "{samples}", "--bundle", "{bundle}", "-m", "bleu-2", "-o", "{bundle}/test.txt"),
        2,
        ("a file of bundle",),
    ),
    Case(
        "output onto the bundle's training split",
        _cmd("evaluate", "{samples}", "--bundle", "{bundle}", "-m", "bleu-2", "-o", "{bundle}/train.txt"),
        2,
        ("train.txt", "a file of bundle"),
    ),
    Case(
        "output onto a bundled corpus file",
        _ev("-o", "{data}/coco/test.txt"),
        2,
        ("bundled data",),
        extra_inputs=lambda w: [w.data_dir],
    ),
    Case(
        "output onto an npy feature file",
        _cmd(
            "evaluate",
            "{samples}",
            "-r",
            "{refs}",
            "-m",
            "fd",
            "--featurizer",
            "npy:{root}/fs.npy,{root}/fr.npy",
            "-o",
            "{root}/fs.npy",
        ),
        2,
        ("a feature file",),
    ),
    Case(
        "sample output onto the model's weights",
        _cmd("sample", "{run}", "-n", "2", "-o", "{run}/model/weights.pt"),
        2,
        ("inside the model directory",),
    ),
    Case(
        "sample output onto run.json",
        _cmd("sample", "{run}", "-n", "2", "-o", "{run}/run.json"),
        2,
        ("run.json",),
    ),
    Case(
        "sample output onto the checkpoint",
        _cmd("sample", "{run}", "-n", "2", "-o", "{run}/checkpoint.pt"),
        2,
        ("checkpoint.pt",),
    ),
    Case(
        "evaluate output onto the model's config",
        _cmd(
            "evaluate",
            "{run}",
            "--samples",
            "3",
            "-m",
            "bleu-2",
            "-r",
            "{refs}",
            "-o",
            "{run}/model/config.json",
        ),
        2,
        ("inside the model directory",),
    ),
    Case("output onto a directory", _ev("-o", "{bundle}"), 2, ("is a directory",)),
    Case(
        "output onto a symlink loop",
        _ev("-o", "{root}/loop_a"),
        2,
        ("symlink loop",),
        prepare=lambda w: (_link("loop_a", "loop_b")(w), _link("loop_b", "loop_a")(w)),
    ),
    Case(
        "output through a link to a full device",
        _ev("-o", "{root}/to_full"),
        2,
        ("to_full", "No space left on device"),
        prepare=_link("to_full", "/dev/full"),
        check=_is_link_to("to_full", "/dev/full"),
    ),
    Case(
        "output through a link to a character device",
        _ev("-o", "{root}/to_null"),
        0,
        prepare=_link("to_null", "/dev/null"),
        check=_is_link_to("to_null", "/dev/null"),
    ),
    Case(
        "output through a symlink writes its target and keeps the link",
        _ev("-o", "{root}/to_result"),
        0,
        prepare=_link("to_result", "result_target.csv"),
        check=lambda w, out, err: (
            _is_link_to("to_result", "result_target.csv")(w, out, err),
            "bleu-2" in w.p("result_target.csv").read_text(),
        ),
    ),
]

RUN_CASES = [
    Case(
        "resume of a finished run changes nothing",
        _cmd(
            "train",
            "lm",
            "--data",
            "{bundle}",
            "--out",
            "{run}",
            "--resume",
            "--max-steps",
            "2",
            "--no-progress",
            *TINY_LM,
        ),
        0,
        check=lambda w, out, err: "finished run" in out,
    ),
    Case(
        "fresh start on a finished run",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{run}", "--no-progress", *TINY_LM),
        2,
        ("holds a finished run",),
    ),
    Case(
        "--out holding unrelated files",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/foreign", "--no-progress", *TINY_LM),
        2,
        ("holds no tge run", "notes.txt"),
        prepare=lambda w: (
            w.p("foreign").mkdir(exist_ok=True),
            (w.p("foreign") / "notes.txt").write_text("x"),
        ),
        check=lambda w, out, err: "--resume" not in err,
        extra_inputs=lambda w: [w.p("foreign")],
    ),
    Case(
        "a negative training seed writes nothing",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/neg_seed", "--seed", "-1"),
        2,
        ("--seed",),
        check=lambda w, out, err: not w.p("neg_seed").exists(),
    ),
    Case(
        "a NaN learning rate writes nothing",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/nan_lr", "--set", "train.lr=nan"),
        2,
        ("lr", "finite"),
        check=lambda w, out, err: not w.p("nan_lr").exists(),
    ),
    Case(
        "an overflowing learning rate",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/big_lr", "--set", "train.lr=1e999"),
        2,
        ("lr", "finite"),
        check=lambda w, out, err: not w.p("big_lr").exists(),
    ),
    Case(
        "a NaN learning rate in a TOML config",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/toml_lr", "--config", "{root}/nan.toml"),
        2,
        ("lr", "finite"),
        prepare=_write("nan.toml", "[train]\nlr = nan\n"),
        check=lambda w, out, err: not w.p("toml_lr").exists(),
    ),
    Case(
        "a seed beyond 2^32",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/big_seed", "--seed", "4294967296"),
        2,
        ("--seed",),
    ),
    Case(
        "a seed beyond 2^32 through --set",
        _cmd(
            "train",
            "lm",
            "--data",
            "{bundle}",
            "--out",
            "{root}/big_seed2",
            "--set",
            "runner.seed=99999999999",
        ),
        2,
        ("runner", "seed"),
        check=lambda w, out, err: not w.p("big_seed2").exists(),
    ),
    Case(
        "tune with unreachable storage leaves nothing",
        _cmd(
            "tune",
            "lstm-lm",
            "--data",
            "{bundle}",
            "--out",
            "{root}/tune_bad",
            "--budget",
            "1",
            "--storage",
            "postgresql://nobody@127.0.0.1:1/none",
            "--no-progress",
        ),
        2,
        ("--storage",),
        check=lambda w, out, err: not w.p("tune_bad").exists(),
    ),
    Case(
        "tune with a malformed storage URL leaves nothing",
        _cmd(
            "tune",
            "lstm-lm",
            "--data",
            "{bundle}",
            "--out",
            "{root}/tune_url",
            "--budget",
            "1",
            "--storage",
            "postgresql://host:port/db",
            "--no-progress",
        ),
        2,
        ("--storage", "malformed"),
        check=lambda w, out, err: not w.p("tune_url").exists(),
    ),
    Case(
        "tune into an empty directory with bad storage leaves it empty",
        _cmd(
            "tune",
            "lstm-lm",
            "--data",
            "{bundle}",
            "--out",
            "{root}/tune_empty",
            "--budget",
            "1",
            "--storage",
            "postgresql://host:port/db",
            "--no-progress",
        ),
        2,
        ("--storage",),
        prepare=lambda w: w.p("tune_empty").mkdir(exist_ok=True),
        check=lambda w, out, err: list(w.p("tune_empty").iterdir()) == [],
    ),
    Case(
        "tune with a negative seed",
        _cmd("tune", "lstm-lm", "--data", "{bundle}", "--out", "{root}/t2", "--seed", "-3"),
        2,
        ("--seed",),
    ),
    Case(
        "tune with an infinite trial timeout",
        _cmd("tune", "lstm-lm", "--data", "{bundle}", "--out", "{root}/t3", "--trial-timeout", "inf"),
        2,
        ("--trial-timeout",),
    ),
]

INPUT_CASES = [
    Case(
        "CSV row with more fields than the header",
        _cmd("evaluate", "{root}/ragged.csv", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("ragged.csv", "line 3", "2 fields"),
        prepare=_write("ragged.csv", "text\nok\na man, rides\n"),
    ),
    Case(
        "CSV row with fewer fields than the header",
        _cmd("evaluate", "{root}/short.csv", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("short.csv", "line 3"),
        prepare=_write("short.csv", "text,id\na b,1\nc d\n"),
    ),
    Case(
        "CSV with an unterminated quote",
        _cmd("evaluate", "{root}/open.csv", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("open.csv", "line 2", "quote"),
        prepare=_write("open.csv", 'text\n"a man, rides\nb c\n'),
    ),
    Case(
        "CSV quote closed lines later",
        _cmd("evaluate", "{root}/span.csv", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("span.csv", "line 2", "quote"),
        prepare=_write("span.csv", 'text,id\n"a man\nrides",1\nb c,2\n'),
    ),
    Case(
        "TSV ragged row",
        _cmd("evaluate", "{root}/ragged.tsv", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("ragged.tsv", "line 2", "a tab"),
        prepare=_write("ragged.tsv", "text\na\tb\n"),
    ),
    Case(
        "a well-quoted CSV is read (control)",
        _cmd("evaluate", "{root}/good.csv", "-r", "{refs}", "-m", "bleu-2"),
        0,
        prepare=_write("good.csv", 'text,id\n"a man, rides",1\nb c,2\n'),
    ),
    Case(
        "samples identical to the references",
        _cmd("evaluate", "{refs}", "-r", "{refs}", "-m", "bleu-2"),
        0,
        ("warning", "of the samples are copies of reference sentences"),
    ),
    Case(
        "a lone surrogate in JSON lines",
        _cmd("evaluate", "{root}/sur.jsonl", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("sur.jsonl", "line 2", "surrogate"),
        prepare=_write("sur.jsonl", '{"text": "ok"}\n{"text": "a \\ud800"}\n'),
    ),
    Case(
        "an unbounded binary stream as samples",
        _cmd("evaluate", "{root}/zeros", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("zeros", "NUL byte"),
        prepare=_link("zeros", "/dev/zero"),
    ),
    Case(
        "a symlink loop as samples",
        _cmd("evaluate", "{root}/sloop_a", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("sloop_a", "symlink loop"),
        prepare=lambda w: (_link("sloop_a", "sloop_b")(w), _link("sloop_b", "sloop_a")(w)),
    ),
    Case(
        "a broken symlink as samples",
        _cmd("evaluate", "{root}/dangling", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("dangling", "broken symlink"),
        prepare=_link("dangling", "no_such_file"),
    ),
    Case(
        "NaN in npy features",
        _cmd(
            "evaluate",
            "{samples}",
            "-r",
            "{refs}",
            "-m",
            "fd",
            "--featurizer",
            "npy:{root}/nan.npy,{root}/fr.npy",
        ),
        2,
        ("nan.npy", "NaN", "row 2"),
        prepare=lambda w: np.save(w.p("nan.npy"), np.array([[0.0] * 4, [np.nan] * 4, [1.0] * 4])),
    ),
    Case(
        "npy features of different widths",
        _cmd(
            "evaluate",
            "{samples}",
            "-r",
            "{refs}",
            "-m",
            "fd",
            "--featurizer",
            "npy:{root}/wide.npy,{root}/fr.npy",
        ),
        2,
        ("wide.npy", "fr.npy", "columns"),
        prepare=lambda w: np.save(w.p("wide.npy"), np.zeros((3, 5))),
    ),
    Case(
        "1-D npy features",
        _cmd(
            "evaluate",
            "{samples}",
            "-r",
            "{refs}",
            "-m",
            "fd",
            "--featurizer",
            "npy:{root}/flat.npy,{root}/fr.npy",
        ),
        2,
        ("flat.npy", "2-D"),
        prepare=lambda w: np.save(w.p("flat.npy"), np.zeros(3)),
    ),
    Case(
        "FD of one sample",
        _cmd(
            "evaluate",
            "{root}/one.txt",
            "-r",
            "{refs}",
            "-m",
            "fd",
            "--featurizer",
            "npy:{root}/one.npy,{root}/fr.npy",
        ),
        2,
        ("at least 2 samples",),
        prepare=lambda w: (_write("one.txt", "a b\n")(w), np.save(w.p("one.npy"), np.zeros((1, 4)))),
    ),
    Case("bleu order beyond any sentence", _ev("-m", "bleu-1000000"), 2, ("bleu-1000000", "from 1 to 100")),
    Case("bleu order beyond 64 bits", _ev("-m", "bleu-99999999999999999999"), 2, ("from 1 to 100",)),
    Case("a negative evaluation seed", _ev("--seed", "-1"), 2, ("--seed",)),
    Case(
        "a NaN sampling temperature",
        _cmd("sample", "{run}", "-n", "2", "--temperature", "nan"),
        2,
        ("--temperature", "finite"),
    ),
    Case(
        "an infinite sampling temperature",
        _cmd("sample", "{run}", "-n", "2", "--temperature", "inf"),
        2,
        ("--temperature", "finite"),
    ),
    Case(
        "a NaN in the LM recipe",
        _ev("--lm-recipe-set", "train.lr=nan", "-m", "lm-score"),
        2,
        ("lr", "finite"),
    ),
    Case(
        "a bundle directory without test.txt",
        _cmd("evaluate", "{samples}", "--bundle", "{root}/half", "-m", "bleu-2"),
        2,
        ("half", "test.txt"),
        prepare=lambda w: (w.p("half").mkdir(exist_ok=True), (w.p("half") / "train.txt").write_text("a b\n")),
    ),
    Case(
        "an unknown bundle",
        _cmd("evaluate", "{samples}", "--bundle", "nowhere", "-m", "bleu-2"),
        2,
        ("--bundle nowhere", "neither a directory nor a bundled corpus"),
    ),
    Case(
        "a bare directory name as bundle",
        _cmd("evaluate", "{samples}", "--bundle", "bundle", "-m", "bleu-2"),
        0,
    ),
    Case(
        "a directory shadowing a bundled name",
        _cmd("evaluate", "{samples}", "--bundle", "coco", "-m", "bleu-2"),
        0,
        ("using the directory",),
        prepare=lambda w: (
            (w.p("coco")).mkdir(exist_ok=True),
            (w.p("coco") / "test.txt").write_text("a dog runs\n"),
        ),
    ),
    Case(
        "--debug keeps exit code 2",
        _cmd("--debug", "evaluate", "{root}/ragged.csv", "-r", "{refs}"),
        2,
        ("Traceback", "ragged.csv"),
        prepare=_write("ragged.csv", "text\nok\na man, rides\n"),
    ),
    Case("--fd-n below 2", _ev("-m", "fd", "--fd-n", "1"), 2, ("--fd-n",)),
    Case(
        "sampling from a directory that is no model",
        _cmd("sample", "{bundle}", "-n", "2"),
        2,
        ("not a trained model",),
    ),
    Case("sampling zero sentences", _cmd("sample", "{run}", "-n", "0"), 2, ("-n",)),
    Case(
        "an empty samples file",
        _cmd("evaluate", "{root}/empty.txt", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("empty.txt", "no sentences"),
        prepare=_write("empty.txt", ""),
    ),
    Case(
        "a Latin-1 samples file",
        _cmd("evaluate", "{root}/latin1.txt", "-r", "{refs}", "-m", "bleu-2"),
        2,
        ("latin1.txt", "UTF-8", "line 2"),
        prepare=_write("latin1.txt", b"ok\ncaf\xe9\n"),
    ),
    Case("an image metric on text", _ev("-m", "nll-iw-10"), 2, ("nll-iw-10",)),
    Case(
        "an unknown --set key",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/k", "--set", "model.nope=1"),
        2,
        ("nope", "valid keys"),
        check=lambda w, out, err: not w.p("k").exists(),
    ),
    Case(
        "a --set without =",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/k2", "--set", "model"),
        2,
        ("--set", "KEY=VALUE"),
        check=lambda w, out, err: not w.p("k2").exists(),
    ),
    Case(
        "a missing config file",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{root}/k3", "--config", "{root}/missing.toml"),
        2,
        ("missing.toml",),
        check=lambda w, out, err: not w.p("k3").exists(),
    ),
    Case(
        "--out that is a file",
        _cmd("train", "lm", "--data", "{bundle}", "--out", "{samples}"),
        2,
        ("samples.txt",),
    ),
    Case(
        "missing training data",
        _cmd("train", "lm", "--train", "{root}/nothing.txt", "--out", "{root}/k4"),
        2,
        ("nothing.txt", "not found"),
        check=lambda w, out, err: not w.p("k4").exists(),
    ),
    Case(
        "tune --resume of a directory that is no tuning run",
        _cmd("tune", "--resume", "{bundle}"),
        2,
        ("tune.json",),
    ),
    Case(
        "tune into a directory of unrelated files",
        _cmd("tune", "lstm-lm", "--data", "{bundle}", "--out", "{bundle}", "--budget", "1"),
        2,
        ("holds no tuning run",),
        check=lambda w, out, err: "--resume" not in err,
    ),
    Case(
        "tune with SQLite in a missing directory leaves nothing",
        _cmd(
            "tune",
            "lstm-lm",
            "--data",
            "{bundle}",
            "--out",
            "{root}/tune_sqlite",
            "--budget",
            "1",
            "--storage",
            "sqlite:////no/such/dir/x.db",
        ),
        2,
        ("--storage",),
        check=lambda w, out, err: not w.p("tune_sqlite").exists(),
    ),
    Case("output below a regular file", _ev("-o", "{root}/samples.txt/result.csv"), 2, ("--output",)),
]

CORPUS = OUTPUT_CASES + RUN_CASES + INPUT_CASES


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_input(case: Case, env: World, capsys: pytest.CaptureFixture[str]) -> None:
    if case.prepare is not None:
        case.prepare(env)
    protected = [env.samples, env.refs, env.bundle, env.run, env.npy_samples, env.npy_refs, env.data_dir]
    protected += case.extra_inputs(env)
    before = _snapshot(protected)
    code = main(case.argv(env))
    out, err = capsys.readouterr()
    assert code == case.code, (out, err)
    for text in case.says:
        assert text in err, err
    if "Traceback" not in case.says:
        assert "Traceback" not in err and "internal error" not in err, err
    assert _snapshot(protected) == before, "an input changed"
    if case.check is not None:
        result = case.check(env, out, err)
        assert result is not False and (not isinstance(result, tuple) or all(r is not False for r in result))


# -- cases that need a real process, a reader, a racing writer or the umask -------------------------


def test_output_through_a_fifo_reaches_its_reader_and_the_fifo_stays(env: World, capsys) -> None:
    fifo = env.p("pipe")
    if not fifo.exists():
        os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code = main(_ev("-o", str(fifo))(env))
    reader.join(timeout=30)
    assert code == 0 and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert b"bleu-2" in received[0]


def test_output_to_a_fifo_nobody_reads_is_refused(env: World, capsys, monkeypatch) -> None:
    fifo = env.p("lonely_pipe")
    if not fifo.exists():
        os.mkfifo(fifo)
    monkeypatch.setattr(output_module, "FIFO_WAIT_S", 0.3)
    code = main(_ev("-o", str(fifo))(env))
    err = capsys.readouterr().err
    assert code == 2 and "FIFO" in err and "lonely_pipe" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_output_to_stdout_through_a_descriptor_link(env: World) -> None:
    """``-o /dev/stdout`` (a link to /proc/self/fd/1): the table reaches stdout, the link stays."""
    link = env.p("my_stdout")
    if not os.path.lexists(link):
        os.symlink("/proc/self/fd/1", link)
    run = run_subprocess(*_ev("-o", str(link))(env), env={"TGE_DATA_DIR": str(env.data_dir)})
    assert run.code == 0 and "bleu-2" in run.out, run.err
    assert os.path.islink(link)


def test_a_full_disk_on_stdout_is_exit_2(env: World) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "textgen_eval", *_ev()(env)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TGE_DATA_DIR": str(env.data_dir)},
            timeout=120,
        )
    assert proc.returncode == 2 and "No space left on device" in proc.stderr and "bug" not in proc.stderr


def test_outputs_respect_the_umask_and_keep_a_replaced_files_mode(env: World, capsys) -> None:
    files_module.process_umask.cache_clear()
    old = os.umask(0o022)
    try:
        fresh = env.p("umask_new.csv")
        assert main(_ev("--format", "csv", "-o", str(fresh))(env)) == 0
        assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o644
        private = env.p("umask_private.csv")
        private.write_text("old")
        private.chmod(0o600)
        assert main(_ev("--format", "csv", "-o", str(private))(env)) == 0
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o600 and "bleu-2" in private.read_text()
        run = env.p("umask_run")
        assert (
            main(
                [
                    "train",
                    "lm",
                    "--data",
                    str(env.bundle),
                    "--out",
                    str(run),
                    "--max-steps",
                    "1",
                    "--no-progress",
                    *TINY_LM,
                ]
            )
            == 0
        )
        for name in ("run.json", "checkpoint.pt", "result.json", "model/weights.pt"):
            assert stat.S_IMODE(os.stat(run / name).st_mode) == 0o644, name
    finally:
        os.umask(old)
        files_module.process_umask.cache_clear()


def _train_args(world: World, out: Path, *extra: str) -> list[str]:
    return ["train", "lm", "--data", str(world.bundle), "--out", str(out), "--no-progress", *TINY_LM, *extra]


#: A training that runs for 10 s whatever the machine's speed (the racing writer starts well within).
LONG = ("--set", "runner.max_epochs=100000", "--set", "runner.time_budget=10")


def test_two_trainings_on_one_out_one_is_refused_and_the_run_is_consistent(env: World) -> None:
    out = env.p("race")
    first = subprocess.Popen(
        [sys.executable, "-m", "textgen_eval", *_train_args(env, out, "--seed", "1", *LONG)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out / "run.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = run_subprocess(*_train_args(env, out, "--max-steps", "3", "--seed", "2"))
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    assert second.code == 2 and "another tge process" in second.err, second.err
    info = json.loads((out / "run.json").read_text())
    assert info["seed"] == 1 and info["config"]["runner"]["seed"] == 1
    ends = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if '"end"' in line]
    assert len(ends) == 1 and ends[0]["stopped"] == "time_budget"
    assert json.loads((out / "result.json").read_text())["steps"] == ends[0]["step"]


def test_a_run_killed_before_its_first_checkpoint_restarts_with_resume(env: World) -> None:
    out = env.p("killed")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "textgen_eval",
            *_train_args(
                env,
                out,
                "--set",
                "runner.max_epochs=500",
                "--set",
                "runner.checkpoint_every=1000000",
                "--set",
                "runner.eval_every=1000000",
            ),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (out / "run.json").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=30)
    assert (out / "run.json").exists() and not (out / "checkpoint.pt").exists()
    fresh = run_subprocess(*_train_args(env, out, "--max-steps", "2"))
    assert fresh.code == 2 and "before its first checkpoint" in fresh.err and "--resume" in fresh.err
    resumed = run_subprocess(*_train_args(env, out, "--max-steps", "2", "--resume"))
    assert resumed.code == 0, resumed.err
    assert (out / "model" / "config.json").is_file()
    assert json.loads((out / "result.json").read_text())["steps"] == 2


def test_a_resume_with_other_training_data_is_refused(env: World, capsys) -> None:
    out = env.p("interrupted")
    assert main(_train_args(env, out, "--max-steps", "2")) == 0
    (out / "result.json").unlink()  # now an interrupted run: a checkpoint, no result
    before = _snapshot([out])
    code = main(
        ["train", "lm", "--train", str(env.refs), "--out", str(out), "--resume", "--no-progress", *TINY_LM]
    )
    err = capsys.readouterr().err
    assert code == 2 and "other data" in err and "--resume" in err
    assert _snapshot([out]) == before


def test_sampling_into_a_run_being_written_is_refused(env: World, capsys) -> None:
    from textgen_eval.pipelines.rundir import run_lock

    with run_lock(env.run):
        code = main(["sample", str(env.run), "-n", "2", "-o", str(env.run / "fresh_samples.txt")])
    err = capsys.readouterr().err
    assert code == 2 and "another tge process" in err
    assert not (env.run / "fresh_samples.txt").exists()


def test_corpus_size() -> None:
    """The note of issue 15 reports this number; the corpus only grows."""
    assert len(CORPUS) >= 72
