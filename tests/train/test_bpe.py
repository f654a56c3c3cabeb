"""The tokenizer: special tokens for FIM by StarCoder name, found by the engine's detection."""

from __future__ import annotations

from pathlib import Path

from autan.model.io.fim import AUTAN, STARCODER, detect_family
from autan.model.io.tokenizer import Tokenizer
from autan.train.bpe import SPECIAL_TOKENS, plain_encoder, sample_texts
from autan.train.corpus import Document
from tests.train.fixtures import make_docs, make_tokenizer


def test_special_tokens_and_family(tmp_path: Path) -> None:
    docs = make_docs()
    path = make_tokenizer(tmp_path, docs, vocab=320)
    tok = Tokenizer.from_file(path)
    assert [tok.token_id(name) for name in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    assert all(tok.is_special(i) for i in range(len(SPECIAL_TOKENS)))
    assert tok.vocab_size == 320
    assert tok.eos_id == tok.token_id("<|endoftext|>") and tok.bos_id is None
    assert detect_family(tok) is STARCODER
    assert detect_family(tok, {"fim_family": "autan"}) is AUTAN
    text = docs[0].text + "ünïcödé ✓\n"
    assert tok.decode(tok.encode(text)) == text  # byte-level: any text round-trips


def test_plain_encoder_matches_the_engine_tokenizer(tmp_path: Path) -> None:
    path = make_tokenizer(tmp_path, make_docs())
    text = "x = '<fim_middle>'  # <file_sep>\n"
    ids = plain_encoder(path).encode(text, add_special_tokens=False).ids
    assert ids == Tokenizer.from_file(path).encode(text)
    assert not set(ids) & set(range(len(SPECIAL_TOKENS)))


def test_sample_texts_caps_each_package() -> None:
    docs = [Document("big", f"b{i}.py", "x" * 100) for i in range(50)]
    docs += [Document("small", f"s{i}.py", "y" * 100) for i in range(5)]
    texts = sample_texts(docs, total=10_000, per_package=1000)
    assert sum(t.startswith("x") for t in texts) == 10
    assert sum(t.startswith("y") for t in texts) == 5
