"""A trial journal that cannot be one is named, with exit 2 (issue 34, item 3): a damaged line in
the middle (not a crash's cut-off last write), random bytes, a directory, a symlink loop — where
Optuna would raise an internal error or the run would silently start over."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from textgen_eval.core.errors import InputError
from textgen_eval.tuning.journal import recover_journal
from textgen_eval.tuning.storage import open_storage, parse_storage


def test_a_damaged_middle_line_or_random_bytes_are_refused_and_the_file_kept(tmp_path: Path) -> None:
    journal = tmp_path / "study.journal"
    good = [json.dumps({"op_code": 0, "worker_id": "w", "study_name": "s"}) for _ in range(3)]
    journal.write_text("\n".join([good[0], '{"op_code": 5, "worker_id": garbage', good[1]]) + "\n")
    before = journal.read_bytes()
    with pytest.raises(InputError, match="line 2 is not a JSON record"):
        recover_journal(journal)
    assert journal.read_bytes() == before  # nothing cut, nothing dropped
    journal.write_bytes(os.urandom(64).replace(b"\n", b"x") + b"\n")
    with pytest.raises(InputError, match=r"not UTF-8 text|not a JSON record"):
        recover_journal(journal)


def test_a_cut_off_last_record_is_still_repaired(tmp_path: Path) -> None:
    journal = tmp_path / "study.journal"
    journal.write_text(json.dumps({"op_code": 0}) + "\n" + '{"op_code": 1, "stu')
    message = recover_journal(journal)
    assert message is not None and "incomplete last record" in message
    assert journal.read_text() == json.dumps({"op_code": 0}) + "\n"


def test_a_directory_or_a_symlink_loop_as_the_journal_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    folder.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        recover_journal(folder)
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(InputError, match="symlink loop"):
        parse_storage(str(a))


def test_an_endless_device_or_a_fifo_as_the_journal_is_refused_without_reading_it(tmp_path: Path) -> None:
    """Issue 34, item 4: reading storage through an endless device stops at a bound — here before
    the first byte: a journal must be a regular file, and opening a FIFO would block forever."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "study.journal"
    link.symlink_to("/dev/zero")
    for path in ("/dev/zero", "/dev/urandom", fifo, link):
        with pytest.raises(InputError, match=r"not a regular file \(a device, FIFO or socket\)"):
            open_storage(parse_storage(str(path)), heartbeat_interval=None)
