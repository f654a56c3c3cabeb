"""Preparing training data: gather the corpus, train the tokenizer, write both to a folder.

The folder (`corpus.json`, `docs.jsonl.gz`, `tokenizer.json`, `prepared.json`) is what a
training run reads, here or on another machine: it is prepared once where the corpus is, and
carried (a few tens of MB) to where the accelerator is. Token sequences are not stored: each
epoch draws fresh FIM cuts and is tokenized while the previous one trains.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autan.train.bpe import DEFAULT_VOCAB, plain_encoder, sample_texts, save_tokenizer
from autan.train.bpe import train_bpe as train_tokenizer
from autan.train.corpus import (
    Corpus,
    Document,
    corpus_meta,
    gather,
    load_corpus,
    save_corpus,
)


@dataclass
class Prepared:
    folder: Path
    corpus: Corpus
    tokenizer: Path
    chars_per_token: float

    @property
    def meta(self) -> dict:
        """Packages and licenses, as the model card lists them."""
        return corpus_meta(self.corpus)


def measure_chars_per_token(docs: list[Document], tokenizer: Path, n: int = 400) -> float:
    """Characters per token over a seeded sample of documents (sizes the samples)."""
    sample = random.Random(0).sample(docs, min(n, len(docs)))
    encoder = plain_encoder(tokenizer)
    tokens = sum(len(e.ids) for e in encoder.encode_batch([d.text for d in sample]))
    return sum(len(d.text) for d in sample) / max(tokens, 1)


def prepare(folder: Path, folders: Iterable[Path] = (), stdlib: bool = True,
            site: bool = True, vocab_size: int = DEFAULT_VOCAB) -> Prepared:
    """Gather, save, train the tokenizer on the training split only, and measure it."""
    corpus = gather(folders, stdlib=stdlib, site=site)
    train_docs = corpus.split("train")
    if not train_docs:
        raise ValueError("the corpus has no training documents")
    save_corpus(corpus, folder)
    tokenizer = save_tokenizer(train_tokenizer(sample_texts(train_docs), vocab_size),
                               folder / "tokenizer.json")
    cpt = measure_chars_per_token(train_docs, tokenizer)
    (folder / "prepared.json").write_text(json.dumps({"chars_per_token": cpt,
                                                      "vocab_size": vocab_size}) + "\n")
    return Prepared(folder, corpus, tokenizer, cpt)


def load_prepared(folder: Path) -> Prepared:
    """A folder `prepare` wrote (FileNotFoundError names the missing file)."""
    for name in ("corpus.json", "docs.jsonl.gz", "tokenizer.json", "prepared.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: missing; run `autan train "
                                    "--prepare-only --out DIR` to make a data folder")
    meta = json.loads((folder / "prepared.json").read_text(encoding="utf-8"))
    return Prepared(folder, load_corpus(folder), folder / "tokenizer.json",
                    float(meta["chars_per_token"]))
