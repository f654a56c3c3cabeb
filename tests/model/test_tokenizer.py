"""Tokenizer wrapper: plain-text encoding, special tokens by name, streaming decode, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tokenizers

from autan.model.errors import ModelFileError
from autan.model.io.tokenizer import StreamDecoder, Tokenizer
from tests.model.tokenizer_fixtures import (
    FAMILY_TOKENS,
    write_family_tokenizer,
    write_tokenizer,
)

STYLE_FAMILY = {"bytelevel": "starcoder", "metaspace": "codestral", "llama": "codellama"}

CODE = "def add(a, b):\n    return a + b  # sum\n\n\tclass X: pass\n"
UNICODE_TEXTS = (
    "emoji 😀🚀 in a string",
    "中文注释：世界你好",
    "naïve café — “quotes” ±½",
    "mixed 😀世界\nprint('ok') 🎉",
)


def load(tmp_path: Path, family: str) -> Tokenizer:
    return Tokenizer.from_dir(write_family_tokenizer(tmp_path / family, family))


def backend(tmp_path: Path, family: str) -> tokenizers.Tokenizer:
    return tokenizers.Tokenizer.from_file(str(tmp_path / family / "tokenizer.json"))


@pytest.mark.parametrize("family", sorted(FAMILY_TOKENS))
@pytest.mark.parametrize("text", [CODE, *UNICODE_TEXTS, "", " leading space", "x"])
def test_round_trip(tmp_path: Path, family: str, text: str) -> None:
    tok = load(tmp_path, family)
    expected = text
    if family == "codestral":  # Metaspace prepend_scheme=first folds a leading space into
        expected = text.removeprefix(" ")  # the dummy one, as the library itself does
    assert tok.decode(tok.encode(text)) == expected


@pytest.mark.parametrize("family", sorted(FAMILY_TOKENS))
def test_plain_encode_matches_library_on_ordinary_text(tmp_path: Path, family: str) -> None:
    """Without control-token spellings in the text, dropping the added tokens changes nothing."""
    tok = load(tmp_path, family)
    lib = backend(tmp_path, family)
    for text in (CODE, *UNICODE_TEXTS):
        assert tok.encode(text) == lib.encode(text, add_special_tokens=False).ids
        assert tok.encode(text, add_special=True) == lib.encode(text).ids


def test_from_file_from_dir_from_backend_agree(tmp_path: Path) -> None:
    folder = write_family_tokenizer(tmp_path / "m", "qwen")
    a = Tokenizer.from_dir(folder)
    b = Tokenizer.from_file(folder / "tokenizer.json")
    c = Tokenizer.from_backend(tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json")))
    assert a.encode(CODE) == b.encode(CODE) == c.encode(CODE)
    assert c.path == "<memory>"
    assert b.path == str(folder / "tokenizer.json")


@pytest.mark.parametrize(("family", "names"), [(f, t[1] + t[2]) for f, t in FAMILY_TOKENS.items()])
def test_special_tokens_by_name(tmp_path: Path, family: str, names: tuple[str, ...]) -> None:
    tok = load(tmp_path, family)
    lib = backend(tmp_path, family)
    for name in names:
        assert tok.token_id(name) == lib.token_to_id(name) is not None
        assert tok.id_to_token(tok.token_id(name)) == name
    assert tok.token_id("<no_such_token>") is None


def test_special_flag_follows_tokenizer_json(tmp_path: Path) -> None:
    tok = load(tmp_path, "qwen")
    assert tok.is_special(tok.token_id("<|endoftext|>"))
    assert not tok.is_special(tok.token_id("<|fim_prefix|>"))  # Qwen: added, not special
    assert not tok.is_special(tok.encode("def")[0])


@pytest.mark.parametrize(
    ("family", "bos", "eos"),
    [
        ("starcoder", None, "<|endoftext|>"),
        ("qwen", None, "<|endoftext|>"),
        ("deepseek", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
        ("codestral", "<s>", "</s>"),
        ("codellama", "<s>", "</s>"),
    ],
)
def test_bos_eos_from_common_names(tmp_path: Path, family: str, bos: str | None, eos: str) -> None:
    tok = load(tmp_path, family)
    assert tok.bos_id == (None if bos is None else tok.token_id(bos))
    assert tok.eos_id == tok.token_id(eos)
    assert tok.eos_ids == (tok.eos_id,)


def test_bos_eos_from_config_ids(tmp_path: Path) -> None:
    probe = load(tmp_path / "probe", "qwen")
    im_start, im_end = probe.token_id("<|im_start|>"), probe.token_id("<|im_end|>")
    eot = probe.token_id("<|endoftext|>")
    config = {"bos_token_id": im_start, "eos_token_id": [im_end, eot, im_end]}
    folder = write_family_tokenizer(tmp_path / "m", "qwen", config=config)
    tok = Tokenizer.from_dir(folder)
    assert tok.bos_id == im_start
    assert tok.eos_id == im_end
    assert tok.eos_ids == (im_end, eot)


def test_config_ids_outside_vocab_fall_back_to_names(tmp_path: Path) -> None:
    config = {"bos_token_id": 10**6, "eos_token_id": -1}
    folder = write_family_tokenizer(tmp_path / "m", "codestral", config=config)
    tok = Tokenizer.from_dir(folder)
    assert (tok.bos_id, tok.eos_id) == (tok.token_id("<s>"), tok.token_id("</s>"))


def test_bos_eos_from_tokenizer_config_names(tmp_path: Path) -> None:
    folder = write_family_tokenizer(tmp_path / "m", "qwen")
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": {"content": "<|im_start|>"}, "eos_token": "<|im_end|>"})
    )
    tok = Tokenizer.from_dir(folder)
    assert tok.bos_id == tok.token_id("<|im_start|>")
    assert tok.eos_id == tok.token_id("<|im_end|>")


def test_explicit_config_wins_over_folder(tmp_path: Path) -> None:
    folder = write_family_tokenizer(tmp_path / "m", "qwen", config={"eos_token_id": 2})
    tok = Tokenizer.from_dir(folder, config={"eos_token": "<|im_start|>"})
    assert tok.eos_id == tok.token_id("<|im_start|>")


def test_vocab_size_counts_added_tokens(tmp_path: Path) -> None:
    for family in FAMILY_TOKENS:
        tok = load(tmp_path, family)
        lib = backend(tmp_path, family)
        assert tok.vocab_size == lib.get_vocab_size(with_added_tokens=True)
        assert tok.vocab_size == max(lib.get_vocab(with_added_tokens=True).values()) + 1


@pytest.mark.parametrize("family", ["starcoder", "qwen", "deepseek", "codestral"])
def test_text_spelling_a_control_token_stays_text(tmp_path: Path, family: str) -> None:
    """User code may contain `<fim_prefix>` etc.; it must never become the control token."""
    tok = load(tmp_path, family)
    _, specials, non_special = FAMILY_TOKENS[family]
    names = [n for n in specials + non_special if "▁" not in n and n != "<unk>"]
    text = "x = '" + "' + '".join(names) + "'\n"
    control = {tok.token_id(n) for n in names}
    ids = tok.encode(text)
    assert control.isdisjoint(ids)
    assert control.isdisjoint(tok.encode(text, continuation=True))
    assert tok.decode(ids) == text
    assert control <= set(tok.encode(text, parse_special=True))


def test_add_special_applies_template(tmp_path: Path) -> None:
    tok = load(tmp_path, "codestral")
    assert tok.encode("def", add_special=True) == [tok.bos_id, *tok.encode("def")]


@pytest.mark.parametrize("style", ["metaspace", "llama"])
def test_continuation_has_no_dummy_space(tmp_path: Path, style: str) -> None:
    tok = load(tmp_path, STYLE_FAMILY[style])
    plain, cont = tok.encode("return x"), tok.encode("return x", continuation=True)
    assert tok.id_to_token(plain[0]).startswith("▁")
    assert not tok.id_to_token(cont[0]).startswith("▁")
    # Decoded after a token, the continuation adds exactly its own text.
    anchor = tok.encode("def")
    assert tok.decode(anchor + cont) == "defreturn x"
    assert tok.decode(anchor + plain) == "def return x"
    assert tok.encode(" x", continuation=True) != tok.encode("x", continuation=True)


def test_continuation_is_plain_for_byte_level(tmp_path: Path) -> None:
    tok = load(tmp_path, "starcoder")
    assert tok.encode(CODE, continuation=True) == tok.encode(CODE)


@pytest.mark.parametrize("style", sorted(STYLE_FAMILY))
def test_token_text_concatenates_to_decode(tmp_path: Path, style: str) -> None:
    tok = load(tmp_path, STYLE_FAMILY[style])
    ids = tok.encode(CODE, continuation=True)
    assert "".join(tok.token_text(i) for i in ids) == CODE


def test_token_text_keeps_sentencepiece_space(tmp_path: Path) -> None:
    tok = load(tmp_path, "codestral")
    (first,) = tok.encode("def")
    assert tok.id_to_token(first) == "▁def"
    assert tok.token_text(first) == " def"
    assert tok.token_text(tok.token_id("[PREFIX]")) == "[PREFIX]"


def stream(
    tok: Tokenizer, ids: list[int], skip_special: bool = False, continuation: bool = True
) -> list[str]:
    decoder = StreamDecoder(tok, skip_special=skip_special, continuation=continuation)
    return [decoder.feed(i) for i in ids] + [decoder.flush()]


@pytest.mark.parametrize("style", sorted(STYLE_FAMILY))
@pytest.mark.parametrize("text", (*UNICODE_TEXTS, CODE))
def test_stream_decoder_matches_decode(tmp_path: Path, style: str, text: str) -> None:
    tok = load(tmp_path, STYLE_FAMILY[style])
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    for continuation in (False, True):
        pieces = stream(tok, ids, continuation=continuation)
        assert "".join(pieces) == tok.decode(ids, continuation=continuation)
        assert not any("\ufffd" in p for p in pieces)
    if style == "bytelevel":
        assert tok.decode(ids, continuation=True) == text


@pytest.mark.parametrize("style", ["metaspace", "llama"])
def test_stream_decoder_keeps_first_space_of_a_continuation(tmp_path: Path, style: str) -> None:
    """Generated '▁x' after a prompt ending in 'return' must show as ' x', as the model meant."""
    tok = load(tmp_path, STYLE_FAMILY[style])
    ids = tok.encode(" x = 1", continuation=True)
    assert tok.id_to_token(ids[0]).startswith("▁")
    assert "".join(stream(tok, ids)) == " x = 1" == tok.decode(ids, continuation=True)
    assert "".join(stream(tok, ids, continuation=False)) == "x = 1" == tok.decode(ids)


@pytest.mark.parametrize("style", sorted(STYLE_FAMILY))
def test_stream_decoder_holds_split_characters(tmp_path: Path, style: str) -> None:
    """The fixtures never saw 🦀, so it is split into byte tokens: nothing shows until complete."""
    tok = load(tmp_path, STYLE_FAMILY[style])
    ids = tok.encode("a🦀", continuation=True)
    crab = ids[-4:]
    assert all(tok.token_text(i) == "\ufffd" for i in crab)  # four single-byte tokens
    decoder = StreamDecoder(tok)
    assert decoder.feed_many(ids[:-4]) == "a"
    assert [decoder.feed(i) for i in crab] == ["", "", "", "🦀"]
    assert decoder.flush() == ""


def test_stream_decoder_flush_returns_incomplete_tail(tmp_path: Path) -> None:
    tok = load(tmp_path, "starcoder")
    ids = tok.encode("ok🦀")
    decoder = StreamDecoder(tok)
    assert decoder.feed_many(ids[:-2]) == "ok"
    assert decoder.flush() == "\ufffd"
    decoder.reset()
    assert decoder.feed_many(ids) == "ok🦀"


def test_stream_decoder_specials(tmp_path: Path) -> None:
    tok = load(tmp_path, "starcoder")
    eot = tok.token_id("<|endoftext|>")
    ids = [*tok.encode("x = 1"), eot, *tok.encode("\ny")]
    assert "".join(stream(tok, ids)) == "x = 1<|endoftext|>\ny"
    assert "".join(stream(tok, ids, skip_special=True)) == "x = 1\ny"


def test_missing_tokenizer_json(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError) as err:
        Tokenizer.from_dir(tmp_path)
    assert err.value.path == str(tmp_path / "tokenizer.json")
    assert "tokenizer.json" in str(err.value)
    assert err.value.problem == "file not found"


@pytest.mark.parametrize(
    "content",
    ['{"model": {', "[1, 2]", '{"model": {"type": "BPE", "vocab": 7}}', "\udcff"],
    ids=["truncated", "not-object", "bad-model", "not-utf8"],
)
def test_corrupt_tokenizer_json(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(ModelFileError) as err:
        Tokenizer.from_file(path)
    assert err.value.path == str(path)
    assert str(path) in str(err.value)
    assert "\n" not in err.value.problem


def test_corrupt_config_json_is_named(tmp_path: Path) -> None:
    folder = write_tokenizer(tmp_path / "m")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError) as err:
        Tokenizer.from_dir(folder)
    assert err.value.path == str(folder / "config.json")


def test_does_not_import_transformers() -> None:
    code = (
        "import sys, autan.model.io.tokenizer, autan.model.io.fim\n"
        "assert 'transformers' not in sys.modules, 'transformers imported'\n"
    )
    subprocess.run([sys.executable, "-P", "-c", code], check=True)
