"""The tokenizer: byte-level BPE trained with `tokenizers` on the training split of the corpus.

Byte-level, so any text (any language, any bytes) encodes without unknown tokens. The special
tokens use the StarCoder names, so `autan.model.io.fim.detect_family` recognises the layout our
models are trained on (`<fim_prefix>` ... `<fim_middle>`, `<file_sep>`, `<repo_name>`), and
`<|endoftext|>` is the end of a document, which the tokenizer wrapper finds as EOS by name.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

from tokenizers import Tokenizer as HfTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from autan.train.corpus import Document

# Order fixes the ids 0..6; <|endoftext|> first as in StarCoder.
SPECIAL_TOKENS = ("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>",
                  "<file_sep>", "<repo_name>")
DEFAULT_VOCAB = 16384
# Tokenizer training reads at most this much text, spread over packages: the merges of a
# 16K vocabulary are settled long before, and a large package would otherwise dominate them.
TRAIN_CHARS = 40_000_000
PER_PACKAGE_CHARS = 4_000_000


def sample_texts(docs: Sequence[Document], total: int = TRAIN_CHARS,
                 per_package: int = PER_PACKAGE_CHARS, seed: int = 0) -> list[str]:
    """A seeded sample of documents, at most `per_package` characters from any one package."""
    order = list(docs)
    random.Random(seed).shuffle(order)
    taken: dict[str, int] = {}
    out, size = [], 0
    for doc in order:
        if size >= total:
            break
        if taken.get(doc.package, 0) + len(doc.text) > per_package:
            continue
        taken[doc.package] = taken.get(doc.package, 0) + len(doc.text)
        out.append(doc.text)
        size += len(doc.text)
    return out


def new_tokenizer() -> HfTokenizer:
    """An untrained byte-level BPE with the decoder that undoes its byte mapping."""
    tok = HfTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_bpe(texts: Sequence[str], vocab_size: int = DEFAULT_VOCAB) -> HfTokenizer:
    """Train on `texts`; the special tokens get ids 0..6, then the 256 byte symbols."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)

    def batches() -> Iterator[list[str]]:
        for i in range(0, len(texts), 256):
            yield list(texts[i : i + 256])

    tok.train_from_iterator(batches(), trainer, length=len(texts))
    return tok


def save_tokenizer(tok: HfTokenizer, path: Path) -> Path:
    """Write tokenizer.json atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tok.save(str(tmp))
    os.replace(tmp, path)
    return path


def plain_encoder(path: Path) -> HfTokenizer:
    """The tokenizer for training text: control-token spellings inside code stay plain text
    (as `autan.model.io.tokenizer.Tokenizer.encode` does), and no post-processor adds tokens.
    Control tokens are inserted by id, never parsed from text."""
    tok = HfTokenizer.from_file(str(path))
    tok.encode_special_tokens = True
    return tok
