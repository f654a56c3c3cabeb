"""FIM transformation invariants, packing separators, and training = inference prompt layout."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from autan.model.io.fim import AUTAN, build_fim_prompt
from autan.model.io.tokenizer import Tokenizer
from autan.train.bpe import plain_encoder
from autan.train.corpus import Document
from autan.train.fim_examples import (
    EOT,
    FILE_SEP,
    MIDDLE,
    PREFIX,
    REPO_NAME,
    SUFFIX,
    FimOptions,
    Special,
    encode_samples,
    fim_document,
    pack_plain,
    pack_repository,
    special_ids,
    split_points,
    with_newline,
)
from tests.train.fixtures import make_docs, make_tokenizer


def reassemble(pieces: list) -> str:
    """The document back from one FIM-transformed document's pieces (PSM or SPM)."""
    if not isinstance(pieces[0], Special):
        return pieces[0]
    if pieces[1] == SUFFIX:  # SPM: <pre> <suf> suffix <mid> prefix+middle
        return pieces[4] + pieces[2]
    return pieces[1] + pieces[5] + pieces[3]  # PSM: <pre> prefix <suf> suffix <mid> middle


def test_split_points_reconstruct_and_cover_the_text() -> None:
    rng = random.Random(0)
    text = "def f(x):\n    return x + 1\n"
    seen_empty_middle = False
    for _ in range(500):
        prefix, middle, suffix = split_points(text, rng)
        assert prefix + middle + suffix == text
        seen_empty_middle |= middle == ""
    assert seen_empty_middle  # both cuts may fall at the same place, as Bavarian et al. allow


@pytest.mark.parametrize("rate", [0.5, 0.9])
def test_fim_document_rates_and_reconstruction(rate: float) -> None:
    rng = random.Random(1)
    opts = FimOptions(rate=rate, spm_rate=0.5)
    n, transformed, spm = 4000, 0, 0
    for i in range(n):
        text = f"line {i}\n" * (1 + i % 5)
        pieces = fim_document(text, rng, opts, head="a/b.py\n")
        assert reassemble(pieces) == "a/b.py\n" + text
        if isinstance(pieces[0], Special):
            transformed += 1
            spm += pieces[1] == SUFFIX
            assert pieces.count(MIDDLE) == 1 and pieces.count(PREFIX) == 1
    assert abs(transformed / n - rate) < 0.03
    assert abs(spm / transformed - 0.5) < 0.04


def test_repository_packing_separators() -> None:
    docs = make_docs(packages=1, files=3)
    pieces = pack_repository("pkg0", docs, random.Random(0), FimOptions(rate=0.0))
    assert pieces[:2] == [REPO_NAME, "pkg0"] and pieces[-1] == EOT
    assert pieces.count(FILE_SEP) == 3 and pieces.count(EOT) == 1
    files = [p for p in pieces[2:-1] if p != FILE_SEP]
    for doc, text in zip(docs, files, strict=True):
        assert text == f"{doc.path}\n{with_newline(doc.text)}"  # path line, then the code


def test_plain_packing_has_no_names() -> None:
    docs = make_docs(packages=1, files=3)
    pieces = pack_plain(docs, random.Random(0), FimOptions(rate=0.0))
    assert pieces == [docs[0].text, EOT, docs[1].text, EOT, docs[2].text, EOT]


def test_training_sample_is_the_inference_prompt(tmp_path: Path) -> None:
    """A repository sample whose last file is FIM'd (PSM) tokenizes, up to <fim_middle>, to
    exactly the ids build_fim_prompt gives for that repository context and cursor."""
    docs = make_docs(packages=1, files=3)
    tok_path = make_tokenizer(tmp_path, docs)
    *context, last = docs
    fim = fim_document(with_newline(last.text), random.Random(3),
                       FimOptions(rate=1.0, spm_rate=0.0), head=f"{last.path}\n")
    plain_context = pack_repository("pkg0", context, random.Random(0), FimOptions(rate=0.0))
    sample = [*plain_context[:-1], FILE_SEP, *fim]
    encoder = plain_encoder(tok_path)
    ids = special_ids(encoder)
    (tokens,) = encode_samples([sample], encoder, ids)
    prefix, suffix = fim[1].removeprefix(f"{last.path}\n"), fim[3]
    prompt = build_fim_prompt(AUTAN, Tokenizer.from_file(tok_path), prefix, suffix,
                              context_files=[(d.path, d.text) for d in context],
                              repo_name="pkg0", file_path=last.path)
    assert tokens[: len(prompt.ids)].tolist() == prompt.ids
    assert tokens[len(prompt.ids) - 1] == ids[MIDDLE]


def test_control_token_spellings_in_code_stay_text(tmp_path: Path) -> None:
    docs = make_docs(packages=1, files=2)
    tok_path = make_tokenizer(tmp_path, docs)
    encoder = plain_encoder(tok_path)
    ids = special_ids(encoder)
    code = 'MARK = "<fim_prefix><|endoftext|>"\n'
    (tokens,) = encode_samples([[code, EOT]], encoder, ids)
    assert tokens.tolist()[:-1] == Tokenizer.from_file(tok_path).encode(code)
    assert ids[PREFIX] not in tokens.tolist() and tokens.tolist().count(ids[EOT]) == 1


def test_documents_are_not_changed_by_packing() -> None:
    doc = Document("p", "p/x.py", "x = 1")
    pieces = pack_repository("p", [doc], random.Random(0), FimOptions(rate=0.0))
    assert pieces[3] == "p/x.py\nx = 1\n"  # a newline ends the file, as in the prompt
