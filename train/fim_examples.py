"""Fill-in-the-middle training samples, and packing several files of one package per sample.

FIM (Bavarian et al. 2022, "Efficient Training of Language Models to Fill in the Middle"): a
document is cut at two character positions drawn uniformly into prefix, middle and suffix, and
with probability `rate` moved so the middle comes last:
    PSM  <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle
    SPM  <fim_prefix> <fim_suffix> suffix <fim_middle> prefix middle
Left-to-right training loses nothing measurable at rates up to 0.9 while infilling is learned.
Cutting characters, not tokens, means a cut may fall inside a word, as a cursor does.

A sample is one package's files, in one of two formats, so that the model learns both the
prompts `autan.model.io.fim.build_fim_prompt` makes (StarCoder2 layout) with repository context
and without:
    repository  <repo_name> name <file_sep> path\\n code ... <file_sep> <fim_prefix> path\\n ...
    plain       code <|endoftext|> <fim_prefix> ... <fim_middle> middle <|endoftext|> ...
Each text piece is encoded on its own, exactly as the prompt builder encodes its pieces, so
token boundaries at the markers are the same in training and at inference.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer as HfTokenizer

from autan.train.corpus import Document


@dataclass(frozen=True)
class Special:
    """A control token, inserted by id (never spelled out in text)."""

    name: str


Piece = str | Special
PREFIX, MIDDLE, SUFFIX = Special("<fim_prefix>"), Special("<fim_middle>"), Special("<fim_suffix>")
PAD, FILE_SEP, REPO_NAME = Special("<fim_pad>"), Special("<file_sep>"), Special("<repo_name>")
EOT = Special("<|endoftext|>")


@dataclass(frozen=True)
class FimOptions:
    rate: float = 0.75  # documents transformed (Bavarian et al.: 0.5 to 0.9 costs nothing)
    spm_rate: float = 0.5  # of those, suffix-prefix-middle
    repo_rate: float = 0.5  # samples in the repository format


def split_points(text: str, rng: random.Random) -> tuple[str, str, str]:
    """(prefix, middle, suffix) cut at two uniform character positions; they concatenate back
    to `text`, and any part may be empty."""
    a, b = sorted((rng.randint(0, len(text)), rng.randint(0, len(text))))
    return text[:a], text[a:b], text[b:]


def fim_document(text: str, rng: random.Random, opts: FimOptions, head: str = "") -> list[Piece]:
    """One document, FIM-transformed with probability `opts.rate`. `head` (the file's path
    line) opens the prefix, as the prompt builder puts it after `<fim_prefix>`."""
    if rng.random() >= opts.rate:
        return [head + text]
    prefix, middle, suffix = split_points(text, rng)
    if rng.random() < opts.spm_rate:
        return [PREFIX, SUFFIX, suffix, MIDDLE, head + prefix + middle]
    return [PREFIX, head + prefix, SUFFIX, suffix, MIDDLE, middle]


def with_newline(text: str) -> str:
    """Files end in a newline, so the next separator starts a line (as in the prompt)."""
    return text if text.endswith("\n") else text + "\n"


def pack_repository(name: str, docs: Sequence[Document], rng: random.Random,
                    opts: FimOptions) -> list[Piece]:
    """`<repo_name>name`, then each file after `<file_sep>` with its path on the first line."""
    pieces: list[Piece] = [REPO_NAME, name]
    for doc in docs:
        pieces.append(FILE_SEP)
        pieces += fim_document(with_newline(doc.text), rng, opts, head=f"{doc.path}\n")
    pieces.append(EOT)
    return pieces


def pack_plain(docs: Sequence[Document], rng: random.Random, opts: FimOptions) -> list[Piece]:
    """Files one after another, each ended by `<|endoftext|>`, with no names."""
    pieces: list[Piece] = []
    for doc in docs:
        pieces += fim_document(doc.text, rng, opts)
        pieces.append(EOT)
    return pieces


def build_sample(name: str, docs: Sequence[Document], rng: random.Random,
                 opts: FimOptions) -> list[Piece]:
    """One package's files as one sample, in the repository format with `opts.repo_rate`."""
    if rng.random() < opts.repo_rate:
        return pack_repository(name, docs, rng, opts)
    return pack_plain(docs, rng, opts)


def special_ids(encoder: HfTokenizer) -> dict[Special, int]:
    """Ids of the control tokens, looked up by name; all must exist."""
    ids = {}
    for tok in (PREFIX, MIDDLE, SUFFIX, PAD, FILE_SEP, REPO_NAME, EOT):
        found = encoder.token_to_id(tok.name)
        if found is None:
            raise ValueError(f"tokenizer has no {tok.name} token")
        ids[tok] = found
    return ids


def encode_samples(samples: Sequence[Sequence[Piece]], encoder: HfTokenizer,
                   ids: dict[Special, int]) -> list[np.ndarray]:
    """Token ids of each sample: text pieces encoded in one parallel batch, each on its own."""
    texts = [p for s in samples for p in s if isinstance(p, str) and p]
    encoded = iter(encoder.encode_batch(texts, add_special_tokens=False))
    out = []
    for sample in samples:
        parts = [np.array([ids[piece]], dtype=np.int32) if isinstance(piece, Special)
                 else np.asarray(next(encoded).ids, dtype=np.int32) for piece in sample if piece]
        out.append(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32))
    return out
