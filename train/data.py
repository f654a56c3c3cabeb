"""Each epoch's training sequences, built from documents deterministically from (seed, epoch).

An epoch shuffles each package's files, caps how much of one package it takes (one large
package of near-duplicate files would otherwise make up half the data), cuts long files at
line boundaries, groups a package's files into samples of about one sequence, FIM-transforms
and tokenizes them (`fim_examples.py`), and shuffles the samples. Each sample becomes one
sequence of `seq_len + 1` tokens: cut at the end if longer, padded with `<fim_pad>` (masked
out of the loss) if shorter, so every sequence starts at a sample's start with its repository
header.

Nothing is random outside `random.Random(f"{seed}:{epoch}")`: rebuilding an epoch gives the
same sequences, which is what makes resuming reproduce the data order.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autan.train.bpe import plain_encoder
from autan.train.corpus import Document
from autan.train.fim_examples import PAD, FimOptions, build_sample, encode_samples, special_ids


@dataclass(frozen=True)
class DataOptions:
    seq_len: int = 2048
    chars_per_token: float = 3.3  # sizes samples before tokenizing; measured at preparation
    fill: float = 1.05  # samples aim a little over a sequence, so few need padding
    max_package_chars: int = 16_000_000  # per package per epoch
    fim: FimOptions = field(default_factory=FimOptions)

    @property
    def sample_chars(self) -> int:
        """Characters per sample, estimated from the measured characters per token."""
        return int(self.seq_len * self.chars_per_token * self.fill)


@dataclass(frozen=True)
class Position:
    """Where training is in the data: the next batch is batch `batch` of epoch `epoch`."""

    epoch: int = 0
    batch: int = 0


def split_at_line(text: str, room: int, empty: bool) -> tuple[str, str]:
    """(head, rest): the longest head of whole lines within `room` characters. A sample that
    is still `empty` takes a hard cut rather than nothing, so every call makes progress."""
    if len(text) <= room:
        return text, ""
    cut = text.rfind("\n", 0, room) + 1
    if cut == 0:
        cut = room if empty else 0
    return text[:cut], text[cut:]


def package_groups(name: str, docs: Sequence[Document], rng: random.Random,
                   opts: DataOptions) -> list[tuple[str, list[Document]]]:
    """One package's files for this epoch: shuffled, capped at `max_package_chars`, and laid
    into samples of `sample_chars`; a file that overflows a sample is cut at a line end and
    continues (same path) at the start of the next, so samples are full and nothing is lost."""
    order = list(docs)
    rng.shuffle(order)
    groups: list[tuple[str, list[Document]]] = []
    current: list[Document] = []
    size = taken = 0
    for doc in order:
        if taken >= opts.max_package_chars:
            break
        taken += len(doc.text)
        text = doc.text
        while text:
            head, text = split_at_line(text, opts.sample_chars - size, not current)
            if head:
                current.append(Document(doc.package, doc.path, head))
                size += len(head)
            if text or size >= opts.sample_chars:
                groups.append((name, current))
                current, size = [], 0
    if current:
        groups.append((name, current))
    return groups


def epoch_groups(docs: Sequence[Document], seed: int, epoch: int,
                 opts: DataOptions) -> list[tuple[str, list[Document]]]:
    """Every sample's package and files for one epoch, in training order."""
    rng = random.Random(f"{seed}:{epoch}")
    by_package: dict[str, list[Document]] = {}
    for doc in docs:
        by_package.setdefault(doc.package, []).append(doc)
    groups = []
    for name in sorted(by_package):
        groups += package_groups(name, by_package[name], rng, opts)
    rng.shuffle(groups)
    return groups


def to_sequences(samples: Sequence[np.ndarray], length: int, pad: int) -> np.ndarray:
    """(n, length) token rows, one per sample: cut or padded with `pad`."""
    dtype = np.uint16 if pad < 2**16 and all(s.max(initial=0) < 2**16 for s in samples) \
        else np.int32
    out = np.full((len(samples), length), pad, dtype=dtype)
    for i, sample in enumerate(samples):
        n = min(length, len(sample))
        out[i, :n] = sample[:n]
    return out


def build_epoch(docs: Sequence[Document], tokenizer: Path, seed: int, epoch: int,
                opts: DataOptions, batch: int = 512) -> np.ndarray:
    """The epoch's sequences, (n, seq_len + 1). Samples are encoded in batches, each batch by
    the tokenizer's own thread pool."""
    encoder = plain_encoder(tokenizer)
    ids = special_ids(encoder)
    rng = random.Random(f"{seed}:{epoch}:fim")
    groups = epoch_groups(docs, seed, epoch, opts)
    rows = []
    for start in range(0, len(groups), batch):
        samples = [build_sample(name, files, rng, opts.fim)
                   for name, files in groups[start : start + batch]]
        rows.append(to_sequences(encode_samples(samples, encoder, ids), opts.seq_len + 1,
                                 ids[PAD]))
    if not rows:
        raise ValueError("no documents to build an epoch from")
    return np.concatenate(rows) if len({r.dtype for r in rows}) == 1 else \
        np.concatenate([r.astype(np.int32) for r in rows])


# The next epoch starts building when this much of the current one is consumed: early enough
# to be ready on a GPU (an epoch takes under a minute there), and never on a CPU run that ends
# inside its first epoch, where building would only take cores from training.
PREFETCH_AT = 0.5


class EpochStream:
    """Batches in training order from any position, building the next epoch in a background
    thread while the current one is consumed (tokenizing releases the interpreter lock). The
    thread is a daemon: a run that ends mid-build does not wait for it."""

    def __init__(self, docs: Sequence[Document], tokenizer: Path, seed: int,
                 opts: DataOptions, batch_size: int) -> None:
        self.docs, self.tokenizer, self.seed = docs, tokenizer, seed
        self.opts, self.batch_size = opts, batch_size
        self._builds: dict[int, tuple[threading.Thread, list]] = {}

    def _start(self, epoch: int) -> None:
        if epoch in self._builds:
            return
        box: list = []

        def work() -> None:
            try:
                box.append(build_epoch(self.docs, self.tokenizer, self.seed, epoch, self.opts))
            except BaseException as err:  # handed to the consumer, raised there
                box.append(err)

        thread = threading.Thread(target=work, name=f"epoch-{epoch}", daemon=True)
        thread.start()
        self._builds[epoch] = (thread, box)

    def epoch(self, epoch: int) -> np.ndarray:
        """The epoch's sequences, built now or already by the prefetch."""
        self._start(epoch)
        for old in [e for e in self._builds if e < epoch]:
            del self._builds[old]
        thread, box = self._builds[epoch]
        thread.join()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def batches(self, start: Position) -> Iterator[tuple[Position, np.ndarray]]:
        """(position after this batch, (batch_size, seq_len + 1) tokens), forever."""
        epoch, index = start.epoch, start.batch
        while True:
            rows = self.epoch(epoch)
            n_batches = len(rows) // self.batch_size
            if n_batches == 0:
                raise ValueError(f"an epoch has {len(rows)} sequences, fewer than one batch "
                                 f"of {self.batch_size}")
            while index < n_batches:
                if index >= n_batches * PREFETCH_AT:
                    self._start(epoch + 1)
                chunk = rows[index * self.batch_size : (index + 1) * self.batch_size]
                index += 1
                yield Position(epoch, index), chunk
            epoch, index = epoch + 1, 0

    def close(self) -> None:
        """Forget queued epochs (a running build finishes on its own, unwaited)."""
        self._builds.clear()
