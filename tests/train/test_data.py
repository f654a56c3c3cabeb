"""Epochs: every file's text kept in samples, deterministic rebuilds, resumable batches."""

from __future__ import annotations

import random
from itertools import islice
from pathlib import Path

import numpy as np

from autan.train.data import (
    DataOptions,
    EpochStream,
    Position,
    build_epoch,
    package_groups,
    split_at_line,
)
from tests.train.fixtures import make_docs, make_tokenizer


def test_package_groups_keep_every_line_and_fit() -> None:
    docs = make_docs(packages=1, files=6)
    opts = DataOptions(seq_len=64, chars_per_token=3.0, fill=1.0)
    groups = package_groups("pkg0", docs, random.Random(0), opts)
    assert all(sum(len(d.text) for d in files) <= opts.sample_chars for _, files in groups)
    joined: dict[str, str] = {}
    for _, files in groups:
        for doc in files:
            joined[doc.path] = joined.get(doc.path, "") + doc.text
    assert joined == {d.path: d.text for d in docs}  # cut at line ends, nothing lost


def test_split_at_line_progresses() -> None:
    assert split_at_line("ab\ncd\n", 4, empty=False) == ("ab\n", "cd\n")
    assert split_at_line("abcdef", 4, empty=False) == ("", "abcdef")
    assert split_at_line("abcdef", 4, empty=True) == ("abcd", "ef")


def test_epochs_are_deterministic_and_differ(tmp_path: Path) -> None:
    docs = make_docs(packages=3, files=4)
    tok = make_tokenizer(tmp_path, docs)
    opts = DataOptions(seq_len=64, chars_per_token=2.5)
    a, b = build_epoch(docs, tok, 7, 0, opts), build_epoch(docs, tok, 7, 0, opts)
    assert a.shape[1] == 65 and np.array_equal(a, b)
    assert not np.array_equal(a, build_epoch(docs, tok, 7, 1, opts)[: len(a)])


def test_stream_resumes_at_a_position(tmp_path: Path) -> None:
    docs = make_docs(packages=3, files=4)
    tok = make_tokenizer(tmp_path, docs)
    opts = DataOptions(seq_len=64, chars_per_token=2.5)
    stream = EpochStream(docs, tok, 3, opts, batch_size=4)
    straight = list(islice(stream.batches(Position()), 12))  # crosses an epoch boundary
    assert straight[-1][0].epoch >= 1
    position = straight[4][0]
    resumed = list(islice(EpochStream(docs, tok, 3, opts, 4).batches(position), 7))
    for (p1, rows1), (p2, rows2) in zip(straight[5:], resumed, strict=True):
        assert p1 == p2 and np.array_equal(rows1, rows2)
    stream.close()
