"""Corpus: the license filter, the held-out split by whole package, gathering and saving."""

from __future__ import annotations

from email.message import Message
from pathlib import Path

import pytest

from autan.train.corpus import (
    classify_license,
    gather,
    is_heldout,
    load_corpus,
    merge,
    save_corpus,
    spdx_allowed,
    stdlib_packages,
)
from tests.train.fixtures import make_docs, write_folder


@pytest.mark.parametrize(("expression", "allowed"), [
    ("MIT", True), ("BSD-3-Clause", True), ("Apache-2.0", True), ("PSF-2.0", True),
    ("Apache-2.0 OR BSD-2-Clause", True), ("MIT OR GPL-3.0-only", True),
    ("(MIT AND BSD-3-Clause) OR LGPL-2.1", True), ("Apache-2.0 WITH LLVM-exception", True),
    ("MIT AND MPL-2.0", False), ("GPL-3.0-or-later", False), ("ISC", False),
    ("BSD-3-Clause AND 0BSD AND MIT AND Zlib", False),
])
def test_spdx_expressions(expression: str, allowed: bool) -> None:
    assert spdx_allowed(expression) is allowed


def metadata(**fields: object) -> Message:
    meta = Message()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            meta[key.replace("_", "-")] = item
    return meta


@pytest.mark.parametrize(("fields", "allowed"), [
    ({"License_Expression": "MIT"}, True),
    ({"License_Expression": "MPL-2.0 AND MIT"}, False),
    ({"Classifier": ["License :: OSI Approved :: BSD License"]}, True),
    ({"Classifier": ["License :: OSI Approved :: MIT License",
                     "License :: OSI Approved :: GNU General Public License (GPL)"]}, False),
    ({"License": "Apache 2.0 License"}, True),
    ({"License": "BSD"}, True),
    ({"License": "MPL-2.0 AND MIT"}, False),
    ({"License": "GNU GPL v3"}, False),
    ({"License": "Copyright (c) 2020 Someone\n" + "Permission is hereby granted " * 20}, False),
    ({}, False),
])
def test_license_metadata(fields: dict, allowed: bool) -> None:
    assert classify_license(metadata(**fields)).allowed is allowed


def test_heldout_split_is_deterministic_and_by_name() -> None:
    names = [f"package-{i}" for i in range(2000)]
    held = [n for n in names if is_heldout(n)]
    assert held == [n for n in names if is_heldout(n)]
    assert 0.08 < len(held) / len(names) < 0.16
    assert is_heldout("stdlib-asyncio") and not is_heldout("stdlib")


def test_gather_folders_split_dedup_and_roundtrip(tmp_path: Path) -> None:
    docs = make_docs(packages=2, files=3)
    write_folder(tmp_path / "src", docs)
    (tmp_path / "src" / "pkg1" / "copy.py").write_text(docs[0].text)  # a duplicate
    (tmp_path / "src" / "pkg1" / "tests").mkdir()
    (tmp_path / "src" / "pkg1" / "tests" / "test_x.py").write_text("x = 1\n" * 10)
    corpus = gather([tmp_path / "src" / "pkg0", tmp_path / "src" / "pkg1"], stdlib=False,
                    site=False)
    assert [p.name for p in corpus.packages] == ["pkg0", "pkg1"]
    assert all(p.split == "train" and p.license == "user-supplied" for p in corpus.packages)
    assert sorted(d.path for d in corpus.docs if d.package == "pkg1") == [
        "mod0.py", "mod1.py", "mod2.py"]  # the copy and the test folder are left out
    back = load_corpus(save_corpus(corpus, tmp_path / "saved"))
    assert back.docs == corpus.docs and back.packages == corpus.packages


def test_stdlib_packages_skip_tests_and_site_packages(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    for rel in ("os_like.py", "email/__init__.py", "email/parser.py", "test/test_a.py",
                "site-packages/thing/x.py", "config-3.11/cfg.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\nVALUE = {len(rel)}\n" + "pass\n" * 8)
    groups = stdlib_packages(root)
    assert sorted(groups) == ["stdlib", "stdlib-email"]
    assert sorted(d.path for d in groups["stdlib-email"]) == ["email/__init__.py",
                                                             "email/parser.py"]


def test_heldout_packages_never_reach_the_training_split() -> None:
    corpus = gather(stdlib=True, site=False)
    held = {p.name for p in corpus.packages if p.split == "heldout"}
    assert held  # the standard library alone has held-out packages (stdlib-asyncio, ...)
    assert not {d.package for d in corpus.split("train")} & held
    assert {d.package for d in corpus.split("heldout")} == held


def test_merge_adds_only_missing_packages_and_new_texts(tmp_path: Path) -> None:
    docs = make_docs(packages=3, files=2)
    write_folder(tmp_path / "src", docs)
    root = tmp_path / "src"
    base = gather([root / "pkg0", root / "pkg1"], stdlib=False, site=False)
    (root / "pkg2" / "dup.py").write_text(docs[0].text)  # already in pkg0
    extra = gather([root / "pkg1", root / "pkg2"], stdlib=False, site=False)
    merged = merge(base, extra)
    assert [p.name for p in merged.packages] == ["pkg0", "pkg1", "pkg2"]
    assert sorted(d.path for d in merged.docs if d.package == "pkg2") == ["mod0.py", "mod1.py"]
    assert merged.packages[2].files == 2 and len(base.packages) == 2
