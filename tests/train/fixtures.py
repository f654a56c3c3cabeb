"""Tiny corpora and tokenizers for the training tests, made here (nothing is downloaded)."""

from __future__ import annotations

import random
from pathlib import Path

from autan.train.bpe import save_tokenizer, train_bpe
from autan.train.corpus import Document

WORDS = ("alpha", "beta", "gamma", "delta", "count", "total", "items", "value", "result")


def python_file(rng: random.Random, n_functions: int) -> str:
    """Small, regular Python: functions with loops, ifs and returns (learnable quickly)."""
    out = []
    for _ in range(n_functions):
        name, arg, acc = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
        out.append(f"def {name}_{rng.randint(0, 9)}({arg}):\n"
                   f"    {acc} = 0\n"
                   f"    for x in {arg}:\n"
                   f"        if x > {rng.randint(0, 9)}:\n"
                   f"            {acc} += x\n"
                   f"    return {acc}\n")
    return "\n\n".join(out)


def make_docs(packages: int = 3, files: int = 4, seed: int = 0) -> list[Document]:
    rng = random.Random(seed)
    return [Document(f"pkg{p}", f"pkg{p}/mod{f}.py", python_file(rng, rng.randint(2, 5)))
            for p in range(packages) for f in range(files)]


def write_folder(root: Path, docs: list[Document]) -> Path:
    for doc in docs:
        path = root / doc.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc.text, encoding="utf-8")
    return root


def make_tokenizer(folder: Path, docs: list[Document], vocab: int = 320) -> Path:
    return save_tokenizer(train_bpe([d.text for d in docs], vocab), folder / "tokenizer.json")
